import Builder

/// A point in a spec's history where the control image digest changed.
struct DigestChange: Equatable {
    enum Kind: String {
        /// Same spec digest and tool version, different image: a reproducibility regression.
        case drift
        /// Same inputs, but built on another host than the previous run: a cross-host
        /// disagreement, reported as such rather than as drift.
        case hostChanged = "other host"
        /// The spec or the tool changed, so a new image is expected.
        case inputChanged = "input changed"
    }

    /// Index into `SpecHistory.digests` of the first entry with the new digest.
    var index: Int
    var from: Digest
    var to: Digest
    var kind: Kind
}

/// One output's image digests over a spec's runs (a column per run that checked the spec,
/// empty where the run did not build this output), and where its control digest changed.
/// Builds are compared only with builds of the same output, so each output has its own
/// changes: an output built for the first time is no change.
struct OutputHistory {
    var output: CheckOutput
    var digests: [DigestHistoryEntry]
    var changes: [DigestChange]

    var drifts: [DigestChange] { changes.filter { $0.kind == .drift } }
}

/// Everything the reports show about one spec over time.
struct SpecHistory {
    var specName: String
    /// The key: two specs may share a name, and each has its own history.
    var specPath: String
    /// The name, or the name and path when another spec has the same name.
    var label: String
    /// One per output the spec was ever built as, in the order `check` builds them.
    var outputs: [OutputHistory]
    var controlTimes: [BuildTimeEntry]
    var slowdown: Slowdown?
    /// The last run in which the spec met its expectation.
    var lastPassed: VerdictHistoryEntry?
    /// When the latest run failed: the first run of that unbroken streak of failures.
    var failingSince: VerdictHistoryEntry?
    /// Runs left out of the digests and `controlTimes` by ``recent(_:)``, summarised instead.
    var olderRuns = 0

    var hasDrift: Bool { outputs.contains { !$0.drifts.isEmpty } }

    /// Runs that checked the spec (every output has a column for each).
    var runCount: Int { outputs.first?.digests.count ?? 0 }

    /// What the reports call one output's history: the spec's label alone when it has one
    /// output (as before outputs existed), else followed by the output, `hello (oci-archive+zstd)`.
    func label(_ output: OutputHistory) -> String {
        outputs.count > 1 ? "\(label) (\(output.output))" : label
    }

    /// The last `limit` runs in full; the charts draw only these, so a long history stays
    /// readable. Changes before the window are dropped (they are counted in the summary line).
    func recent(_ limit: Int) -> SpecHistory {
        guard runCount > limit || controlTimes.count > limit else { return self }
        var window = self
        let dropped = max(0, runCount - limit)
        window.outputs = outputs.map { output in
            var output = output
            output.digests = Array(output.digests.suffix(limit))
            output.changes = output.changes.filter { $0.index >= dropped }.map { change in
                var change = change
                change.index -= dropped
                return change
            }
            return output
        }
        window.controlTimes = Array(controlTimes.suffix(limit))
        window.olderRuns = dropped
        return window
    }

    static func verdicts(_ history: [VerdictHistoryEntry]) -> (lastPassed: VerdictHistoryEntry?, failingSince: VerdictHistoryEntry?) {
        let lastPassed = history.last(where: \.passed)
        let streak = history.reversed().prefix { !$0.passed }
        return (lastPassed, streak.last)
    }
}

/// One output of a spec's result: its control and experiment builds.
struct OutputBuilds {
    var output: CheckOutput
    var control: BuildResult?
    var experiment: BuildResult?

    /// The outputs of a result in the order `check` builds them, each with its first control
    /// and experiment build; none when the result has no build.
    static func of(_ result: SpecResult) -> [OutputBuilds] {
        let builds = result.builds.filter { $0.role == .control || $0.role == .experiment }
        return Set(builds.map(CheckOutput.init(of:))).sorted(by: CheckOutput.checkOrder).map { output in
            let mine = builds.filter { CheckOutput(of: $0) == output }
            return OutputBuilds(
                output: output, control: mine.first { $0.role == .control }, experiment: mine.first { $0.role == .experiment })
        }
    }
}

