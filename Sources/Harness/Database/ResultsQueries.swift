import Builder
import GRDB

/// How a run ended, as far as the database can tell.
public enum RunStatus: String, Sendable, Codable, Equatable {
    /// `finishRun` recorded an end.
    case finished
    /// The run was marked interrupted (for example on SIGINT).
    case interrupted
    /// No end was ever recorded: still running, or killed before it could say so.
    case incomplete
}

/// A run as stored, with the id other rows refer to.
public struct StoredRun: Sendable, Equatable, Identifiable {
    public var id: Int64
    public var info: RunInfo

    public init(id: Int64, info: RunInfo) {
        self.id = id
        self.info = info
    }

    public var status: RunStatus {
        if info.interrupted { return .interrupted }
        // A killed process cannot mark itself, so a missing end is the only evidence.
        if info.endedAt == nil { return .incomplete }
        return .finished
    }
}

/// One spec's result in one run, with the run it came from.
public struct StoredSpecResult: Sendable, Equatable {
    public var run: StoredRun
    public var result: SpecResult

    public init(run: StoredRun, result: SpecResult) {
        self.run = run
        self.result = result
    }

    /// The image digest of the first build with `role`, if it produced one.
    public func imageDigest(_ role: BuildRole) -> Digest? {
        result.builds.first { $0.role == role }?.imageDigest
    }
}

/// One point of a spec's digest history.
public struct DigestHistoryEntry: Sendable, Equatable {
    public var runID: Int64
    public var startedAt: Double
    public var host: String
    public var toolVersion: String
    public var specDigest: Digest
    public var outcome: SpecOutcome
    public var controlDigest: Digest?
    public var experimentDigest: Digest?

    public init(
        runID: Int64, startedAt: Double, host: String, toolVersion: String, specDigest: Digest, outcome: SpecOutcome,
        controlDigest: Digest?, experimentDigest: Digest?
    ) {
        self.runID = runID
        self.startedAt = startedAt
        self.host = host
        self.toolVersion = toolVersion
        self.specDigest = specDigest
        self.outcome = outcome
        self.controlDigest = controlDigest
        self.experimentDigest = experimentDigest
    }
}

/// The digest history of one output a spec was built as (`oci-archive+zstd`): builds are
/// compared only with builds of the same output, so each output has its own history.
public struct OutputDigestHistory: Sendable, Equatable {
    public var output: CheckOutput
    public var entries: [DigestHistoryEntry]

    public init(output: CheckOutput, entries: [DigestHistoryEntry]) {
        self.output = output
        self.entries = entries
    }
}

extension CheckOutput {
    /// The output a `builds` row (its `format` and `compression` columns) was made as; a
    /// build recorded before formats were (no format) is a docker-archive.
    init(recorded row: Row) {
        self.init(
            format: (row["format"] as String?).flatMap(ImageFormat.init(rawValue:)) ?? .dockerArchive,
            compression: (row["compression"] as String?).flatMap(LayerCompression.init(rawValue:)))
    }

    /// The order `check` builds outputs in: formats in `ImageFormat`'s order, then
    /// compressions in `LayerCompression`'s (uncompressed first).
    public static func checkOrder(_ a: CheckOutput, _ b: CheckOutput) -> Bool {
        func rank(_ output: CheckOutput) -> (Int, Int) {
            (ImageFormat.allCases.firstIndex(of: output.format) ?? .max,
             output.compression.flatMap(LayerCompression.allCases.firstIndex(of:)) ?? -1)
        }
        return rank(a) < rank(b)
    }
}

/// One build's cost, for trend charts.
public struct BuildTimeEntry: Sendable, Equatable {
    public var runID: Int64
    public var startedAt: Double
    public var host: String
    public var role: BuildRole
    public var wallMilliseconds: Int
    public var cpuMilliseconds: Int
    public var peakRSSKiB: Int
    public var succeeded: Bool

    public init(
        runID: Int64, startedAt: Double, host: String, role: BuildRole, wallMilliseconds: Int, cpuMilliseconds: Int,
        peakRSSKiB: Int, succeeded: Bool
    ) {
        self.runID = runID
        self.startedAt = startedAt
        self.host = host
        self.role = role
        self.wallMilliseconds = wallMilliseconds
        self.cpuMilliseconds = cpuMilliseconds
        self.peakRSSKiB = peakRSSKiB
        self.succeeded = succeeded
    }
}

