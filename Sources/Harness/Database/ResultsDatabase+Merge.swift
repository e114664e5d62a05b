import Builder
import Foundation
import GRDB

#if canImport(Glibc)
    import Glibc
#elseif canImport(Darwin)
    import Darwin
#endif

/// What a merge did.
public struct MergeSummary: Sendable, Equatable {
    public var runsCopied: Int
    /// Runs already present (same host, start time and tool version) in an earlier input.
    public var duplicateRunsSkipped: Int
}

extension ResultsDatabase {
    /// Combines results databases from several machines into `destination`.
    ///
    /// An existing destination is itself the first input, so merging the same files twice
    /// changes nothing. Runs are ordered by start time and renumbered; a run with the same
    /// host, start time and tool version as one already taken is skipped. The result is
    /// written under a temporary name and renamed over `destination`, so a failed merge
    /// leaves the old file intact. Nothing may be writing to `destination` meanwhile.
    @discardableResult
    public static func merge(_ sources: [String], into destination: String) throws -> MergeSummary {
        let fileManager = FileManager.default
        for source in sources where !fileManager.fileExists(atPath: source) {
            throw ResultsDatabaseError.missingSource(path: source)
        }
        var inputs: [String] = []
        var seenInputs = Set<String>()
        for input in (fileManager.fileExists(atPath: destination) ? [destination] : []) + sources {
            let key = URL(fileURLWithPath: input).standardizedFileURL.path
            if seenInputs.insert(key).inserted { inputs.append(input) }
        }

        var bundles: [RunBundle] = []
        var seenRuns = Set<RunIdentity>()
        var skipped = 0
        for input in inputs {
            let database = try ResultsDatabase(path: input)
            let loaded = try database.read { db in try RunBundle.loadAll(db) }
            try database.close()
            for bundle in loaded {
                if seenRuns.insert(RunIdentity(bundle.run)).inserted {
                    bundles.append(bundle)
                } else {
                    skipped += 1
                }
            }
        }
        // Stable sort: equal start times keep input order, so the output is deterministic.
        bundles = bundles.enumerated().sorted { a, b in
            let x = a.element.run
            let y = b.element.run
            if x.startedAt != y.startedAt { return x.startedAt < y.startedAt }
            if x.host != y.host { return x.host < y.host }
            if x.toolVersion != y.toolVersion { return x.toolVersion < y.toolVersion }
            return a.offset < b.offset
        }.map(\.element)

        let destinationURL = URL(fileURLWithPath: destination)
        let temporary = destinationURL.deletingLastPathComponent()
            .appendingPathComponent(".\(destinationURL.lastPathComponent).merge.tmp").path
        removeDatabaseFiles(at: temporary)
        do {
            let directory = destinationURL.deletingLastPathComponent().path
            try fileManager.createDirectory(atPath: directory, withIntermediateDirectories: true)
            // A queue in rollback-journal mode leaves no -wal beside the file we rename.
            let queue = try translatingErrors(path: temporary) {
                try DatabaseQueue(path: temporary, configuration: configuration())
            }
            let output = try ResultsDatabase(path: temporary, writer: queue)
            try output.write { db in
                for bundle in bundles { try bundle.insert(db) }
            }
            try output.close()
            // The old destination's WAL and shared-memory files belong to the file being
            // replaced; left behind, SQLite would replay them onto the new one.
            for suffix in ["-wal", "-shm"] where fileManager.fileExists(atPath: destination + suffix) {
                try fileManager.removeItem(atPath: destination + suffix)
            }
            guard rename(temporary, destination) == 0 else {
                throw ResultsDatabaseError.mergeFailed(
                    path: destination, reason: "renaming \(temporary) failed: \(String(cString: strerror(errno)))")
            }
        } catch {
            removeDatabaseFiles(at: temporary)
            if let error = error as? ResultsDatabaseError, case .mergeFailed = error { throw error }
            throw ResultsDatabaseError.mergeFailed(path: destination, reason: SystemErrorText.message(error))
        }
        return MergeSummary(runsCopied: bundles.count, duplicateRunsSkipped: skipped)
    }

    private static func removeDatabaseFiles(at path: String) {
        for suffix in ["", "-journal", "-wal", "-shm"] {
            try? FileManager.default.removeItem(atPath: path + suffix)
        }
    }
}

/// The same run seen in two databases (a file merged twice, or copied between machines).
private struct RunIdentity: Hashable {
    var host: String
    var startedAt: Double
    var toolVersion: String

    init(_ run: RunRecord) {
        host = run.host
        startedAt = run.startedAt
        toolVersion = run.toolVersion
    }
}

/// A run and every row that hangs off it, ids as in the source file.
private struct RunBundle {
    var run: RunRecord
    var specResults: [SpecResultRecord]
    var builds: [(build: BuildRecord, layers: [LayerRecord])]
    var differences: [DifferenceRecord]

    static func loadAll(_ db: Database) throws -> [RunBundle] {
        let runs = try RunRecord.fetchAll(db, sql: "SELECT * FROM runs ORDER BY id")
        let specResults = Dictionary(
            grouping: try SpecResultRecord.fetchAll(db, sql: "SELECT * FROM spec_results ORDER BY id"), by: \.runId)
        let layers = Dictionary(
            grouping: try LayerRecord.fetchAll(db, sql: "SELECT * FROM layers ORDER BY build_id, idx, id"),
            by: \.buildId)
        let builds = Dictionary(
            grouping: try BuildRecord.fetchAll(db, sql: "SELECT * FROM builds ORDER BY id"), by: \.runId)
        let differences = Dictionary(
            grouping: try DifferenceRecord.fetchAll(db, sql: "SELECT * FROM differences ORDER BY id"), by: \.runId)
        return runs.compactMap { run in
            guard let id = run.id else { return nil }
            return RunBundle(
                run: run, specResults: specResults[id] ?? [],
                builds: (builds[id] ?? []).map { build in (build, build.id.flatMap { layers[$0] } ?? []) },
                differences: differences[id] ?? [])
        }
    }

    /// Inserts with fresh ids, rewriting the foreign keys to match.
    func insert(_ db: Database) throws {
        var run = self.run
        run.id = nil
        try run.insert(db)
        guard let runID = run.id else { return }
        for var specResult in specResults {
            specResult.id = nil
            specResult.runId = runID
            try specResult.insert(db)
        }
        for (original, layers) in builds {
            var build = original
            build.id = nil
            build.runId = runID
            try build.insert(db)
            guard let buildID = build.id else { continue }
            for var layer in layers {
                layer.id = nil
                layer.buildId = buildID
                try layer.insert(db)
            }
        }
        for var difference in differences {
            difference.id = nil
            difference.runId = runID
            try difference.insert(db)
        }
    }
}
