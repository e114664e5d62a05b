import Builder
import Foundation

/// Materialises a store described in a fixture's JSON (`store` entries) under a temporary
/// directory, with explicit modes, so that the bytes do not depend on git's checkout or umask.
enum FixtureStore {
    struct Failure: Error, CustomStringConvertible { var description: String }

    static func materialise(_ entries: [JSONValue], under root: String) throws {
        let fm = FileManager.default
        var files: [(String, Int)] = []
        var directories: [([UInt8], Int)] = []
        for entry in entries {
            guard let object = entry.objectValue, let type = object["type"]?.stringValue else {
                throw Failure(description: "malformed store entry \(entry)")
            }
            if let escaped = object["path_escaped"]?.stringValue {
                let path = Array(root.utf8) + [0x2F] + unescape(escaped)
                try materialiseBytes(path, type: type, object: object)
                if type == "dir" { directories.append((path, object["mode"]?.stringValue.flatMap { Int($0, radix: 8) } ?? 0o755)) }
                continue
            }
            guard let path = object["path"]?.stringValue else { throw Failure(description: "store entry without a path: \(entry)") }
            let full = root + "/" + path
            let mode = object["mode"]?.stringValue.flatMap { Int($0, radix: 8) }
            switch type {
            case "dir":
                try fm.createDirectory(atPath: full, withIntermediateDirectories: true)
                directories.append((Array(full.utf8), mode ?? 0o755))
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
        for (path, mode) in directories.reversed() { chmod(path.map { CChar(bitPattern: $0) } + [0], mode_t(mode)) }
    }

    /// `path_escaped` names a path that is not valid UTF-8: `\\xHH` is one raw byte.
    static func unescape(_ text: String) -> [UInt8] {
        let bytes = Array(text.utf8)
        var out: [UInt8] = []
        var index = 0
        while index < bytes.count {
            if bytes[index] == UInt8(ascii: "\\"), index + 3 < bytes.count, bytes[index + 1] == UInt8(ascii: "x"),
               let value = UInt8(String(decoding: bytes[(index + 2)...(index + 3)], as: UTF8.self), radix: 16) {
                out.append(value)
                index += 4
            } else {
                out.append(bytes[index])
                index += 1
            }
        }
        return out
    }

    /// Foundation takes paths as `String`; a name that is not UTF-8 needs the system calls.
    private static func materialiseBytes(_ path: [UInt8], type: String, object: JSONObject) throws {
        let cPath = path.map { CChar(bitPattern: $0) } + [0]
        let mode = object["mode"]?.stringValue.flatMap { mode_t($0, radix: 8) }
        switch type {
        case "dir":
            // Its own mode is set by the caller once everything inside exists.
            guard mkdir(cPath, 0o755) == 0 else { throw Failure(description: "cannot create directory \(path)") }
        case "file":
            let content = Array((object["content"]?.stringValue ?? "").utf8)
            let fd = open(cPath, O_WRONLY | O_CREAT | O_EXCL, mode ?? 0o644)
            guard fd >= 0 else { throw Failure(description: "cannot create file \(path)") }
            defer { close(fd) }
            guard write(fd, content, content.count) == content.count else { throw Failure(description: "cannot write \(path)") }
            fchmod(fd, mode ?? 0o644)
        case "symlink":
            guard symlink(object["target"]?.stringValue ?? "", cPath) == 0 else { throw Failure(description: "cannot create symlink \(path)") }
        default:
            throw Failure(description: "unsupported escaped store entry type \(type)")
        }
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
