import Builder
import Foundation
import Synchronization
#if canImport(Glibc)
import Glibc
#endif

/// What `repro-check check` was asked to do, already validated.
public struct CheckOptions: Sendable {
    public var specs: [String]
    public var databasePath: String
    public var selection: VariationSelection
    public var jobs: Int
    public var keepArtifacts: String?
    public var failOnSlowdown: Bool
    /// `--timeout`: seconds one child build may run before its process group is killed.
    public var timeoutSeconds: Int?
    public var builder: String
    public var toolVersion: String
    public var gitCommit: String?
    public var host: String
    /// The options as given, as JSON text, for the run record.
    public var optionsJSON: String
    /// Runs sharing a group (the shards of one CI run) are one run in reports.
    public var runGroup: String?
    /// `--require-all-variations`: a variation skipped on this host fails the check.
    public var requireAllVariations: Bool
    /// `--fail-fast`: start no further spec once one has failed (those already building finish).
    public var failFast = false
    /// `--format`/`--compression`: what each variation builds, every output compared only with
    /// builds of itself (``CheckOutput/requested(formats:compressions:)``).
    public var outputs = [CheckOutput.dockerArchive]

    public init(
        specs: [String], databasePath: String, selection: VariationSelection, jobs: Int, keepArtifacts: String?,
        failOnSlowdown: Bool, timeoutSeconds: Int? = nil, builder: String, toolVersion: String, gitCommit: String?,
        host: String, optionsJSON: String, runGroup: String? = nil, requireAllVariations: Bool = false
    ) {
        self.specs = specs
        self.databasePath = databasePath
        self.selection = selection
        self.jobs = jobs
        self.keepArtifacts = keepArtifacts
        self.failOnSlowdown = failOnSlowdown
        self.timeoutSeconds = timeoutSeconds
        self.builder = builder
        self.toolVersion = toolVersion
        self.gitCommit = gitCommit
        self.host = host
        self.optionsJSON = optionsJSON
        self.runGroup = runGroup
        self.requireAllVariations = requireAllVariations
    }
}

public enum CheckEvent: Sendable {
    /// Variations enabled but not applicable here; reported once before any build.
    case skipped([String: String])
    case building(position: Int, total: Int, spec: String, role: BuildRole)
    case finished(position: Int, total: Int, result: SpecResult)
}

/// What a whole check learned; the CLI turns it into an exit status and files.
public struct CheckReport: Sendable {
    public var runID: Int64
    public var runInfo: RunInfo
    /// In spec order; only the specs that finished (fewer when interrupted).
    public var results: [SpecResult]
    /// Spec path → the earlier runs it drifted from.
    public var drift: [String: [DriftEntry]]
    public var slowdowns: [Slowdown]
    public var interrupted: Bool
    /// Variations enabled but not applicable on this host, with the reason.
    public var skippedVariations: [String: String] = [:]
    public var failOnSlowdown = false
    public var requireAllVariations = false
    /// Specs never started because `--fail-fast` stopped the run after a failure.
    public var unchecked = 0
}

public struct CheckRunner: Sendable {
    public var options: CheckOptions
    public var host: HostFacts
    public var registry: ChildRegistry

    public init(options: CheckOptions, host: HostFacts = .probe(), registry: ChildRegistry = ChildRegistry()) {
        self.options = options
        self.host = host
        self.registry = registry
    }

    /// Reads every spec's summary first, so a broken spec stops the check before any build.
    public static func summaries(of specs: [String]) throws -> [SpecSummary] {
        try specs.map { try ImageSpec.summary(ofSpecAt: $0) }
    }

