import Foundation

/// Validates JSON text with `Scripts/validate-summary` (python3's `jsonschema` against
/// `schemas/summary-v1.schema.json`), an implementation independent of ours.
enum SchemaValidator {
    static let repositoryRoot: String = URL(fileURLWithPath: #filePath)
        .deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
        .deletingLastPathComponent().path

    /// The schema violations, one line each; empty when the document is valid.
    static func violations(of json: String) throws -> [String] {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        process.arguments = ["python3", repositoryRoot + "/Scripts/validate-summary", "-"]
        let input = Pipe(), output = Pipe(), errors = Pipe()
        process.standardInput = input
        process.standardOutput = output
        process.standardError = errors
        try process.run()
        input.fileHandleForWriting.write(Data(json.utf8))
        try input.fileHandleForWriting.close()
        let text = String(decoding: output.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        let problems = String(decoding: errors.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        process.waitUntilExit()
        if process.terminationStatus != 0 && text.isEmpty {
            return ["validate-summary failed (status \(process.terminationStatus)): \(problems)"]
        }
        return text.split(separator: "\n").map(String.init)
    }
}
