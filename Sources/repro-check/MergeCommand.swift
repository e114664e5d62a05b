import ArgumentParser
import Harness

struct MergeCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "merge",
        abstract: "Combine results databases from several machines (a CI matrix of shards) into one."
    )

    @Argument(help: "The databases to merge.")
    var sources: [String]

    @Option(name: [.short, .customLong("output")], help: "The merged database (an existing one is kept as an input).")
    var output: String

    func validate() throws {
        if sources.isEmpty { throw ValidationError("give at least one database to merge") }
    }

    func run() throws {
        let summary = try ResultsDatabase.merge(sources, into: output)
        try StandardOutput.print("\(output): \(summary.runsCopied) runs merged, \(summary.duplicateRunsSkipped) duplicates skipped")
    }
}
