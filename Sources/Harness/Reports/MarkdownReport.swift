import Foundation
import Builder

/// `summary.md`: the HTML report's content in GitHub-flavoured Markdown, for release notes
/// and `$GITHUB_STEP_SUMMARY`.
enum MarkdownReport {
    static let differenceLimit = 20

    static func render(_ data: ReportData) -> String {
        var out = "# repro-check results\n\n"
        out += "**\(data.latest.count) specs**: \(data.passedCount) passed, \(data.failedCount) failed, \(data.buildErrorCount) build errors · \(data.runGroups.count) runs"
        if !data.unfinishedRuns.isEmpty { out += " (\(data.unfinishedRuns.count) unfinished)" }
        out += "\n\n"
        if let run = data.latestRun {
            let label = data.latestGroup.map { "run group \(text($0.name)) (runs \(ReportData.runList($0.runIDs)))" } ?? "run #\(run.id)"
            out += "Latest \(label) started \(ReportFormat.utc(run.info.startedAt)) on \(text(run.info.host)) with repro-check \(text(run.info.toolVersion))"
            if let commit = run.info.gitCommit { out += " (commit \(code(commit)))" }
            out += " — \(ReportData.statusText(run)).\n\n"
        } else {
            out += "The database holds no runs yet.\n\n"
        }
        out += attention(data)
        out += status(data)
        out += explanations(data)
        out += history(data)
        out += runs(data)
        return out
    }

    private static func attention(_ data: ReportData) -> String {
        var out = "## Needs attention\n\n"
        guard data.hasAttention else { return out + "Nothing: every spec met its expectation, no drift, no slowdown, no host disagreement, no unfinished run.\n\n" }
        for stored in data.latest where !stored.result.passed {
            let what = stored.result.outcome == .buildError ? "failed to build" : "did not meet its expectation"
            out += "- ❌ \(inlineCode(data.label(stored.result))) \(what) in run #\(stored.run.id) (expected \(stored.result.expectation.rawValue), got \(stored.result.outcome.rawValue)).\n"
        }
        for history in data.histories {
            for output in history.outputs {
                for change in output.drifts {
                    let run = output.digests[change.index]
                    out += "- ❌ **Digest drift**: \(inlineCode(history.label(output))) built \(inlineCode(ReportFormat.short(change.to))) in run #\(run.runID) after \(inlineCode(ReportFormat.short(change.from))) with the same spec digest and tool version \(text(run.toolVersion)).\n"
                }
            }
        }
        for disagreement in data.disagreements {
            let hosts = disagreement.observations.map { "\(text($0.host)) → \(inlineCode(ReportFormat.short($0.imageDigest)))" }
            out += "- ❌ **Hosts disagree** on \(disagreement.specNames.map(inlineCode).joined(separator: ", "))\(text(data.outputSuffix(disagreement))) (tool \(text(disagreement.toolVersion))): \(hosts.joined(separator: "; ")).\n"
        }
        for slowdown in data.slowdowns {
            out += "- ⚠️ **Slowdown**: \(inlineCode(data.label(path: slowdown.specPath, name: slowdown.specName))) control build took \(ReportFormat.duration(slowdown.wallMilliseconds)) in run #\(slowdown.runID), \(ReportFormat.decimal(slowdown.ratio))× the median \(ReportFormat.duration(slowdown.medianMilliseconds)) of runs \(ReportData.runList(slowdown.comparedRunIDs)).\n"
        }
        for (name, reason) in data.skippedVariations {
            out += "- ⚠️ **Variation skipped**: \(inlineCode(name)) was not applied in the latest results: \(text(reason)).\n"
        }
        for run in data.unfinishedRuns {
            let why = run.status == .interrupted ? "was interrupted" : "never recorded an end (still running, or killed)"
            out += "- ⚠️ **Run #\(run.id)** on \(text(run.info.host)), started \(ReportFormat.utc(run.info.startedAt)), \(why); its results are incomplete.\n"
        }
        return out + "\n"
    }

