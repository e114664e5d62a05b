import Builder
import GRDB

/// An earlier run in which the same spec and tool version built a different control image.
public struct DriftEntry: Sendable, Equatable {
    public var runID: Int64
    public var startedAt: Double
    public var host: String
    public var specName: String
    public var imageDigest: Digest
    /// The output both builds made: drift is judged only between builds of one output.
    public var output: CheckOutput

    public init(
        runID: Int64, startedAt: Double, host: String, specName: String, imageDigest: Digest,
        output: CheckOutput = .dockerArchive
    ) {
        self.runID = runID
        self.startedAt = startedAt
        self.host = host
        self.specName = specName
        self.imageDigest = imageDigest
        self.output = output
    }
}

/// When a build counts as slower: beyond the median of recent runs on the same host by more
/// than a ratio, by more than an absolute margin, and by more than the runs' own spread
/// (a multiple of the median absolute deviation), all three. On a busy shared machine a
/// ratio alone flags most unchanged specs; the margin ignores jitter in millisecond builds
/// and the spread ignores hosts whose timings scatter anyway.
public struct SlowdownPolicy: Sendable, Equatable {
    public var ratio: Double
    public var marginMilliseconds: Double
    /// Multiples of the scaled MAD (1.4826 × MAD, which estimates the standard deviation).
    public var spreadFactor: Double
    /// Earlier runs compared against (the last N on the same host).
    public var window: Int
    /// Fewer earlier runs than this is too noisy to judge.
    public var minimumHistory: Int

    public init(
        ratio: Double = 1.25, marginMilliseconds: Double = 500, spreadFactor: Double = 3, window: Int = 10,
        minimumHistory: Int = 3
    ) {
        self.ratio = ratio
        self.marginMilliseconds = marginMilliseconds
        self.spreadFactor = spreadFactor
        self.window = window
        self.minimumHistory = minimumHistory
    }

    public static let standard = SlowdownPolicy()

    /// The wall time a build must exceed to count as slower, given earlier times.
    public func threshold(median: Double, mad: Double) -> Double {
        max(median * ratio, median + marginMilliseconds, median + spreadFactor * 1.4826 * mad)
    }
}

/// A spec whose latest control build took much longer than it used to.
public struct Slowdown: Sendable, Equatable {
    public var specName: String
    /// The key: two specs may share a name.
    public var specPath: String
    public var runID: Int64
    public var wallMilliseconds: Int
    /// Median wall time of the earlier runs compared against.
    public var medianMilliseconds: Double
    /// Median absolute deviation of those runs: how much they scatter on their own.
    public var madMilliseconds: Double
    /// What the build had to exceed to be flagged (see ``SlowdownPolicy``).
    public var thresholdMilliseconds: Double
    /// The earlier runs the median came from, oldest first.
    public var comparedRunIDs: [Int64]

    public init(
        specName: String, specPath: String, runID: Int64, wallMilliseconds: Int, medianMilliseconds: Double,
        madMilliseconds: Double = 0, thresholdMilliseconds: Double = 0, comparedRunIDs: [Int64]
    ) {
        self.specName = specName
        self.specPath = specPath
        self.runID = runID
        self.wallMilliseconds = wallMilliseconds
        self.medianMilliseconds = medianMilliseconds
        self.madMilliseconds = madMilliseconds
        self.thresholdMilliseconds = thresholdMilliseconds
        self.comparedRunIDs = comparedRunIDs
    }

    public var ratio: Double { medianMilliseconds > 0 ? Double(wallMilliseconds) / medianMilliseconds : 0 }
}

/// What one host built for a spec digest and tool version.
public struct HostObservation: Sendable, Equatable {
    public var host: String
    public var imageDigest: Digest
    public var runIDs: [Int64]

    public init(host: String, imageDigest: Digest, runIDs: [Int64]) {
        self.host = host
        self.imageDigest = imageDigest
        self.runIDs = runIDs
    }
}