/// A difference together with the spec it belongs to.
public struct StoredDifference: Sendable, Equatable {
    public var specName: String
    public var specPath: String
    public var difference: Difference

    public init(specName: String, specPath: String, difference: Difference) {
        self.specName = specName
        self.specPath = specPath
        self.difference = difference
    }
}

/// A checked spec: results are keyed by its path, because two specs may share a name.
public struct SpecIdentity: Sendable, Equatable, Hashable {
    public var path: String
    /// The name its most recent result carried.
    public var name: String

    public init(path: String, name: String) {
        self.path = path
        self.name = name
    }
}

extension ResultsDatabase {
    /// Every run, oldest first.
    public func runs() throws -> [StoredRun] {
        try read { db in
            try RunRecord.fetchAll(db, sql: "SELECT * FROM runs ORDER BY started_at, id").compactMap(Self.storedRun)
        }
    }

    public func run(id: Int64) throws -> StoredRun? {
        try read { db in try RunRecord.fetchOne(db, key: id).flatMap(Self.storedRun) }
    }

    /// Every spec that has a result, sorted by name then path.
    public func specs() throws -> [SpecIdentity] {
        try read { db in
            let rows = try Row.fetchAll(
                db,
                sql: """
                    SELECT sr.spec_path, sr.spec_name FROM spec_results sr JOIN runs r ON r.id = sr.run_id
                    ORDER BY sr.spec_path, r.started_at DESC, r.id DESC
                    """)
            var seen = Set<String>()
            var specs: [SpecIdentity] = []
            for row in rows {
                let path: String = row["spec_path"]
                if seen.insert(path).inserted { specs.append(SpecIdentity(path: path, name: row["spec_name"])) }
            }
            return specs.sorted { ($0.name, $0.path) < ($1.name, $1.path) }
        }
    }

    /// The full results of one run (builds, layers, differences), sorted by spec name then path.
    public func specResults(runID: Int64) throws -> [SpecResult] {
        try read { db in
            let records = try SpecResultRecord.fetchAll(
                db, sql: "SELECT * FROM spec_results WHERE run_id = ? ORDER BY spec_name, spec_path", arguments: [runID])
            return try records.map { try loadSpecResult(db, $0) }
        }
    }

    /// For each spec (by path), its result from the most recent run that checked it; sorted by
    /// spec name then path.
    public func latestResults() throws -> [StoredSpecResult] {
        try read { db in
            let rows = try Row.fetchAll(
                db,
                sql: """
                    SELECT sr.id AS result_id, r.id AS run_id
                    FROM spec_results sr JOIN runs r ON r.id = sr.run_id
                    ORDER BY sr.spec_name, sr.spec_path, r.started_at DESC, r.id DESC
                    """)
            var seen = Set<String>()
            var latest: [StoredSpecResult] = []
            for row in rows {
                let resultID: Int64 = row["result_id"]
                let runID: Int64 = row["run_id"]
                guard let record = try SpecResultRecord.fetchOne(db, key: resultID),
                    seen.insert(record.specPath).inserted,
                    let run = try RunRecord.fetchOne(db, key: runID).flatMap(Self.storedRun)
                else { continue }
                latest.append(StoredSpecResult(run: run, result: try loadSpecResult(db, record)))
            }
            return latest
        }
    }

    /// The control and experiment image digests of a spec in every run that checked it, oldest
    /// first: each run's first control and first experiment build, whatever output they made.
    public func digestHistory(specPath: String) throws -> [DigestHistoryEntry] {
        try digestRows(specPath: specPath).map { run in
            var entry = run.entry
            entry.controlDigest = run.builds.first { $0.role == .control }?.digest
            entry.experimentDigest = run.builds.first { $0.role == .experiment }?.digest
            return entry
        }
    }