/// All report content, read from the database once and sorted explicitly, so the renderers
/// are pure functions of this value.
struct ReportData {
    var runs: [StoredRun]
    var latest: [StoredSpecResult]
    var histories: [SpecHistory]
    var slowdowns: [Slowdown]
    var disagreements: [HostDisagreement]
    /// Spec path → display label; see ``labels(_:)``.
    var labels: [String: String] = [:]

    static func load(from database: ResultsDatabase) throws -> ReportData {
        let slowdowns = try database.slowdowns().sorted { ($0.specName, $0.specPath) < ($1.specName, $1.specPath) }
        let latest = try database.latestResults()
        let negativeControls = Set(latest.filter { $0.result.expectation == .unreproducible }.map(\.result.specPath))
        let specs = try database.specs()
        let labels = labels(specs.map { (name: $0.name, path: $0.path) } + latest.map { (name: $0.result.specName, path: $0.result.specPath) })
        let histories = try specs.map { spec in
            let outputs = try database.outputDigestHistories(specPath: spec.path).map { history in
                // A negative control is unreproducible by design: its digest changes are no drift.
                let changes = changes(in: history.entries).filter { !negativeControls.contains(spec.path) || $0.kind != .drift }
                return OutputHistory(output: history.output, digests: history.entries, changes: changes)
            }
            return SpecHistory(
                specName: spec.name, specPath: spec.path, label: labels[spec.path] ?? spec.name, outputs: outputs,
                controlTimes: firstPerRun(try database.buildTimes(specPath: spec.path, role: .control).filter(\.succeeded)),
                slowdown: slowdowns.first { $0.specPath == spec.path })
        }
        return try ReportData(
            runs: try database.runs(),
            latest: latest,
            histories: histories, slowdowns: slowdowns, disagreements: try database.crossHostDisagreements(),
            labels: labels
        ).withVerdicts(from: database)
    }

    /// One control build per run, the first recorded (that of the first output), as the
    /// slowdown check counts it: a run that built several outputs is one point of the trend.
    static func firstPerRun(_ times: [BuildTimeEntry]) -> [BuildTimeEntry] {
        var seen = Set<Int64>()
        return times.filter { seen.insert($0.runID).inserted }
    }

    /// Spec path → what the reports call it: the name when it is unique, else the name and
    /// the path, so two specs named `app` never read as one.
    static func labels(_ specs: [(name: String, path: String)]) -> [String: String] {
        var pathsByName: [String: Set<String>] = [:]
        for spec in specs { pathsByName[spec.name, default: []].insert(spec.path) }
        var labels: [String: String] = [:]
        for spec in specs {
            labels[spec.path] = (pathsByName[spec.name]?.count ?? 0) > 1 ? "\(spec.name) (\(spec.path))" : spec.name
        }
        return labels
    }

    /// What the reports call the spec at `path` (its recorded name when unknown).
    func label(path: String, name: String) -> String { labels[path] ?? name }

    func label(_ result: SpecResult) -> String { label(path: result.specPath, name: result.specName) }

    /// What `replay` is given: the name when it is unique, else the path.
    func replayKey(_ result: SpecResult) -> String {
        label(result) == result.specName ? result.specName : result.specPath
    }