/// Hosts that built different control images from the same spec digest with the same tool version.
public struct HostDisagreement: Sendable, Equatable {
    public var specDigest: Digest
    public var toolVersion: String
    public var specNames: [String]
    /// Sorted by host, then image digest.
    public var observations: [HostObservation]
    /// The output whose builds disagree: only builds of one output are compared.
    public var output: CheckOutput

    public init(
        specDigest: Digest, toolVersion: String, specNames: [String], observations: [HostObservation],
        output: CheckOutput = .dockerArchive
    ) {
        self.specDigest = specDigest
        self.toolVersion = toolVersion
        self.specNames = specNames
        self.observations = observations
        self.output = output
    }
}

// All three questions compare *control* builds: the control is the unvaried build, so for
// the same spec digest and tool version its image digest must never change. Experiment
// digests legitimately differ for negative controls.
extension ResultsDatabase {
    /// Earlier runs (other than `excludingRun`, and not started after it) where the same spec
    /// digest and tool version produced a control image other than `imageDigest`.
    public func drift(
        for specDigest: Digest, toolVersion: String, imageDigest: Digest, excludingRun: Int64,
        format: ImageFormat = .dockerArchive, compression: LayerCompression? = nil
    ) throws -> [DriftEntry] {
        try read { db in
            let rows = try Row.fetchAll(
                db,
                sql: """
                    SELECT b.run_id, r.started_at, r.host, b.spec_name, b.image_digest
                    FROM builds b JOIN runs r ON r.id = b.run_id
                    WHERE b.spec_digest = ? AND r.tool_version = ? AND b.role = 'control'
                      AND b.image_digest IS NOT NULL AND b.image_digest != ?
                      AND b.run_id != ?
                      AND r.started_at <= COALESCE((SELECT started_at FROM runs WHERE id = ?), r.started_at)
                      AND COALESCE(b.format, 'docker-archive') = ? AND COALESCE(b.compression, '') = ?
                    GROUP BY b.run_id, b.image_digest
                    ORDER BY r.started_at, b.run_id, b.image_digest
                    """,
                arguments: [
                    specDigest.description, toolVersion, imageDigest.description, excludingRun, excludingRun,
                    format.rawValue, compression?.rawValue ?? "",
                ])
            return try rows.map { row in
                DriftEntry(
                    runID: row["run_id"], startedAt: row["started_at"], host: row["host"], specName: row["spec_name"],
                    imageDigest: try digest(row["image_digest"], "builds", "image_digest"),
                    output: CheckOutput(format: format, compression: compression))
            }
        }
    }

    /// Specs whose latest successful control build is slower than ``SlowdownPolicy`` allows,
    /// compared with the previous runs on the same host (another machine's speed says
    /// nothing). The shards of one run group are one run, so a night counts once.
    public func slowdowns(_ policy: SlowdownPolicy = .standard) throws -> [Slowdown] {
        let rows = try read { db in
            try Row.fetchAll(
                db,
                sql: """
                    SELECT b.spec_path, b.spec_name, b.run_id, b.wall_ms, r.host, COALESCE(r.run_group, '#' || r.id) AS night
                    FROM builds b JOIN runs r ON r.id = b.run_id
                    WHERE b.role = 'control' AND b.exit_status = 0 AND b.image_digest IS NOT NULL
                    ORDER BY b.spec_path, r.started_at, r.id, b.id
                    """)
        }
        struct Point {
            var runID: Int64
            var night: String
            var wall: Int
            var host: String
        }
        var perSpec: [(path: String, name: String, points: [Point])] = []
        for row in rows {
            let path: String = row["spec_path"]
            let point = Point(runID: row["run_id"], night: row["night"], wall: row["wall_ms"], host: row["host"])
            if perSpec.last?.path == path {
                // One point per run group: a group that built the control twice counts once.
                if perSpec[perSpec.count - 1].points.last?.night != point.night {
                    perSpec[perSpec.count - 1].points.append(point)
                }
            } else {
                perSpec.append((path, row["spec_name"], [point]))
            }
        }
        var slowdowns: [Slowdown] = []
        for spec in perSpec {
            guard let latest = spec.points.last else { continue }
            let previous = spec.points.dropLast().filter { $0.host == latest.host }.suffix(max(policy.window, 0))
            guard previous.count >= max(policy.minimumHistory, 1) else { continue }
            let walls = previous.map(\.wall)
            let median = Self.median(walls)
            let mad = Self.median(walls.map { Int((Double($0) - median).magnitude.rounded()) })
            let threshold = policy.threshold(median: median, mad: mad)
            if Double(latest.wall) > threshold {
                slowdowns.append(
                    Slowdown(
                        specName: spec.name, specPath: spec.path, runID: latest.runID, wallMilliseconds: latest.wall,
                        medianMilliseconds: median, madMilliseconds: mad, thresholdMilliseconds: threshold,
                        comparedRunIDs: previous.map(\.runID)))
            }
        }
        return slowdowns
    }