    public func run(summaries: [SpecSummary], startedAt: Double, progress: @escaping @Sendable (CheckEvent) -> Void) throws -> CheckReport {
        let database = try ResultsDatabase(path: options.databasePath)
        // Closing checkpoints the WAL, so a finished run leaves the file alone, without -wal or -shm.
        defer { try? database.close() }
        var info = RunInfo(
            startedAt: startedAt, toolVersion: options.toolVersion, gitCommit: options.gitCommit, host: options.host,
            options: options.optionsJSON, runGroup: options.runGroup)
        // What killed runs left behind (their folders, their disorderfs mounts) goes first.
        WorkFolders.removeStale(host: host)
        let workRoot = try WorkFolders.make(kind: "run")
        // The user_group build runs as another uid and must reach its copies in here.
        chmod(workRoot, 0o755)
        let host = self.host
        defer {
            WorkFolders.remove(workRoot, host: host)
            // Every child has been reaped by now: what a stopped or crashed one left is stale.
            WorkFolders.removeStale(host: host)
        }
        let runID = try database.beginRun(info)

        let planner = BuildEnvironmentPlanner(
            host: host, selection: options.selection, builder: options.builder, workRoot: workRoot)
        if !planner.skipped.isEmpty { progress(.skipped(planner.skipped)) }
        let executor = BuildExecutor(host: host, registry: registry, timeoutSeconds: options.timeoutSeconds)
        let slots = BuildSlots(options.jobs)
        let total = options.specs.count
        // Drift is keyed by spec path: two specs may share a name.
        let collected = Mutex<(results: [Int: SpecResult], drift: [String: [DriftEntry]], errors: [any Error])>(([:], [:], []))
        let next = Atomic<Int>(0)
        let failedFast = Atomic<Bool>(false)
        let options = self.options, registry = self.registry

        let worker: @Sendable () -> Void = {
            while !registry.isStopping && !failedFast.load(ordering: .relaxed) {
                let position = next.add(1, ordering: .relaxed).oldValue
                guard position < total else { return }
                let specPath = options.specs[position], summary = summaries[position]
                let several = options.outputs.count > 1
                var checkers = options.outputs.map { output in
                    var checker = SpecChecker(
                        planner: planner, executor: executor, slots: slots,
                        keepArtifacts: several ? options.keepArtifacts.map { "\($0)/\(output)" } : options.keepArtifacts,
                        onBuild: { role in progress(.building(position: position + 1, total: total, spec: summary.name, role: role)) })
                    checker.planner.buildArguments = output.buildArguments
                    checker.executor.format = output.format
                    checker.executor.compression = output.compression
                    return (output, checker)
                }
                var parts: [(output: CheckOutput, result: SpecResult)] = []
                if several {
                    // The pin is judged once the outputs are built, against the output that gave it.
                    var unpinned = summary
                    unpinned.expectDigest = nil
                    for index in checkers.indices where summary.expectDigest != nil {
                        checkers[index].1.planner.buildArguments.append("--ignore-pin")
                    }
                    for (output, checker) in checkers where !registry.isStopping {
                        parts.append((output, checker.check(specPath: specPath, summary: unpinned, slot: "\(position)")))
                    }
                } else {
                    parts = checkers.map { ($0.0, $0.1.check(specPath: specPath, summary: summary, slot: "\(position)")) }
                }
                // A build killed by our own SIGTERM says nothing about the spec: leave it out.
                if registry.isStopping { return }
                do {
                    if several {
                        try OutputResults.judgePin(summary.expectDigest, &parts, database: database)
                    } else {
                        try Self.nameChangedLayers(of: &parts[0].result, database: database)
                    }
                    var drift: [DriftEntry] = []
                    for index in parts.indices {
                        drift += try Self.drift(
                            of: &parts[index].result, database: database, toolVersion: options.toolVersion, runID: runID,
                            output: several ? parts[index].output : nil)
                    }
                    let result = several ? OutputResults.combine(parts) : parts[0].result
                    try database.record(result, runID: runID)
                    collected.withLock { state in
                        state.results[position] = result
                        if !drift.isEmpty { state.drift[result.specPath] = drift }
                    }
                    progress(.finished(position: position + 1, total: total, result: result))
                    if options.failFast && !result.passed { failedFast.store(true, ordering: .relaxed) }
                } catch {
                    collected.withLock { $0.errors.append(error) }
                    registry.stopAll()
                    return
                }
            }
        }
        _ = Parallel.run(Array(repeating: worker, count: max(1, min(options.jobs, total))))

        let state = collected.withLock { $0 }
        let endedAt = Date().timeIntervalSince1970
        if let error = state.errors.first {
            try? database.markInterrupted(runID: runID, endedAt: endedAt)
            throw error
        }
        let results = state.results.sorted { $0.key < $1.key }.map(\.value)
        if registry.isStopping {
            try database.markInterrupted(runID: runID, endedAt: endedAt)
            info.endedAt = endedAt
            info.interrupted = true
            return CheckReport(
                runID: runID, runInfo: info, results: results, drift: state.drift, slowdowns: [], interrupted: true,
                skippedVariations: planner.skipped, failOnSlowdown: options.failOnSlowdown,
                requireAllVariations: options.requireAllVariations)
        }
        let slowdowns = try database.slowdowns().filter { $0.runID == runID }
        var report = CheckReport(
            runID: runID, runInfo: info, results: results, drift: state.drift, slowdowns: slowdowns, interrupted: false,
            skippedVariations: planner.skipped, failOnSlowdown: options.failOnSlowdown,
            requireAllVariations: options.requireAllVariations)
        report.unchecked = total - results.count
        let passed = report.passed
        try database.finishRun(id: runID, outcome: passed ? "passed" : "failed", endedAt: endedAt)
        report.runInfo.endedAt = endedAt
        report.runInfo.outcome = passed ? "passed" : "failed"
        return report
    }