    private static func status(_ data: ReportData) -> String {
        var out = "## Latest status\n\n"
        guard !data.latest.isEmpty else { return out + "No spec has been checked yet.\n\n" }
        out += "Failing specs first, then by name. Times are UTC.\n\n"
        out += "| Spec | Verdict | Outcome (expected) | Failing since | Last passed | Cause | Run | Host | Control image | Experiment image |\n"
        out += "|---|---|---|---|---|---|---|---|---|---|\n"
        for stored in data.latest {
            let result = stored.result
            let verdict = ReportData.verdict(result)
            let icon = verdict == "pass" ? "✅" : "❌"
            let history = data.history(of: result)
            let runCell = "#\(stored.run.id)" + (stored.run.status == .finished ? "" : " (\(stored.run.status.rawValue))")
            let cause = ReportData.cause(result)
            out += "| \(code(data.label(result))) | \(icon) \(verdict) | \(result.outcome.rawValue) (\(result.expectation.rawValue)) | \(moment(history?.failingSince, none: "—")) | \(moment(history?.lastPassed, none: "never")) | \(cause.isEmpty ? "—" : text(cause)) | \(runCell) | \(text(stored.run.info.host)) | \(images(result, \.control)) | \(images(result, \.experiment)) |\n"
        }
        return out + "\n"
    }

    private static func explanations(_ data: ReportData) -> String {
        let specs = data.needingExplanation
        var out = "## Unreproducible and failing specs\n\n"
        guard !specs.isEmpty else { return out + "Every spec reproduced in its latest run.\n\n" }
        for stored in specs {
            let result = stored.result
            out += "### \(text(data.label(result))) — \(ReportData.verdict(result))\n\n"
            out += "\(text(result.specPath)) · expected \(result.expectation.rawValue), got \(result.outcome.rawValue) in run #\(stored.run.id) · spec \(code(ReportFormat.short(result.specDigest)))\n\n"
            if let history = data.history(of: result), !result.passed {
                out += "Failing since \(moment(history.failingSince, none: "—")); last passed \(moment(history.lastPassed, none: "never")).\n\n"
            }
            if !result.explanation.isEmpty { out += paragraph(result.explanation) + "\n\n" }
            let outputs = OutputBuilds.of(result)
            for builds in outputs {
                // Each output's digests and layers under its name, when the check built several.
                let name = outputs.count > 1 ? inlineCode(builds.output.description) : ""
                if builds.control?.imageDigest != nil || builds.experiment?.imageDigest != nil {
                    out += "\(name.isEmpty ? "" : name + " — ")Control: \(images(builds.control, separator: ", ")) · Experiment: \(images(builds.experiment, separator: ", "))\n\n"
                }
                if let table = LayerTable(control: builds.control, experiment: builds.experiment) {
                    if !name.isEmpty { out += "Layers of \(name):\n\n" }
                    out += layerTable(table)
                }
            }
            if ReportData.isExpectedDifference(result) { continue }
            out += "Rebuild both with the recorded values: \(inlineCode("repro-check replay \(stored.run.id) \(ShellQuote.quote(data.replayKey(result)))"))\n\n"
            if let culprit = result.culprit { out += "Culprit (\(culprit.verdict.rawValue)): \(culprit.variations.map(inlineCode).joined(separator: ", "))\n\n" }
            for build in result.builds where !build.succeeded {
                out += "- \(build.role.rawValue) build exited with status \(build.exitStatus)\(build.error.map { ": " + text($0) } ?? "")\n"
            }
            if result.builds.contains(where: { !$0.succeeded }) { out += "\n" }
            if !result.differences.isEmpty {
                out += "| Layer | Path | Field | Control | Experiment |\n|---|---|---|---|---|\n"
                let shown = result.differences.prefix(differenceLimit)
                for difference in shown {
                    let cells = difference.cells
                    out += "| \(text(difference.place)) | \(code(difference.path ?? "")) | \(text(cells.field)) | \(code(cells.control)) | \(code(cells.experiment)) |\n"
                }
                for difference in shown where !difference.diffLines.isEmpty {
                    out += "\n\(inlineCode(difference.path ?? "")):\n\n" + fenced(difference.diffLines)
                }
                if result.differences.count > differenceLimit {
                    out += "\n… and \(result.differences.count - differenceLimit) more differences (see the JSON summary).\n"
                }
                out += "\n"
            }
        }
        return out
    }

