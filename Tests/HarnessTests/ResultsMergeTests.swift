import Builder
import Foundation
import Testing

@testable import Harness

@Suite("Merging results databases")
struct ResultsMergeTests {
    @Test("merges two machines' files, renumbering ids by start time and skipping duplicate runs")
    func mergeTwoFiles() throws {
        let directory = try ResultFixtures.temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: directory) }
        let alphaPath = directory.appendingPathComponent("alpha.sqlite").path
        let betaPath = directory.appendingPathComponent("beta.sqlite").path
        let mergedPath = directory.appendingPathComponent("out/merged.sqlite").path

        let alpha = try ResultsDatabase(path: alphaPath)
        let a1 = try alpha.beginRun(ResultFixtures.run(host: "alpha", startedAt: 1000))
        try alpha.record(ResultFixtures.unreproducible("date"), runID: a1)
        try alpha.finishRun(id: a1, outcome: "failed", endedAt: 1100)
        let a2 = try alpha.beginRun(ResultFixtures.run(host: "alpha", startedAt: 3000))
        try alpha.record(ResultFixtures.reproducible("hello"), runID: a2)
        try alpha.close()

        let beta = try ResultsDatabase(path: betaPath)
        let b1 = try beta.beginRun(ResultFixtures.run(host: "beta", startedAt: 2000))
        try beta.record(ResultFixtures.reproducible("hello", image: "b"), runID: b1)
        // A copy of alpha's first run, as if the file had been merged on beta before.
        let copy = try beta.beginRun(ResultFixtures.run(host: "alpha", startedAt: 1000))
        try beta.record(ResultFixtures.unreproducible("date"), runID: copy)
        try beta.close()

        let summary = try ResultsDatabase.merge([alphaPath, betaPath], into: mergedPath)
        #expect(summary == MergeSummary(runsCopied: 3, duplicateRunsSkipped: 1))

        let merged = try ResultsDatabase(path: mergedPath)
        let runs = try merged.runs()
        #expect(runs.map(\.id) == [1, 2, 3])
        #expect(runs.map(\.info.host) == ["alpha", "beta", "alpha"])
        #expect(runs.map(\.status) == [.finished, .incomplete, .incomplete])
        #expect(try merged.specResults(runID: 1) == [ResultFixtures.unreproducible("date")])
        #expect(try merged.specResults(runID: 2) == [ResultFixtures.reproducible("hello", image: "b")])
        #expect(try merged.specResults(runID: 3) == [ResultFixtures.reproducible("hello")])
        #expect(try merged.crossHostDisagreements().map(\.specNames) == [["hello"]])
        try merged.close()

        // Merging again into the existing destination changes nothing: all four source runs are duplicates.
        let again = try ResultsDatabase.merge([alphaPath, betaPath], into: mergedPath)
        #expect(again == MergeSummary(runsCopied: 0, duplicateRunsSkipped: 4))
        let reopened = try ResultsDatabase(path: mergedPath)
        #expect(try reopened.runs().count == 3)
        try reopened.close()

        let leftovers = try FileManager.default.contentsOfDirectory(atPath: directory.appendingPathComponent("out").path)
        #expect(leftovers.filter { $0.contains("tmp") }.isEmpty)
    }

    @Test("a missing source fails before the destination is touched")
    func missingSource() throws {
        let directory = try ResultFixtures.temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: directory) }
        let missing = directory.appendingPathComponent("nope.sqlite").path
        let destination = directory.appendingPathComponent("merged.sqlite").path
        #expect(throws: ResultsDatabaseError.missingSource(path: missing)) {
            try ResultsDatabase.merge([missing], into: destination)
        }
        #expect(!FileManager.default.fileExists(atPath: destination))
    }

    @Test("a source that is not a database leaves an existing destination unchanged")
    func badSource() throws {
        let directory = try ResultFixtures.temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: directory) }
        let destination = directory.appendingPathComponent("merged.sqlite").path
        let existing = try ResultsDatabase(path: destination)
        _ = try existing.beginRun(ResultFixtures.run(startedAt: 1000))
        try existing.close()
        let junk = directory.appendingPathComponent("junk.sqlite").path
        try Data(String(repeating: "junk", count: 1000).utf8).write(to: URL(fileURLWithPath: junk))

        #expect(throws: ResultsDatabaseError.notADatabase(path: junk)) {
            try ResultsDatabase.merge([junk], into: destination)
        }
        let reopened = try ResultsDatabase(path: destination)
        #expect(try reopened.runs().count == 1)
        try reopened.close()
    }
}
