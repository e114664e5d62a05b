import ArgumentParser
import Harness

struct ReportCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "report",
        abstract: "Write index.html and summary.md from the results database (which it only reads)."
    )

    @Option(name: .customLong("db"), help: "The results database.")
    var database = "reports/repro.sqlite"

    @Option(name: .customLong("out"), help: "The folder for index.html and summary.md.")
    var out = "reports"

    func run() throws {
        let results = try ResultsFile.read(database)
        try ReportWriter.write(database: results, outDirectory: out)
        try StandardOutput.print("\(out)/\(ReportWriter.htmlFileName)")
        try StandardOutput.print("\(out)/\(ReportWriter.markdownFileName)")
    }
}

/// How commands that only read open the results database.
enum ResultsFile {
    /// A snapshot: the file, its -wal and -shm stay byte-identical, even for an old schema. A
    /// missing or empty file is a usage error (exit 2) that says how to make one.
    static func read(_ path: String) throws -> ResultsDatabase {
        do {
            return try ResultsDatabase.snapshot(path: path)
        } catch let error as ResultsDatabaseError {
            switch error {
            case .missing, .empty:
                throw UsageError("\(error) Run `repro-check check --db \(path)` first.")
            default:
                throw error
            }
        }
    }
}
