import Foundation

/// Validates JSON text against `schemas/summary-v1.schema.json` with python3's `jsonschema`
/// (installed by `Scripts/setup` and `.ci/run`), an implementation independent of ours.
enum SchemaValidator {
    static let repositoryRoot: String = URL(fileURLWithPath: #filePath)
        .deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
        .deletingLastPathComponent().path

    static var summarySchema: String { repositoryRoot + "/schemas/summary-v1.schema.json" }

    static let script = """
        import json, sys, jsonschema
        schema = json.load(open(sys.argv[1]))
        document = json.load(sys.stdin)
        validator = jsonschema.Draft202012Validator(schema)
        errors = sorted(validator.iter_errors(document), key=lambda e: list(e.path))
        for error in errors:
            print("/".join(str(p) for p in error.path) + ": " + error.message)
        sys.exit(1 if errors else 0)
        """

    /// The schema violations, one line each; empty when the document is valid.
    static func violations(of json: String, schema: String = summarySchema) throws -> [String] {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        process.arguments = ["python3", "-c", script, schema]
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
            return ["python3 failed (status \(process.terminationStatus)): \(problems)"]
        }
        return text.split(separator: "\n").map(String.init)
    }
}
