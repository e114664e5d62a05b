import Foundation

/// Processes the tests start and leave running while they act on them (signals, races).
enum Background {
    /// Starts the built `repro-check` (or `executable`, given `arguments` with its own name
    /// first), with no stdin and its output discarded.
    static func start(_ arguments: [String], executable: String = CLI.binary, environment: [String: String]? = nil) throws -> Process {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: executable)
        process.arguments = executable == CLI.binary ? arguments : Array(arguments.dropFirst())
        if let environment { process.environment = environment }
        process.standardInput = FileHandle.nullDevice
        process.standardOutput = FileHandle.nullDevice
        process.standardError = FileHandle.nullDevice
        try process.run()
        return process
    }

    /// Polls `condition` until it holds or `seconds` pass; whether it held.
    static func waitUntil(seconds: Double = 30, _ condition: () -> Bool) -> Bool {
        let deadline = Date().addingTimeInterval(seconds)
        while Date() < deadline {
            if condition() { return true }
            usleep(100_000)
        }
        return condition()
    }
}
