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

/// Everything the reports show about one spec over time.
struct SpecHistory {
    var specName: String
    var digests: [DigestHistoryEntry]
    var controlTimes: [BuildTimeEntry]
    var changes: [DigestChange]
    var slowdown: Slowdown?

    var drifts: [DigestChange] { changes.filter { $0.kind == .drift } }
}

/// All report content, read from the database once and sorted explicitly, so the renderers
/// are pure functions of this value.
struct ReportData {
    var runs: [StoredRun]
    var latest: [StoredSpecResult]
    var histories: [SpecHistory]
    var slowdowns: [Slowdown]
    var disagreements: [HostDisagreement]

    static func load(from database: ResultsDatabase) throws -> ReportData {
        let slowdowns = try database.slowdowns().sorted { ($0.specName, $0.specPath) < ($1.specName, $1.specPath) }
        let latest = try database.latestResults()
        let negativeControls = Set(latest.filter { $0.result.expectation == .unreproducible }.map(\.result.specPath))
        let histories = try database.specs().map { spec in
            let digests = try database.digestHistory(specPath: spec.path)
            // A negative control is unreproducible by design: its digest changes are no drift.
            let changes = changes(in: digests).filter { !negativeControls.contains(spec.path) || $0.kind != .drift }
            return SpecHistory(
                specName: spec.name, digests: digests,
                controlTimes: try database.buildTimes(specPath: spec.path, role: .control).filter(\.succeeded),
                changes: changes, slowdown: slowdowns.first { $0.specPath == spec.path })
        }
        return ReportData(
            runs: try database.runs(),
            latest: latest,
            histories: histories, slowdowns: slowdowns, disagreements: try database.crossHostDisagreements())
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

    var unfinishedRuns: [StoredRun] { runs.filter { $0.status != .finished } }
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
            || histories.contains { !$0.drifts.isEmpty } || failedCount + buildErrorCount > 0
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
