import Builder
import Foundation
import GRDB
import Testing

@testable import Harness

@Suite("Results database")
struct ResultsDatabaseTests {
    static let allMigrations = [
        "v1", "run-group-and-culprit-verdict", "v2-spec-path-keys", "typed-differences-and-drift",
        "build-format-and-compression", "layer-compressed-blobs",
    ]

    @Test("migrates an in-memory database through every migration, with every table")
    func migratesInMemory() throws {
        let database = try ResultsDatabase.inMemory()
        #expect(try database.appliedMigrations() == Self.allMigrations)
        let tables = try database.read { db in
            try String.fetchAll(db, sql: "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%' AND name != 'grdb_migrations' ORDER BY name")
        }
        #expect(tables == ["builds", "differences", "layers", "runs", "spec_results"])
        let foreignKeys = try database.read { db in try Int.fetchOne(db, sql: "PRAGMA foreign_keys") }
        #expect(foreignKeys == 1)
    }

    @Test("creates a file database with its parent directory, in WAL mode, and keeps data across reopening")
    func fileDatabase() throws {
        let directory = try ResultFixtures.temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: directory) }
        let path = directory.appendingPathComponent("nested/deeper/results.sqlite").path
        let database = try ResultsDatabase(path: path)
        #expect(try database.journalMode() == "wal")
        let runID = try database.beginRun(ResultFixtures.run(startedAt: 1000))
        try database.record(ResultFixtures.reproducible("hello"), runID: runID)
        try database.close()

        let reopened = try ResultsDatabase(path: path)
        #expect(try reopened.appliedMigrations() == Self.allMigrations)
        #expect(try reopened.journalMode() == "wal")
        #expect(try reopened.specResults(runID: runID) == [ResultFixtures.reproducible("hello")])
        try reopened.close()
    }

    @Test("refuses a file that is not a database, naming it")
    func notADatabase() throws {
        let directory = try ResultFixtures.temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: directory) }
        let path = directory.appendingPathComponent("results.sqlite").path
        try Data(String(repeating: "this is not sqlite\n", count: 400).utf8).write(to: URL(fileURLWithPath: path))
        let error = #expect(throws: ResultsDatabaseError.self) { try ResultsDatabase(path: path) }
        #expect(error == .notADatabase(path: path))
        #expect(error?.description.hasPrefix(path) == true)
        #expect(error?.description.contains("\n") == false)
    }

    @Test("refuses a database migrated by a newer repro-check")
    func newerSchema() throws {
        let directory = try ResultFixtures.temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: directory) }
        let path = directory.appendingPathComponent("results.sqlite").path
        let database = try ResultsDatabase(path: path)
        try database.write { db in try db.execute(sql: "INSERT INTO grdb_migrations (identifier) VALUES ('v99')") }
        try database.close()
        let error = #expect(throws: ResultsDatabaseError.self) { try ResultsDatabase(path: path) }
        #expect(error == .newerSchema(path: path, unknownMigrations: ["v99"]))
        #expect(error?.description.contains("newer repro-check") == true)
    }

    @Test("round-trips a spec result with builds, layers and differences")
    func roundTrip() throws {
        let database = try ResultsDatabase.inMemory()
        let runID = try database.beginRun(ResultFixtures.run(startedAt: 1000))
        let results = [ResultFixtures.unreproducible("date"), ResultFixtures.reproducible("hello"), ResultFixtures.buildError("broken")]
        for result in results { try database.record(result, runID: runID) }
        let stored = try database.specResults(runID: runID)
        #expect(stored == results.sorted { $0.specName < $1.specName })
        #expect(try database.differences(runID: runID).map(\.specName) == ["date", "date"])
        #expect(try database.differences(runID: runID).first?.difference.field == "mtime")
        let layerCount = try database.read { db in try Int.fetchOne(db, sql: "SELECT layer_count FROM builds WHERE spec_name = 'hello' AND role = 'control'") }
        #expect(layerCount == 1)
    }

    @Test("a value that cannot be stored midway through a spec leaves nothing of that spec")
    func atomicityOnConversionFailure() throws {
        let database = try ResultsDatabase.inMemory()
        let runID = try database.beginRun(ResultFixtures.run(startedAt: 1000))
        var result = ResultFixtures.reproducible("huge")
        // The second build's layer is inserted after the spec row and the first build.
        result.builds[1].layers = [LayerResult(index: 0, diffID: ResultFixtures.digest("l"), size: UInt64.max, paths: [])]
        let error = #expect(throws: ResultsDatabaseError.self) { try database.record(result, runID: runID) }
        #expect(error == .valueOutOfRange(path: ":memory:", column: "layers.size", value: String(UInt64.max)))
        #expect(try rowCounts(database) == [0, 0, 0, 0])
    }

    @Test("a failing insert of the last difference rolls back the whole spec")
    func atomicityOnSQLiteFailure() throws {
        let database = try ResultsDatabase.inMemory()
        let runID = try database.beginRun(ResultFixtures.run(startedAt: 1000))
        try database.record(ResultFixtures.reproducible("kept"), runID: runID)
        let before = try rowCounts(database)
        try database.write { db in
            try db.execute(sql: """
                CREATE TEMP TRIGGER planted_failure BEFORE INSERT ON differences
                WHEN NEW.field = 'content' BEGIN SELECT RAISE(ABORT, 'planted failure'); END
                """)
        }
        // The first difference (mtime) inserts fine; the second (content) aborts.
        #expect(throws: ResultsDatabaseError.self) { try database.record(ResultFixtures.unreproducible("date"), runID: runID) }
        #expect(try rowCounts(database) == before)
        #expect(try database.specResults(runID: runID).map(\.specName) == ["kept"])
    }

    @Test("recording into a run that was never begun fails")
    func unknownRun() throws {
        let database = try ResultsDatabase.inMemory()
        #expect(throws: ResultsDatabaseError.unknownRun(path: ":memory:", runID: 42)) {
            try database.record(ResultFixtures.reproducible("hello"), runID: 42)
        }
        #expect(throws: ResultsDatabaseError.unknownRun(path: ":memory:", runID: 42)) {
            try database.finishRun(id: 42, outcome: "passed", endedAt: 1)
        }
    }

    @Test("a run without an end is incomplete, a marked one interrupted, a finished one finished")
    func runStatus() throws {
        let database = try ResultsDatabase.inMemory()
        let killed = try database.beginRun(ResultFixtures.run(startedAt: 1000))
        try database.record(ResultFixtures.reproducible("hello"), runID: killed)
        let stopped = try database.beginRun(ResultFixtures.run(startedAt: 2000))
        try database.markInterrupted(runID: stopped)
        let done = try database.beginRun(ResultFixtures.run(startedAt: 3000))
        try database.finishRun(id: done, outcome: "passed", endedAt: 3100)

        let runs = try database.runs()
        #expect(runs.map(\.id) == [killed, stopped, done])
        #expect(runs.map(\.status) == [.incomplete, .interrupted, .finished])
        #expect(runs[2].info.endedAt == 3100)
        #expect(runs[2].info.outcome == "passed")
        #expect(runs[1].info.endedAt == nil)
        #expect(try database.latestResults().first?.run.status == .incomplete)
    }

    @Test("latest results take each spec from the most recent run that checked it")
    func latestResults() throws {
        let database = try ResultsDatabase.inMemory()
        let first = try database.beginRun(ResultFixtures.run(startedAt: 1000))
        try database.record(ResultFixtures.reproducible("hello", image: "old"), runID: first)
        try database.record(ResultFixtures.reproducible("only-old"), runID: first)
        let second = try database.beginRun(ResultFixtures.run(startedAt: 2000))
        try database.record(ResultFixtures.unreproducible("hello"), runID: second)

        let latest = try database.latestResults()
        #expect(latest.map(\.result.specName) == ["hello", "only-old"])
        #expect(latest.map(\.run.id) == [second, first])
        #expect(latest[0].result.outcome == .unreproducible)
    }

    @Test("digest and build-time history follow run start order")
    func histories() throws {
        let database = try ResultsDatabase.inMemory()
        // Inserted out of order: history must sort by start time, not by id.
        let later = try database.beginRun(ResultFixtures.run(host: "beta", startedAt: 5000, tool: "1.1.0"))
        try database.record(ResultFixtures.reproducible("hello", image: "new", wall: 2000), runID: later)
        let earlier = try database.beginRun(ResultFixtures.run(startedAt: 1000))
        try database.record(ResultFixtures.reproducible("hello", image: "old", wall: 1000), runID: earlier)

        let history = try database.digestHistory(specPath: "specs/hello.json")
        #expect(history.map(\.runID) == [earlier, later])
        #expect(history.map(\.controlDigest) == [ResultFixtures.digest("old"), ResultFixtures.digest("new")])
        #expect(history.map(\.experimentDigest) == [ResultFixtures.digest("old"), ResultFixtures.digest("new")])
        #expect(history.map(\.host) == ["alpha", "beta"])
        #expect(history.map(\.toolVersion) == ["1.0.0", "1.1.0"])

        let times = try database.buildTimes(specPath: "specs/hello.json")
        #expect(times.map(\.wallMilliseconds) == [1000, 2000])
        #expect(times.allSatisfy { $0.role == .control && $0.succeeded })
        #expect(try database.buildTimes(specPath: "specs/hello.json", role: nil).count == 4)
    }

    @Test("deleting a run cascades to everything recorded under it")
    func cascade() throws {
        let database = try ResultsDatabase.inMemory()
        let runID = try database.beginRun(ResultFixtures.run(startedAt: 1000))
        try database.record(ResultFixtures.unreproducible("date"), runID: runID)
        #expect(try rowCounts(database) != [0, 0, 0, 0])
        try database.write { db in try db.execute(sql: "DELETE FROM runs") }
        #expect(try rowCounts(database) == [0, 0, 0, 0])
    }

    /// spec_results, builds, layers, differences.
    private func rowCounts(_ database: ResultsDatabase) throws -> [Int] {
        try database.read { db in
            try ["spec_results", "builds", "layers", "differences"].map { table in
                try Int.fetchOne(db, sql: "SELECT COUNT(*) FROM \(table)") ?? -1
            }
        }
    }
}