    /// Failing specs first in every section, and each history told when its spec last passed
    /// and since when it fails. A spec whose two control builds differ has no stable digest,
    /// so, as the check does, its digest changes are not called drift.
    func withVerdicts(from database: ResultsDatabase) throws -> ReportData {
        var data = self
        data.latest.sort(by: Self.precedes)
        let rank = Dictionary(data.latest.enumerated().map { ($0.element.result.specPath, $0.offset) }, uniquingKeysWith: min)
        let nondeterministic = Set(
            data.latest.filter { $0.result.culpritVerdict == .nondeterministic }.map(\.result.specPath))
        data.histories.sort {
            (rank[$0.specPath] ?? .max, $0.specName, $0.specPath) < (rank[$1.specPath] ?? .max, $1.specName, $1.specPath)
        }
        for index in data.histories.indices {
            let path = data.histories[index].specPath
            let verdicts = SpecHistory.verdicts(try database.verdictHistory(specPath: path))
            data.histories[index].lastPassed = verdicts.lastPassed
            data.histories[index].failingSince = verdicts.failingSince
            if nondeterministic.contains(path) {
                for output in data.histories[index].outputs.indices {
                    data.histories[index].outputs[output].changes.removeAll { $0.kind == .drift }
                }
            }
        }
        return data
    }

    /// Runs shown in full; older ones are summarised, so a long history stays readable.
    static let recentLimit = 30

    /// Failures first (build errors included), then by name ignoring case; the exact name
    /// breaks ties so the order never depends on the database's.
    static func precedes(_ a: StoredSpecResult, _ b: StoredSpecResult) -> Bool {
        let left = (a.result.passed ? 1 : 0, a.result.specName.lowercased(), a.result.specName, a.result.specPath)
        let right = (b.result.passed ? 1 : 0, b.result.specName.lowercased(), b.result.specName, b.result.specPath)
        return left < right
    }

    func history(of result: SpecResult) -> SpecHistory? { histories.first { $0.specPath == result.specPath } }

    /// Why a spec is where it is, in one phrase: the culprit and first difference, the build
    /// error, drift, or why a negative control passed or failed.
    static func cause(_ result: SpecResult) -> String {
        if result.outcome == .buildError {
            let error = result.builds.compactMap(\.error).first ?? result.explanation
            return error.split(separator: "\n").first.map(String.init) ?? "a build failed"
        }
        if isExpectedDifference(result) { return "differs as this negative control expects" }
        if result.expectation == .unreproducible && result.outcome == .reproducible {
            return "reproducible, but this negative control expects a difference"
        }
        var parts: [String] = []
        if result.digestDrift { parts.append("digest drift from an earlier run") }
        if let culprit = result.culprit { parts.append("culprit: \(culprit.summary)") }
        if let first = result.primaryDifference { parts.append("first difference: \(first.summaryWithOutput)") }
        return parts.joined(separator: "; ")
    }

    /// Control-digest changes between consecutive runs that both produced an image.
    static func changes(in history: [DigestHistoryEntry]) -> [DigestChange] {
        var changes: [DigestChange] = []
        var previous: (entry: DigestHistoryEntry, digest: Digest)?
        for (index, entry) in history.enumerated() {
            guard let digest = entry.controlDigest else { continue }
            if let previous, previous.digest != digest {
                let sameInputs = previous.entry.specDigest == entry.specDigest
                    && previous.entry.toolVersion == entry.toolVersion
                let kind: DigestChange.Kind =
                    !sameInputs ? .inputChanged : previous.entry.host == entry.host ? .drift : .hostChanged
                changes.append(DigestChange(index: index, from: previous.digest, to: digest, kind: kind))
            }
            previous = (entry, digest)
        }
        return changes
    }

    /// After what a cross-host disagreement is about: its output, ` (oci-archive+zstd)`, when
    /// the database holds builds of several outputs (else nothing, as before outputs existed).
    func outputSuffix(_ disagreement: HostDisagreement) -> String {
        let several = histories.contains { $0.outputs.count > 1 } || Set(disagreements.map(\.output)).count > 1
        return several ? " (\(disagreement.output))" : ""
    }

    var unfinishedRuns: [StoredRun] { runs.filter { $0.status != .finished } }

    /// The runs shown in full (newest first) and the older ones summarised.
    var recentRuns: (shown: [StoredRun], older: [StoredRun]) {
        let newestFirst = Array(runs.reversed())
        return (Array(newestFirst.prefix(Self.recentLimit)), Array(newestFirst.dropFirst(Self.recentLimit)))
    }