    /// One history per output the spec was ever built as, in the order `check` builds them
    /// (docker-archive, oci-archive, dual; none, gzip, zstd); each has an entry for every run
    /// that checked the spec, oldest first, without digests where that run did not build the
    /// output. A spec checked but never built (every run failed before a build) has one
    /// docker-archive history without digests, the default output.
    public func outputDigestHistories(specPath: String) throws -> [OutputDigestHistory] {
        let runs = try digestRows(specPath: specPath)
        var outputs = Set(runs.flatMap { $0.builds.map(\.output) }).sorted(by: CheckOutput.checkOrder)
        if outputs.isEmpty && !runs.isEmpty { outputs = [.dockerArchive] }
        return outputs.map { output in
            OutputDigestHistory(output: output, entries: runs.map { run in
                var entry = run.entry
                entry.controlDigest = run.builds.first { $0.output == output && $0.role == .control }?.digest
                entry.experimentDigest = run.builds.first { $0.output == output && $0.role == .experiment }?.digest
                return entry
            })
        }
    }

    /// Every run that checked the spec, oldest first, with its control and experiment builds
    /// in the order they were recorded.
    private func digestRows(specPath: String) throws
        -> [(entry: DigestHistoryEntry, builds: [(role: BuildRole, output: CheckOutput, digest: Digest?)])]
    {
        try read { db in
            let rows = try Row.fetchAll(
                db,
                sql: """
                    SELECT sr.run_id, r.started_at, r.host, r.tool_version, sr.spec_digest, sr.outcome,
                      b.role, b.format, b.compression, b.image_digest
                    FROM spec_results sr JOIN runs r ON r.id = sr.run_id
                    LEFT JOIN builds b ON b.run_id = sr.run_id AND b.spec_path = sr.spec_path
                      AND b.role IN ('control', 'experiment')
                    WHERE sr.spec_path = ?
                    ORDER BY r.started_at, r.id, b.id
                    """,
                arguments: [specPath])
            var runs: [(entry: DigestHistoryEntry, builds: [(role: BuildRole, output: CheckOutput, digest: Digest?)])] = []
            for row in rows {
                let runID: Int64 = row["run_id"]
                if runs.last?.entry.runID != runID {
                    let outcomeText: String = row["outcome"]
                    guard let outcome = SpecOutcome(rawValue: outcomeText) else {
                        throw ResultsDatabaseError.corruptValue(
                            path: path, table: "spec_results", column: "outcome", value: outcomeText)
                    }
                    let entry = DigestHistoryEntry(
                        runID: runID, startedAt: row["started_at"], host: row["host"], toolVersion: row["tool_version"],
                        specDigest: try digest(row["spec_digest"], "spec_results", "spec_digest"), outcome: outcome,
                        controlDigest: nil, experimentDigest: nil)
                    runs.append((entry, []))
                }
                guard let role: String = row["role"] else { continue }
                let digest = try JSONText.digest(row["image_digest"], table: "builds", column: "image_digest", path: path)
                runs[runs.count - 1].builds.append((BuildRole(rawValue: role), CheckOutput(recorded: row), digest))
            }
            return runs
        }
    }

    /// Build costs of a spec, oldest run first; only builds with `role` unless it is nil.
    public func buildTimes(specPath: String, role: BuildRole? = .control) throws -> [BuildTimeEntry] {
        try read { db in
            let rows = try Row.fetchAll(
                db,
                sql: """
                    SELECT b.run_id, r.started_at, r.host, b.role, b.wall_ms, b.cpu_ms, b.peak_rss_kib,
                      (b.exit_status = 0 AND b.image_digest IS NOT NULL) AS succeeded
                    FROM builds b JOIN runs r ON r.id = b.run_id
                    WHERE b.spec_path = ? AND (? IS NULL OR b.role = ?)
                    ORDER BY r.started_at, r.id, b.id
                    """,
                arguments: [specPath, role?.rawValue, role?.rawValue])
            return rows.map { row in
                BuildTimeEntry(
                    runID: row["run_id"], startedAt: row["started_at"], host: row["host"],
                    role: BuildRole(rawValue: row["role"]), wallMilliseconds: row["wall_ms"],
                    cpuMilliseconds: row["cpu_ms"], peakRSSKiB: row["peak_rss_kib"], succeeded: row["succeeded"])
            }
        }
    }

