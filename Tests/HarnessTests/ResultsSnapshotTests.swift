import Builder
import Foundation
import GRDB
import Testing

@testable import Harness

/// Commands that only read open a snapshot: the file, its `-wal` and its `-shm` never change.
@Suite("Results database snapshots and schema upgrades")
struct ResultsSnapshotTests {
    /// SHA-256 of the database file and of its -wal and -shm, or "absent".
    static func fingerprint(_ path: String) -> [String] {
        ["", "-wal", "-shm"].map { suffix in
            guard let data = FileManager.default.contents(atPath: path + suffix) else { return "absent" }
            return Digest.of(data).description
        }
    }

    @Test("a snapshot of a closed database reads every run and leaves the file byte-identical, with no -wal or -shm")
    func snapshotOfClosedDatabase() throws {
        let directory = try ResultFixtures.temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: directory) }
        let path = directory.appendingPathComponent("results.sqlite").path
        let database = try ResultsDatabase(path: path)
        let runID = try database.beginRun(ResultFixtures.run(startedAt: 1000))
        try database.record(ResultFixtures.unreproducible("date"), runID: runID)
        try database.close()
        let before = Self.fingerprint(path)
        #expect(before[1] == "absent" && before[2] == "absent")

        let snapshot = try ResultsDatabase.snapshot(path: path)
        #expect(try snapshot.specResults(runID: runID) == [ResultFixtures.unreproducible("date")])
        try snapshot.close()
        #expect(Self.fingerprint(path) == before)
    }

    @Test("a snapshot reads through the -wal of a live writer without changing it or its -shm")
    func snapshotBesideLiveWriter() throws {
        let directory = try ResultFixtures.temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: directory) }
        let path = directory.appendingPathComponent("results.sqlite").path
        let writer = try ResultsDatabase(path: path)
        defer { try? writer.close() }
        let runID = try writer.beginRun(ResultFixtures.run(startedAt: 1000))
        try writer.record(ResultFixtures.reproducible("hello"), runID: runID)
        let before = Self.fingerprint(path)
        #expect(before[1] != "absent" && before[2] != "absent")

        let snapshot = try ResultsDatabase.snapshot(path: path)
        #expect(try snapshot.specResults(runID: runID).map(\.specName) == ["hello"])
        try snapshot.close()
        #expect(Self.fingerprint(path) == before)
    }

    @Test("a missing or empty file is refused by name, and nothing is created")
    func missingAndEmpty() throws {
        let directory = try ResultFixtures.temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: directory) }
        let missing = directory.appendingPathComponent("missing.sqlite").path
        #expect(throws: ResultsDatabaseError.missing(path: missing)) { try ResultsDatabase.snapshot(path: missing) }
        #expect(Self.fingerprint(missing) == ["absent", "absent", "absent"])

        let empty = directory.appendingPathComponent("empty.sqlite").path
        #expect(FileManager.default.createFile(atPath: empty, contents: Data()))
        let before = Self.fingerprint(empty)
        let error = #expect(throws: ResultsDatabaseError.self) { try ResultsDatabase.snapshot(path: empty) }
        #expect(error == .empty(path: empty))
        #expect(error?.description == "\(empty) is empty, so it holds no results.")
        #expect(Self.fingerprint(empty) == before)
    }

    @Test("a database of a newer repro-check is refused for reading and for writing, and stays byte-identical")
    func newerSchemaUntouched() throws {
        let directory = try ResultFixtures.temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: directory) }
        let path = directory.appendingPathComponent("results.sqlite").path
        let database = try ResultsDatabase(path: path)
        _ = try database.beginRun(ResultFixtures.run(startedAt: 1000))
        try database.write { db in try db.execute(sql: "INSERT INTO grdb_migrations (identifier) VALUES ('v99')") }
        try database.close()
        let before = Self.fingerprint(path)

        #expect(throws: ResultsDatabaseError.newerSchema(path: path, unknownMigrations: ["v99"])) {
            try ResultsDatabase.snapshot(path: path)
        }
        #expect(throws: ResultsDatabaseError.newerSchema(path: path, unknownMigrations: ["v99"])) {
            try ResultsDatabase(path: path)
        }
        #expect(Self.fingerprint(path) == before)
    }

    /// A file as repro-check wrote it before results were keyed by spec path.
    static func writeVersion1(_ path: String) throws {
        let queue = try DatabaseQueue(path: path)
        try ResultsDatabase.migrator.migrate(queue, upTo: "v1")
        try queue.write { db in
            try db.execute(sql: """
                INSERT INTO runs (id, started_at, ended_at, tool_version, host, options, outcome)
                  VALUES (1, 1000, 1100, '0.1.0', 'alpha', '{}', 'passed');
                INSERT INTO spec_results (run_id, spec_name, spec_path, spec_digest, expectation, outcome, passed)
                  VALUES (1, 'hello', '/corpus/hello/spec.json', '\(ResultFixtures.digest("hello"))', 'reproducible', 'reproducible', 1);
                INSERT INTO builds (run_id, spec_name, spec_digest, role, image_digest, wall_ms)
                  VALUES (1, 'hello', '\(ResultFixtures.digest("hello"))', 'control', '\(ResultFixtures.digest("image"))', 1500);
                INSERT INTO differences (run_id, spec_name, field) VALUES (1, 'hello', 'mtime');
                """)
        }
        try queue.close()
    }

    @Test("a version 1 file migrates on open, its builds and differences finding their spec by path")
    func migratesVersion1() throws {
        let directory = try ResultFixtures.temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: directory) }
        let path = directory.appendingPathComponent("old.sqlite").path
        try Self.writeVersion1(path)

        // Reading an old file upgrades only the in-memory copy.
        let before = Self.fingerprint(path)
        let snapshot = try ResultsDatabase.snapshot(path: path)
        let old = try #require(try snapshot.specResults(runID: 1).first)
        #expect(old.specPath == "/corpus/hello/spec.json")
        #expect(old.builds.map(\.imageDigest) == [ResultFixtures.digest("image")])
        #expect(old.differences.map(\.field) == ["mtime"])
        try snapshot.close()
        #expect(Self.fingerprint(path) == before)

        let database = try ResultsDatabase(path: path)
        #expect(try database.appliedMigrations() == ResultsDatabaseTests.allMigrations)
        #expect(try database.specResults(runID: 1) == [old])
        #expect(try database.buildTimes(specPath: "/corpus/hello/spec.json").map(\.wallMilliseconds) == [1500])
        try database.close()
    }

    @Test("two specs sharing a name are kept apart by path in one run and across runs")
    func sameNameTwoPaths() throws {
        let database = try ResultsDatabase.inMemory()
        var first = ResultFixtures.reproducible("app", image: "one")
        first.specPath = "corpus/app-1.0/spec.json"
        var second = ResultFixtures.unreproducible("app")
        second.specPath = "corpus/app-2.0/spec.json"
        let runID = try database.beginRun(ResultFixtures.run(startedAt: 1000))
        try database.record(first, runID: runID)
        try database.record(second, runID: runID)

        #expect(try database.specResults(runID: runID) == [first, second])
        #expect(try database.latestResults().map(\.result.specPath) == [first.specPath, second.specPath])
        #expect(try database.specs() == [
            SpecIdentity(path: first.specPath, name: "app"), SpecIdentity(path: second.specPath, name: "app"),
        ])
        #expect(try database.digestHistory(specPath: first.specPath).map(\.controlDigest) == [ResultFixtures.digest("one")])
        #expect(try database.differences(runID: runID).map(\.specPath) == [second.specPath, second.specPath])
        // The same path twice in one run is still one spec.
        #expect(throws: ResultsDatabaseError.self) { try database.record(first, runID: runID) }
    }

    @Test("a timed-out build and the timeout verdict round-trip")
    func timeoutRoundTrip() throws {
        let database = try ResultsDatabase.inMemory()
        let runID = try database.beginRun(ResultFixtures.run(startedAt: 1000))
        var result = ResultFixtures.buildError("sleepy")
        result.outcome = .timeout
        result.builds[0].timedOut = true
        result.builds[0].exitStatus = 137
        try database.record(result, runID: runID)
        let stored = try database.specResults(runID: runID)
        #expect(stored == [result])
        #expect(stored.first?.outcome.isError == true)
    }
}
