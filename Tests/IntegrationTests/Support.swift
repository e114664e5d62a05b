import Foundation

/// Runs the built `repro-check` binary, the way users and CI do.
enum CLI {
    struct Output {
        var status: Int32
        var stdout: Data
        var stderr: String
    }

    struct Failure: Error, CustomStringConvertible { var description: String }

    /// The executable sits beside the test bundle in SwiftPM's build folder.
    static var binary: String {
        let exe = (try? FileManager.default.destinationOfSymbolicLink(atPath: "/proc/self/exe")) ?? CommandLine.arguments[0]
        var directory = URL(fileURLWithPath: exe).deletingLastPathComponent()
        while directory.path != "/" {
            let candidate = directory.appendingPathComponent("repro-check").path
            if FileManager.default.isExecutableFile(atPath: candidate) { return candidate }
            directory = directory.deletingLastPathComponent()
        }
        return "repro-check"
    }

    /// `executable` replaces the binary, for a shell that runs it (`$RC` in `environment`).
    static func run(_ arguments: [String], executable: String? = nil, stdout: FileHandle? = nil, environment: [String: String]? = nil) throws -> Output {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: executable ?? binary)
        process.arguments = arguments
        if let environment { process.environment = environment }
        let out = Pipe(), err = Pipe()
        process.standardOutput = stdout ?? out
        process.standardError = err
        process.standardInput = FileHandle.nullDevice
        try process.run()
        let data = stdout == nil ? out.fileHandleForReading.readDataToEndOfFile() : Data()
        let errors = err.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        return Output(status: process.terminationStatus, stdout: data, stderr: String(decoding: errors, as: UTF8.self))
    }

    static func temporaryDirectory(_ label: String) throws -> String {
        let path = NSTemporaryDirectory() + "repro-check-it-\(label)-\(UUID().uuidString)"
        try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
        return path
    }

    static let repositoryRoot: String = URL(fileURLWithPath: #filePath)
        .deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent().path
}

/// A small store and conf in a temporary folder, for CLI tests that break one thing at a time.
struct ConfFixture {
    let root: String
    var conf: [String: Any]

    static let hello = "x7dndnjjp9rwx39kawqn76z8ig820dmy-hello-2.12"

    init(label: String) throws {
        root = try CLI.temporaryDirectory(label)
        let fm = FileManager.default
        let store = root + "/store"
        try fm.createDirectory(atPath: store + "/" + Self.hello + "/bin", withIntermediateDirectories: true)
        fm.createFile(atPath: store + "/" + Self.hello + "/bin/hello", contents: Data("#!/bin/sh\necho hello\n".utf8))
        chmod(store + "/" + Self.hello + "/bin/hello", 0o555)
        try fm.copyItem(
            atPath: CLI.repositoryRoot + "/Tests/BuilderTests/Fixtures/writer/basic/customisation",
            toPath: root + "/customisation"
        )
        conf = [
            "architecture": "amd64", "config": ["Cmd": ["/bin/hello"]], "created": "1970-01-01T00:00:01Z",
            "mtime": "1970-01-01T00:00:01Z", "uid": 0, "gid": 0, "uname": "root", "gname": "root",
            "store_dir": store, "from_image": NSNull(), "store_layers": [[store + "/" + Self.hello]],
            "customisation_layer": root + "/customisation", "repo_tag": "hello:latest", "os": "linux",
        ]
    }

    var store: String { root + "/store" }

    func write() throws -> String {
        let path = root + "/conf.json"
        try JSONSerialization.data(withJSONObject: conf, options: [.sortedKeys]).write(to: URL(fileURLWithPath: path))
        return path
    }

    func remove() { try? FileManager.default.removeItem(atPath: root) }
}