    /// Every difference found in a run, by spec name and path, then in the order they were found.
    public func differences(runID: Int64) throws -> [StoredDifference] {
        try read { db in
            try DifferenceRecord.fetchAll(
                db, sql: "SELECT * FROM differences WHERE run_id = ? ORDER BY spec_name, spec_path, id", arguments: [runID]
            ).map { StoredDifference(specName: $0.specName, specPath: $0.specPath, difference: try $0.difference(path: path)) }
        }
    }

    // MARK: Loading

    static func storedRun(_ record: RunRecord) -> StoredRun? {
        record.id.map { StoredRun(id: $0, info: record.info) }
    }

    func digest(_ text: String, _ table: String, _ column: String) throws -> Digest {
        guard let digest = Digest(parsing: text) else {
            throw ResultsDatabaseError.corruptValue(path: path, table: table, column: column, value: text)
        }
        return digest
    }

    func loadSpecResult(_ db: Database, _ record: SpecResultRecord) throws -> SpecResult {
        guard let expectation = Expectation(rawValue: record.expectation) else {
            throw ResultsDatabaseError.corruptValue(
                path: path, table: "spec_results", column: "expectation", value: record.expectation)
        }
        guard let outcome = SpecOutcome(rawValue: record.outcome) else {
            throw ResultsDatabaseError.corruptValue(
                path: path, table: "spec_results", column: "outcome", value: record.outcome)
        }
        let buildRecords = try BuildRecord.fetchAll(
            db, sql: "SELECT * FROM builds WHERE run_id = ? AND spec_path = ? ORDER BY id",
            arguments: [record.runId, record.specPath])
        let builds = try buildRecords.map { try loadBuild(db, $0) }
        let differences = try DifferenceRecord.fetchAll(
            db, sql: "SELECT * FROM differences WHERE run_id = ? AND spec_path = ? ORDER BY id",
            arguments: [record.runId, record.specPath]
        ).map { try $0.difference(path: path) }
        return SpecResult(
            specName: record.specName, specPath: record.specPath,
            specDigest: try digest(record.specDigest, "spec_results", "spec_digest"), expectation: expectation,
            outcome: outcome, passed: record.passed,
            culprits: try JSONText.decode(
                [String].self, record.culprits, table: "spec_results", column: "culprits", path: path),
            culpritVerdict: record.culpritVerdict.flatMap(CulpritVerdict.init(rawValue:)),
            builds: builds, differences: differences, explanation: record.explanation, digestDrift: record.digestDrift)
    }

    private func loadBuild(_ db: Database, _ record: BuildRecord) throws -> BuildResult {
        let layers = try LayerRecord.fetchAll(
            db, sql: "SELECT * FROM layers WHERE build_id = ? ORDER BY idx, id", arguments: [record.id]
        ).map { try $0.layer(path: path) }
        func json<T: Decodable>(_ type: T.Type, _ text: String, _ column: String) throws -> T {
            try JSONText.decode(type, text, table: "builds", column: column, path: path)
        }
        var build = BuildResult(
            role: BuildRole(rawValue: record.role),
            variationsApplied: try json([String].self, record.variationsApplied, "variations_applied"),
            variationsSkipped: try json([String: String].self, record.variationsSkipped, "variations_skipped"),
            variationValues: try json([String: String].self, record.variationValues, "variation_values"),
            imageDigest: try JSONText.digest(record.imageDigest, table: "builds", column: "image_digest", path: path),
            configDigest: try JSONText.digest(record.configDigest, table: "builds", column: "config_digest", path: path),
            manifestDigest: try JSONText.digest(
                record.manifestDigest, table: "builds", column: "manifest_digest", path: path),
            size: record.size.map { UInt64(clamping: $0) }, layers: layers, wallMilliseconds: record.wallMs,
            cpuMilliseconds: record.cpuMs, peakRSSKiB: record.peakRssKib, exitStatus: record.exitStatus,
            timedOut: record.timedOut, error: record.error)
        build.format = record.format.flatMap(ImageFormat.init(rawValue:)) ?? .dockerArchive
        build.compression = record.compression.flatMap(LayerCompression.init(rawValue:))
        build.compressorVersions = record.compressorVersions
        return build
    }
}