    /// Spec digests for which two hosts, with the same tool version, built different control images.
    public func crossHostDisagreements() throws -> [HostDisagreement] {
        let rows = try read { db in
            try Row.fetchAll(
                db,
                sql: """
                    SELECT b.spec_digest, r.tool_version, b.spec_name, r.host, b.image_digest, b.run_id, b.format, b.compression,
                      COALESCE(b.format, 'docker-archive') || '+' || COALESCE(b.compression, '') AS output
                    FROM builds b JOIN runs r ON r.id = b.run_id
                    WHERE b.role = 'control' AND b.image_digest IS NOT NULL
                    ORDER BY b.spec_digest, r.tool_version, output, r.host, b.image_digest, b.run_id
                    """)
        }
        // Only builds of one output (format and compression) can agree or disagree.
        struct Key: Hashable, Comparable {
            var specDigest: String
            var toolVersion: String
            var output: String
            static func < (a: Key, b: Key) -> Bool {
                (a.specDigest, a.toolVersion, a.output) < (b.specDigest, b.toolVersion, b.output)
            }
        }
        struct Sighting {
            var key: Key
            var specName: String
            var host: String
            var image: Digest
            var runID: Int64
            var output: CheckOutput
        }
        let sightings = try rows.map { row in
            Sighting(
                key: Key(specDigest: row["spec_digest"], toolVersion: row["tool_version"], output: row["output"]),
                specName: row["spec_name"],
                host: row["host"], image: try digest(row["image_digest"], "builds", "image_digest"),
                runID: row["run_id"],
                output: CheckOutput(recorded: row))
        }
        // Grouping keeps the SQL order (host, image, run) inside each group.
        let groups = Dictionary(grouping: sightings, by: \.key)
        var disagreements: [HostDisagreement] = []
        for key in groups.keys.sorted() {
            let group = groups[key] ?? []
            var observations: [HostObservation] = []
            for sighting in group {
                if let last = observations.last, last.host == sighting.host, last.imageDigest == sighting.image {
                    if last.runIDs.last != sighting.runID {
                        observations[observations.count - 1].runIDs.append(sighting.runID)
                    }
                } else {
                    observations.append(HostObservation(host: sighting.host, imageDigest: sighting.image, runIDs: [sighting.runID]))
                }
            }
            let disagree = observations.contains { a in
                observations.contains { b in a.host != b.host && a.imageDigest != b.imageDigest }
            }
            guard disagree else { continue }
            disagreements.append(
                HostDisagreement(
                    specDigest: try digest(key.specDigest, "builds", "spec_digest"), toolVersion: key.toolVersion,
                    specNames: Set(group.map(\.specName)).sorted(), observations: observations,
                    output: group.first?.output ?? .dockerArchive))
        }
        return disagreements
    }

    static func median(_ values: [Int]) -> Double {
        let sorted = values.sorted()
        guard !sorted.isEmpty else { return 0 }
        let middle = sorted.count / 2
        if sorted.count % 2 == 1 { return Double(sorted[middle]) }
        return (Double(sorted[middle - 1]) + Double(sorted[middle])) / 2
    }
}
