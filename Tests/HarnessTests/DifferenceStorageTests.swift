import Builder
import Foundation
import GRDB
import Testing

@testable import Harness

/// Typed differences and the drift flag in the results database, and rows from before them.
@Suite("Difference storage")
struct DifferenceStorageTests {
    @Test("round-trips typed differences (diff lines, offset, consequences) and the drift flag")
    func typedRoundTrip() throws {
        let database = try ResultsDatabase.inMemory()
        let runID = try database.beginRun(ResultFixtures.run(startedAt: 1000))
        var result = ResultFixtures.unreproducible("date")
        result.differences = [
            Difference(
                kind: .entryContent, layer: "layer 1 (abc)", path: "etc/hosts", field: "content",
                lines: [.init(.hunk, "@@ -1 +1 @@"), .init(.removed, "host=vm"), .init(.added, "host=ci")]),
            Difference(kind: .entryContent, layer: "layer 1 (abc)", path: "bin/x", field: "content", control: "0x01", experiment: "0x02", offset: 7),
            Difference(kind: .derived, layer: nil, path: nil, field: "follows from the above", consequences: [.layerDigest, .diffIDs]),
        ]
        result.digestDrift = true
        try database.record(result, runID: runID)
        #expect(try database.specResults(runID: runID) == [result])
        #expect(try database.differences(runID: runID).map(\.difference) == result.differences)
    }

    @Test("reads rows stored before differences were typed, and flags their drift from the old sentence")
    func legacyRows() throws {
        let directory = try ResultFixtures.temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: directory) }
        let path = directory.appendingPathComponent("results.sqlite").path
        let queue = try DatabaseQueue(path: path)
        try ResultsDatabase.migrator.migrate(queue, upTo: "run-group-and-culprit-verdict")
        let specDigest = Digest.of(Array("spec".utf8)).description
        try queue.write { db in
            try db.execute(sql: "INSERT INTO runs (id, started_at, tool_version, host) VALUES (1, 1000, '1.0', 'ci')")
            try db.execute(
                sql: """
                    INSERT INTO spec_results (run_id, spec_name, spec_path, spec_digest, expectation, outcome, passed, explanation)
                    VALUES (1, 'date', 'specs/date.json', ?, 'reproducible', 'reproducible', 0, 'Reproducible.
                    Digest drift: this run (1) gave sha256:aa…'),
                           (1, 'hello', 'specs/hello.json', ?, 'reproducible', 'reproducible', 1, '')
                    """, arguments: [specDigest, specDigest])
            try db.execute(sql: """
                INSERT INTO differences (run_id, spec_name, layer, path, field, control_value, experiment_value)
                VALUES (1, 'date', 'layer 1', 'stamp', 'mtime', '1', '3600')
                """)
        }
        try queue.close()

        let database = try ResultsDatabase(path: path)
        defer { try? database.close() }
        let results = try database.specResults(runID: 1)
        #expect(results.map(\.digestDrift) == [true, false])
        #expect(results.first?.differences == [
            Difference(kind: .legacy, layer: "layer 1", path: "stamp", field: "mtime", control: "1", experiment: "3600"),
        ])
        #expect(results.first?.differences.first?.summary == "layer 1 stamp: mtime 1 vs 3600")
    }
}