    private static func history(_ data: ReportData) -> String {
        var out = "## History per spec\n\n"
        guard !data.histories.isEmpty else { return out + "No history yet.\n\n" }
        out += "Wall times show the last \(ReportData.recentLimit) runs.\n\n"
        out += "| Spec | Runs | Distinct control images | Digest changes | Control wall time (oldest → newest) | Latest |\n"
        out += "|---|---|---|---|---|---|\n"
        // A row per output; the wall time (of each run's first control build) is the spec's.
        for history in data.histories {
            for output in history.outputs {
                let distinct = Set(output.digests.compactMap(\.controlDigest)).count
                let drifts = output.drifts.count
                let hosts = output.changes.filter { $0.kind == .hostChanged }.count
                let inputs = output.changes.count - drifts - hosts
                var changes = output.changes.isEmpty ? "none" : "\(drifts) drift, \(hosts) other host, \(inputs) input changes"
                if drifts > 0 { changes = "❌ " + changes }
                let walls = history.controlTimes.map(\.wallMilliseconds)
                var latest = walls.last.map { ReportFormat.duration($0) } ?? "—"
                if let slowdown = history.slowdown { latest += " ⚠️ \(ReportFormat.decimal(slowdown.ratio))× median" }
                out += "| \(code(history.label(output))) | \(output.digests.count) | \(distinct) | \(changes) | \(sparkline(walls)) | \(latest) |\n"
            }
        }
        out += "\n"
        for history in data.histories {
            for output in history.outputs where !output.changes.isEmpty {
                out += "**\(text(history.label(output)))** control image changes:\n\n"
                for change in output.changes {
                    let entry = output.digests[change.index]
                    out += "- run #\(entry.runID) (\(ReportFormat.utc(entry.startedAt)), \(text(entry.host))): \(inlineCode(ReportFormat.short(change.from))) → \(inlineCode(ReportFormat.short(change.to))) — \(change.kind.rawValue)\n"
                }
                out += "\n"
            }
        }
        if !data.disagreements.isEmpty {
            out += "## Cross-host disagreements\n\n| Spec | Spec digest | Tool | Host | Control image | Runs |\n|---|---|---|---|---|---|\n"
            for disagreement in data.disagreements {
                for observation in disagreement.observations {
                    out += "| \(disagreement.specNames.map(code).joined(separator: ", "))\(text(data.outputSuffix(disagreement))) | \(code(ReportFormat.short(disagreement.specDigest))) | \(text(disagreement.toolVersion)) | \(text(observation.host)) | \(digest(observation.imageDigest)) | \(ReportData.runList(observation.runIDs)) |\n"
                }
            }
            out += "\n"
        }
        return out
    }

    private static func runs(_ data: ReportData) -> String {
        var out = "## Runs\n\n"
        guard !data.runs.isEmpty else { return out + "No runs recorded.\n" }
        let (shown, older) = data.recentRuns
        out += "| # | Group | Started (UTC) | Ended (UTC) | Host | Tool | Commit | Status | Outcome |\n|---|---|---|---|---|---|---|---|---|\n"
        for run in shown {
            let status = run.status == .finished ? "finished" : "⚠️ \(ReportData.statusText(run))"
            out += "| \(run.id) | \(text(run.info.runGroup ?? "—")) | \(ReportFormat.utc(run.info.startedAt)) | \(run.info.endedAt.map { ReportFormat.utc($0) } ?? "—") | \(text(run.info.host)) | \(text(run.info.toolVersion)) | \(run.info.gitCommit.map { code(String($0.prefix(12))) } ?? "—") | \(status) | \(text(run.info.outcome ?? "—")) |\n"
        }
        if let summary = ReportData.olderRunsSummary(older) { out += "\n\(summary).\n" }
        return out
    }