    /// `12 older runs, 2023-11-14 to 2023-12-02: 11 finished, 1 interrupted`.
    static func olderRunsSummary(_ older: [StoredRun]) -> String? {
        guard let oldest = older.last, let newest = older.first else { return nil }
        var counts: [RunStatus: Int] = [:]
        for run in older { counts[run.status, default: 0] += 1 }
        let parts = [RunStatus.finished, .interrupted, .incomplete].compactMap { status in
            counts[status].map { "\($0) \(status.rawValue)" }
        }
        let failed = older.filter { $0.info.outcome == "failed" }.count
        return "\(older.count) older run\(older.count == 1 ? "" : "s"), \(ReportFormat.date(oldest.info.startedAt)) to "
            + "\(ReportFormat.date(newest.info.startedAt)): \(parts.joined(separator: ", ")); \(failed) failed"
    }
    var latestRun: StoredRun? { runs.last }

    /// Runs by group, oldest first: the shards of one CI run are one run; a run without a
    /// group is a group of its own.
    var runGroups: [[StoredRun]] {
        var groups: [[StoredRun]] = []
        var index: [String: Int] = [:]
        for run in runs {
            guard let group = run.info.runGroup else {
                groups.append([run])
                continue
            }
            if let at = index[group] { groups[at].append(run) } else {
                index[group] = groups.count
                groups.append([run])
            }
        }
        return groups
    }

    /// The group of the latest run when it has several runs (the shards of one CI run).
    var latestGroup: (name: String, runIDs: [Int64])? {
        guard let group = latestRun?.info.runGroup,
              let shards = runGroups.first(where: { $0.first?.info.runGroup == group }), shards.count > 1
        else { return nil }
        return (group, shards.map(\.id))
    }

    /// Variations the latest results could not apply, with the reason (from their experiment builds).
    var skippedVariations: [(name: String, reason: String)] {
        var reasons: [String: String] = [:]
        for stored in latest {
            for build in stored.result.builds where build.role == .experiment {
                for (name, reason) in build.variationsSkipped where reasons[name] == nil { reasons[name] = reason }
            }
        }
        return reasons.sorted { $0.key < $1.key }.map { ($0.key, $0.value) }
    }

    /// A negative control that came out unreproducible: its differences are expected, so the
    /// reports give it one line instead of a table.
    static func isExpectedDifference(_ result: SpecResult) -> Bool {
        result.passed && result.expectation == .unreproducible && result.outcome == .unreproducible
    }

    /// Latest results that did not meet their expectation or did not reproduce, worth explaining.
    var needingExplanation: [StoredSpecResult] {
        latest.filter { !$0.result.passed || $0.result.outcome != .reproducible }
    }

    var passedCount: Int { latest.filter(\.result.passed).count }
    var failedCount: Int { latest.filter { !$0.result.passed && !$0.result.outcome.isError }.count }
    /// Builds that failed or ran out of time: no verdict on reproducibility.
    var buildErrorCount: Int { latest.filter { $0.result.outcome.isError }.count }

    var hasAttention: Bool {
        !slowdowns.isEmpty || !disagreements.isEmpty || !unfinishedRuns.isEmpty || !skippedVariations.isEmpty
            || histories.contains(where: \.hasDrift) || failedCount + buildErrorCount > 0
    }

    static func verdict(_ result: SpecResult) -> String {
        if result.outcome.isError { return "error" }
        return result.passed ? "pass" : "fail"
    }

    static func statusText(_ run: StoredRun) -> String {
        switch run.status {
        case .finished: return "finished"
        case .interrupted: return "interrupted"
        case .incomplete: return "incomplete (no end recorded)"
        }
    }

    /// The runs the slowdown compares against, as `#3, #4, #5`.
    static func runList(_ ids: [Int64]) -> String {
        ids.map { "#\($0)" }.joined(separator: ", ")
    }
}
