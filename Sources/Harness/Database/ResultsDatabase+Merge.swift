import Builder
import Foundation
import GRDB

/// What a merge did.
public struct MergeSummary: Sendable, Equatable {
    /// Runs added to the destination.
    public var runsCopied: Int
    /// Source runs the destination already held (same host, start time and tool version), or
    /// that an earlier source already gave.
    public var duplicateRunsSkipped: Int
}

extension ResultsDatabase {
    /// Copies the runs of `sources` (databases from several machines) into `destination`.
    ///
    /// Every source is read first, through a read-only snapshot, so a bad source fails before
    /// the destination is touched. The copy is then one IMMEDIATE transaction in the
    /// destination itself, under SQLite's own locking: a `check` writing the destination
    /// meanwhile, or another merge into it, waits for the lock or makes the merge wait, and no
    /// run is lost; the file is never replaced. Runs the destination already holds (same host,
    /// start time and tool version) are skipped, so merging the same files twice changes
    /// nothing. New runs get fresh ids after the existing ones, in start-time order.
    @discardableResult
    public static func merge(_ sources: [String], into destination: String) throws -> MergeSummary {
        for source in sources where fileSize(source) == nil {
            throw ResultsDatabaseError.missingSource(path: source)
        }
        let destinationFile = FileFingerprint(destination).map(FileIdentity.init)
        var seenFiles = Set<FileIdentity>()
        var bundles: [RunBundle] = []
        for source in sources {
            guard let identity = FileFingerprint(source).map(FileIdentity.init), identity != destinationFile,
                seenFiles.insert(identity).inserted
            else { continue }
            let snapshot = try ResultsDatabase.snapshot(path: source)
            bundles += try snapshot.read { db in try RunBundle.loadAll(db) }
            try snapshot.close()
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

        let output = try ResultsDatabase(path: destination)
        defer { try? output.close() }
        do {
            return try output.write { db in
                var present = Set(try RunRecord.fetchAll(db).map(RunIdentity.init))
                var summary = MergeSummary(runsCopied: 0, duplicateRunsSkipped: 0)
                for bundle in bundles {
                    if present.insert(RunIdentity(bundle.run)).inserted {
                        try bundle.insert(db)
                        summary.runsCopied += 1
                    } else {
                        summary.duplicateRunsSkipped += 1
                    }
                }
                return summary
            }
        } catch {
            throw ResultsDatabaseError.mergeFailed(path: destination, reason: SystemErrorText.message(error))
        }
    }
}

/// The same file under two names (a symlink, `./x` and `x`).
private struct FileIdentity: Hashable {
    var device: UInt64
    var inode: UInt64

    init(_ fingerprint: FileFingerprint) {
        device = fingerprint.device
        inode = fingerprint.inode
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