    /// A missed pin names the layers that differ from a recorded build that gave the pinned
    /// digest, when there is one with layers to compare, and how each changed.
    static func nameChangedLayers(of result: inout SpecResult, database: ResultsDatabase) throws {
        guard var mismatch = result.pinMismatch,
            let control = result.builds.first(where: { $0.role == .control }), !control.layers.isEmpty,
            let earlier = try database.layers(ofBuildPinnedAt: mismatch.expected, format: control.format),
            !earlier.isEmpty
        else { return }
        mismatch.layerChanges = LayerChange.between(pinned: earlier, rebuilt: control.layers)
        mismatch.comparedWithEarlierBuild = true
        updatePin(of: &result) { $0 = mismatch }
    }

    /// Changes a missed pin and the `Pin: …` line ``SpecChecker/judgePin(_:_:)`` put first in
    /// the explanation, so both say the same.
    static func updatePin(of result: inout SpecResult, _ change: (inout PinMismatch) -> Void) {
        guard var mismatch = result.pinMismatch else { return }
        let before = "Pin: \(mismatch.summary)."
        change(&mismatch)
        result.pinMismatch = mismatch
        if result.explanation.hasPrefix(before) {
            result.explanation = "Pin: \(mismatch.summary)." + String(result.explanation.dropFirst(before.count))
        }
    }

    /// Earlier runs where the same spec digest and tool version gave another control image.
    /// A spec whose two controls differ, or a negative control (unreproducible by design),
    /// has no stable digest to drift from, so it is exempt.
    static func drift(
        of result: inout SpecResult, database: ResultsDatabase, toolVersion: String, runID: Int64, output: CheckOutput? = nil
    ) throws -> [DriftEntry] {
        guard let control = result.builds.first(where: { $0.role == .control })?.imageDigest,
              result.culpritVerdict != .nondeterministic, result.expectation != .unreproducible
        else { return [] }
        let built = result.builds.first { $0.role == .control }
        let drift = try database.drift(
            for: result.specDigest, toolVersion: toolVersion, imageDigest: control, excludingRun: runID,
            format: built?.format ?? .dockerArchive, compression: built?.compression)
        guard !drift.isEmpty else { return [] }
        result.passed = false
        result.digestDrift = true
        let earlier = drift.map { "run \($0.runID) on \($0.host) gave \($0.imageDigest)" }.joined(separator: "; ")
        result.explanation += "Digest drift\(output.map { " (\($0))" } ?? ""): this run (\(runID)) gave \(control) for spec digest \(result.specDigest) "
            + "with tool version \(toolVersion), but \(earlier).\n"
        return drift
    }
}
