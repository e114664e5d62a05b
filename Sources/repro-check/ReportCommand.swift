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
        // A snapshot: the file, its -wal and -shm stay byte-identical, even for an old schema.
        let results: ResultsDatabase
        do {
            results = try ResultsDatabase.snapshot(path: database)
        } catch let error as ResultsDatabaseError {
            switch error {
            case .missing, .empty:
                throw UsageError("\(error) Run `repro-check check --db \(database)` first.")
            default:
                throw error
            }
        }
        try ReportWriter.write(database: results, outDirectory: out)
        try StandardOutput.print("\(out)/\(ReportWriter.htmlFileName)")
        try StandardOutput.print("\(out)/\(ReportWriter.markdownFileName)")
    }
}
