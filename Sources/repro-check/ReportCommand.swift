import ArgumentParser
import Harness

struct ReportCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "report",
        abstract: "Write index.html and summary.md from the results database."
    )

    @Option(name: .customLong("db"), help: "The results database.")
    var database = "reports/repro.sqlite"

    @Option(name: .customLong("out"), help: "The folder for index.html and summary.md.")
    var out = "reports"

    func run() throws {
        guard FileManagerShim.exists(database) else {
            throw UsageError("\(database): no results database; run `repro-check check --db \(database)` first")
        }
        let results = try ResultsDatabase(path: database)
        try ReportWriter.write(database: results, outDirectory: out)
        try StandardOutput.print("\(out)/\(ReportWriter.htmlFileName)")
        try StandardOutput.print("\(out)/\(ReportWriter.markdownFileName)")
    }
}

import Foundation

enum FileManagerShim {
    static func exists(_ path: String) -> Bool { FileManager.default.fileExists(atPath: path) }
}
