import Builder
import Foundation

/// Materialises a store described in a fixture's JSON (`store` entries) under a temporary
/// directory, with explicit modes, so that the bytes do not depend on git's checkout or umask.
enum FixtureStore {
    struct Failure: Error, CustomStringConvertible { var description: String }

    static func materialise(_ entries: [JSONValue], under root: String) throws {
        let fm = FileManager.default
        var files: [(String, Int)] = []
        var directories: [(String, Int)] = []
        for entry in entries {
            guard let object = entry.objectValue, let path = object["path"]?.stringValue, let type = object["type"]?.stringValue else {
                throw Failure(description: "malformed store entry \(entry)")
            }
            let full = root + "/" + path
            let mode = object["mode"]?.stringValue.flatMap { Int($0, radix: 8) }
            switch type {
            case "dir":
                try fm.createDirectory(atPath: full, withIntermediateDirectories: true)
                directories.append((full, mode ?? 0o755))
            case "file":
                var content = Array((object["content"]?.stringValue ?? "").utf8)
                if case let .integer(digits)? = object["repeat"], let count = Int(digits) {
                    content = Array([[UInt8]](repeating: content, count: count).joined())
                }
                guard fm.createFile(atPath: full, contents: Data(content)) else { throw Failure(description: "cannot create \(full)") }
                files.append((full, mode ?? 0o644))
            case "symlink":
                try fm.createSymbolicLink(atPath: full, withDestinationPath: object["target"]?.stringValue ?? "")
            case "hardlink":
                try fm.linkItem(atPath: root + "/" + (object["target"]?.stringValue ?? ""), toPath: full)
            default:
                throw Failure(description: "unknown store entry type \(type)")
            }
        }
        for (path, mode) in files { chmod(path, mode_t(mode)) }
        for (path, mode) in directories.reversed() { chmod(path, mode_t(mode)) }
    }

    static func temporaryDirectory(_ label: String) throws -> String {
        let path = NSTemporaryDirectory() + "repro-check-\(label)-\(UUID().uuidString)"
        try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
        return path
    }

    /// Removes a tree even where fixtures made directories read-only.
    static func remove(_ path: String) {
        SpecResolver.removeWorkDirectory(path)
    }
}

enum TestPaths {
    /// `Tests/BuilderTests` in the checkout.
    static let builderTests: String = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().path
    static let writerFixtures = builderTests + "/Fixtures/writer"
}