    // MARK: Escaping

    /// Plain text safe in a paragraph or a table cell: Markdown punctuation and HTML are
    /// backslash-escaped, newlines become spaces (a newline ends a table row).
    static func text(_ value: String) -> String {
        var out = ""
        for character in value {
            switch character {
            case "\n", "\r", "\r\n": out += " "
            case "\\", "`", "*", "_", "[", "]", "<", ">", "|", "#", "~", "!", "&":
                out += "\\\(character)"
            default: out.append(character)
            }
        }
        return out
    }

    /// A code span for a table cell: `|` is escaped because GFM tables split on it even
    /// inside code (the table parser removes the backslash again).
    static func code(_ value: String) -> String {
        inlineCode(value.replacingOccurrences(of: "|", with: "\\|"))
    }

    /// A code span outside tables, fenced with one more backtick than the longest run inside
    /// (CommonMark's rule).
    static func inlineCode(_ value: String) -> String {
        guard !value.isEmpty else { return "" }
        let body = value.replacingOccurrences(of: "\r\n", with: " ")
            .replacingOccurrences(of: "\n", with: " ")
        var longest = 0
        var run = 0
        for character in body {
            run = character == "`" ? run + 1 : 0
            longest = max(longest, run)
        }
        let fence = String(repeating: "`", count: longest + 1)
        let padded = longest > 0 ? " \(body) " : body
        return fence + padded + fence
    }

    /// A multi-line paragraph kept as lines (hard breaks), each escaped.
    static func paragraph(_ value: String) -> String {
        value.split(separator: "\n", omittingEmptySubsequences: false).map { text(String($0)) }.joined(separator: "  \n")
    }

    /// `2023-11-26 14:13:20Z (run #8)`.
    private static func moment(_ entry: VerdictHistoryEntry?, none: String) -> String {
        entry.map { "\(ReportFormat.utc($0.startedAt)) (run #\($0.runID))" } ?? none
    }

    /// One role's image digests for each output of a result, each under its output's name
    /// when the check built several.
    private static func images(_ result: SpecResult, _ role: KeyPath<OutputBuilds, BuildResult?>) -> String {
        let outputs = OutputBuilds.of(result)
        guard outputs.count > 1 else { return images(outputs.first?[keyPath: role]) }
        return outputs.map { "**\(text($0.output.description))**<br>\(images($0[keyPath: role]))" }.joined(separator: "<br>")
    }

    /// A build's archive digest, image ID (config digest) and manifest digest, labelled.
    private static func images(_ build: BuildResult?, separator: String = "<br>") -> String {
        guard let build, build.imageDigest != nil else { return "—" }
        return "archive \(digest(build.imageDigest))\(separator)image ID \(digest(build.configDigest))\(separator)manifest \(digest(build.manifestDigest))"
    }

    /// The control's layer blobs (what a push stores), and the experiment's where it differs.
    private static func layerTable(_ table: LayerTable) -> String {
        var out = "| Layer | diff_id | Compressed digest | Size | Compression | Experiment |\n|---|---|---|---|---|---|\n"
        for row in table.rows {
            out += "| \(row.index) | \(digest(row.diffID)) | \(digest(row.blob.digest)) | \(row.blob.size) | "
                + "\(text(LayerTable.compression(row.blob))) | \(row.experimentBlob.map { digest($0.digest) } ?? "same") |\n"
        }
        return out + "\n"
    }

    private static func digest(_ digest: Digest?) -> String {
        digest.map { code(ReportFormat.short($0)) } ?? "—"
    }

    /// A Unicode sparkline: the trend at a glance where Markdown cannot embed SVG.
    static func sparkline(_ values: [Int]) -> String {
        guard let low = values.min(), let high = values.max() else { return "—" }
        let bars = Array("▁▂▃▄▅▆▇█")
        return String(values.suffix(30).map { value in
            high == low ? bars[3] : bars[(value - low) * (bars.count - 1) / (high - low)]
        })
    }
}
