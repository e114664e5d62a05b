import Builder

/// The self-contained `index.html`: inline CSS and SVG, no scripts, no external resources.
enum HTMLReport {
    /// Differences shown per spec before the rest is summarised as a count.
    static let differenceLimit = 50

    static func render(_ data: ReportData) -> String {
        var page = """
            <!DOCTYPE html>
            <html lang="en">
            <head>
            <meta charset="utf-8">
            <meta name="viewport" content="width=device-width, initial-scale=1">
            <title>repro-check results</title>
            <style>\(style)</style>
            </head>
            <body>

            """
        page += header(data)
        page += attention(data)
        page += status(data)
        page += explanations(data)
        page += history(data)
        page += crossHost(data)
        page += runs(data)
        page += "</body>\n</html>\n"
        return page
    }

    private static func e(_ text: String) -> String { ReportFormat.html(text) }

    private static func header(_ data: ReportData) -> String {
        var out = "<header><h1>repro-check results</h1>"
        if let run = data.latestRun {
            let label = data.latestGroup.map { "run group \(e($0.name)) (runs \(ReportData.runList($0.runIDs)))" } ?? "run #\(run.id)"
            out += "<p class=\"meta\">Latest \(label) started \(e(ReportFormat.utc(run.info.startedAt))) on <b>\(e(run.info.host))</b> with repro-check \(e(run.info.toolVersion))"
            if let commit = run.info.gitCommit { out += " (commit <code>\(e(commit))</code>)" }
            out += " — \(e(ReportData.statusText(run)))</p>"
        } else {
            out += "<p class=\"meta\">The database holds no runs yet.</p>"
        }
        out += "<div class=\"tiles\">"
        out += tile("specs", data.latest.count, "neutral")
        out += tile("passed", data.passedCount, "pass")
        out += tile("failed", data.failedCount, data.failedCount > 0 ? "fail" : "neutral")
        out += tile("build errors", data.buildErrorCount, data.buildErrorCount > 0 ? "error" : "neutral")
        out += tile("runs", data.runGroups.count, "neutral")
        out += tile("unfinished runs", data.unfinishedRuns.count, data.unfinishedRuns.isEmpty ? "neutral" : "warn")
        return out + "</div></header>\n"
    }

    private static func tile(_ label: String, _ value: Int, _ kind: String) -> String {
        "<div class=\"tile \(kind)\"><span class=\"n\">\(value)</span><span class=\"l\">\(e(label))</span></div>"
    }

    private static func attention(_ data: ReportData) -> String {
        guard data.hasAttention else {
            return "<section id=\"attention\"><h2>Needs attention</h2><p class=\"ok\">Nothing: every spec met its expectation, no drift, no slowdown, no host disagreement, no unfinished run.</p></section>\n"
        }
        var items: [String] = []
        for stored in data.latest where !stored.result.passed {
            let what = stored.result.outcome == .buildError ? "failed to build" : "did not meet its expectation"
            items.append("<li class=\"fail\"><a href=\"#spec-\(anchor(data.label(stored.result)))\">\(e(data.label(stored.result)))</a> \(what) in run #\(stored.run.id) (expected \(e(stored.result.expectation.rawValue)), got \(e(stored.result.outcome.rawValue))).</li>")
        }
        for history in data.histories {
            for output in history.outputs {
                for change in output.drifts {
                    let run = output.digests[change.index]
                    items.append("<li class=\"fail\"><b>Digest drift</b>: \(e(history.label(output))) built <code>\(e(ReportFormat.short(change.to)))</code> in run #\(run.runID) after <code>\(e(ReportFormat.short(change.from)))</code> with the same spec digest and tool version \(e(run.toolVersion)).</li>")
                }
            }
        }
        for disagreement in data.disagreements {
            let hosts = disagreement.observations.map { "\(e($0.host)) → <code>\(e(ReportFormat.short($0.imageDigest)))</code>" }
            items.append("<li class=\"fail\"><b>Hosts disagree</b> on \(e(disagreement.specNames.joined(separator: ", ") + data.outputSuffix(disagreement))) (tool \(e(disagreement.toolVersion))): \(hosts.joined(separator: "; ")).</li>")
        }
        for slowdown in data.slowdowns {
            items.append("<li class=\"warn\"><b>Slowdown</b>: \(e(data.label(path: slowdown.specPath, name: slowdown.specName))) control build took \(ReportFormat.duration(slowdown.wallMilliseconds)) in run #\(slowdown.runID), \(ReportFormat.decimal(slowdown.ratio))× the median \(ReportFormat.duration(slowdown.medianMilliseconds)) of runs \(ReportData.runList(slowdown.comparedRunIDs)).</li>")
        }
        for (name, reason) in data.skippedVariations {
            items.append("<li class=\"warn\"><b>Variation skipped</b>: <code>\(e(name))</code> was not applied in the latest results: \(e(reason)).</li>")
        }
        for run in data.unfinishedRuns {
            let why = run.status == .interrupted ? "was interrupted" : "never recorded an end (still running, or killed)"
            items.append("<li class=\"warn\"><b>Run #\(run.id)</b> on \(e(run.info.host)), started \(e(ReportFormat.utc(run.info.startedAt))), \(why); its results are incomplete.</li>")
        }
        return "<section id=\"attention\"><h2>Needs attention</h2><ul class=\"flags\">\(items.joined(separator: "\n"))</ul></section>\n"
    }

    private static func status(_ data: ReportData) -> String {
        var out = "<section id=\"status\"><h2>Latest status</h2>"
        guard !data.latest.isEmpty else { return out + "<p>No spec has been checked yet.</p></section>\n" }
        out += "<p class=\"muted\">Failing specs first, then by name. Times are UTC.</p>"
        out += "<table><thead><tr><th>Spec</th><th>Verdict</th><th>Failing since</th><th>Last passed</th><th>Cause</th><th>Run</th><th>Control image</th><th>Experiment image</th></tr></thead><tbody>"
        for stored in data.latest {
            let result = stored.result
            let verdict = ReportData.verdict(result)
            let history = data.history(of: result)
            out += "<tr class=\"\(verdict)\"><td><a href=\"#history-\(anchor(data.label(result)))\">\(e(data.label(result)))</a></td>"
            out += cell("Verdict", "<span class=\"badge \(verdict)\">\(verdict)</span><br><span class=\"when\">\(e(result.outcome.rawValue))</span><br><span class=\"muted when\">expected \(e(result.expectation.rawValue))</span>")
            out += cell("Failing since", moment(history?.failingSince, none: "—"))
            out += cell("Last passed", moment(history?.lastPassed, none: "never"))
            let cause = ReportData.cause(result)
            out += cell("Cause", cause.isEmpty ? "<span class=\"muted\">—</span>" : e(cause))
            out += cell("Run", "#\(stored.run.id) on \(e(stored.run.info.host))\(stored.run.status == .finished ? "" : " <span class=\"badge warn\">\(e(stored.run.status.rawValue))</span>")")
            out += cell("Control image", images(result, \.control))
            out += cell("Experiment image", images(result, \.experiment)) + "</tr>"
        }
        return out + "</tbody></table></section>\n"
    }

    /// A table cell that keeps its column name, shown above the value where the table
    /// collapses into cards on a narrow screen.
    private static func cell(_ label: String, _ html: String, _ attributes: String = "") -> String {
        "<td data-label=\"\(e(label))\"\(attributes)>\(html)</td>"
    }

    /// `2023-11-26 14:13:20Z` over `run #8`.
    private static func moment(_ entry: VerdictHistoryEntry?, none: String) -> String {
        guard let entry else { return "<span class=\"muted\">\(e(none))</span>" }
        // Day and time may go on two lines, but neither breaks inside.
        let parts = ReportFormat.utc(entry.startedAt).split(separator: " ").map { "<span class=\"when\">\(e(String($0)))</span>" }
        return parts.joined(separator: " ") + "<br><span class=\"muted\">run #\(entry.runID)</span>"
    }

    private static func digestCell(_ digest: Digest?) -> String {
        guard let digest else { return "<span class=\"muted\">—</span>" }
        return "<code title=\"\(e(digest.description))\"><span class=\"swatch\" style=\"background:\(ReportFormat.color(digest))\"></span>\(e(ReportFormat.short(digest)))</code>"
    }

    /// One role's digests for each output of a result, each under its output's name when the
    /// check built several.
    private static func images(_ result: SpecResult, _ role: KeyPath<OutputBuilds, BuildResult?>) -> String {
        let outputs = OutputBuilds.of(result)
        guard outputs.count > 1 else { return images(outputs.first?[keyPath: role]) }
        return outputs.map { "<p class=\"output\">\(e($0.output.description))</p>" + images($0[keyPath: role]) }.joined()
    }

    /// The three digests of a build, labelled: the archive as streamed, the image ID (config
    /// digest) and the manifest digest.
    private static func images(_ build: BuildResult?) -> String {
        guard let build, build.imageDigest != nil else { return "<span class=\"muted\">—</span>" }
        let rows: [(String, Digest?)] = [
            ("archive", build.imageDigest), ("image ID", build.configDigest), ("manifest", build.manifestDigest),
        ]
        return "<dl class=\"digests\">" + rows.map { "<dt>\($0.0)</dt><dd>\(digestCell($0.1))</dd>" }.joined() + "</dl>"
    }

    /// The control's layer blobs (what a push stores), and the experiment's where it differs.
    private static func layerTable(_ table: LayerTable) -> String {
        var out = "<table class=\"layers\"><thead><tr><th>Layer</th><th>diff_id</th><th>Compressed digest</th><th>Size</th><th>Compression</th><th>Experiment</th></tr></thead><tbody>"
        for row in table.rows {
            out += "<tr>" + cell("Layer", "\(row.index)") + cell("diff_id", digestCell(row.diffID))
            out += cell("Compressed digest", digestCell(row.blob.digest)) + cell("Size", "\(row.blob.size)")
            out += cell("Compression", e(LayerTable.compression(row.blob)))
            out += cell("Experiment", row.experimentBlob.map { digestCell($0.digest) } ?? "<span class=\"muted\">same</span>") + "</tr>"
        }
        return out + "</tbody></table>"
    }

    private static func explanations(_ data: ReportData) -> String {
        let specs = data.needingExplanation
        var out = "<section id=\"explanations\"><h2>Unreproducible and failing specs</h2>"
        guard !specs.isEmpty else { return out + "<p class=\"ok\">Every spec reproduced in its latest run.</p></section>\n" }
        for stored in specs {
            let result = stored.result
            let verdict = ReportData.verdict(result)
            out += "<article class=\"spec \(verdict)\" id=\"spec-\(anchor(data.label(result)))\"><h3>\(e(data.label(result))) <span class=\"badge \(verdict)\">\(verdict)</span></h3>"
            out += "<p class=\"meta\">\(e(result.specPath)) · expected \(e(result.expectation.rawValue)), got \(e(result.outcome.rawValue)) in run #\(stored.run.id) · spec <code>\(e(ReportFormat.short(result.specDigest)))</code></p>"
            if let history = data.history(of: result), !result.passed {
                out += "<p>Failing since \(plainMoment(history.failingSince, none: "—")); last passed \(plainMoment(history.lastPassed, none: "never")).</p>"
            }
            if !result.explanation.isEmpty { out += "<p class=\"explanation\">\(e(result.explanation))</p>" }
            let outputs = OutputBuilds.of(result)
            for builds in outputs {
                if outputs.count > 1 { out += "<h4 class=\"output\">\(e(builds.output.description))</h4>" }
                if builds.control?.imageDigest != nil || builds.experiment?.imageDigest != nil {
                    out += "<div class=\"pair\"><div><h4>Control</h4>\(images(builds.control))</div><div><h4>Experiment</h4>\(images(builds.experiment))</div></div>"
                }
                if let table = LayerTable(control: builds.control, experiment: builds.experiment) { out += layerTable(table) }
            }
            if ReportData.isExpectedDifference(result) {
                out += "</article>"
                continue
            }
            out += "<p class=\"muted\">Rebuild both with the recorded values: <code>repro-check replay \(stored.run.id) \(e(ShellQuote.quote(data.replayKey(result))))</code></p>"
            if let culprit = result.culprit {
                out += "<p>Culprit (\(e(culprit.verdict.rawValue))): \(culprit.variations.map { "<code>\(e($0))</code>" }.joined(separator: ", "))</p>"
            }
            for build in result.builds where !build.succeeded {
                out += "<p class=\"build-error\">\(e(build.role.rawValue)) build exited with status \(build.exitStatus)\(build.error.map { ": " + e($0) } ?? "")</p>"
            }
            if !result.differences.isEmpty {
                out += "<table class=\"diffs\"><thead><tr><th>Layer</th><th>Path</th><th>Field</th><th>Control</th><th>Experiment</th></tr></thead><tbody>"
                for difference in result.differences.prefix(differenceLimit) {
                    let cells = difference.cells
                    out += "<tr>" + cell("Layer", e(difference.place)) + cell("Path", e(difference.path ?? ""))
                    out += cell("Field", e(cells.field)) + cell("Control", e(cells.control))
                    out += cell("Experiment", e(cells.experiment)) + "</tr>"
                    if !difference.diffLines.isEmpty {
                        out += "<tr><td colspan=\"5\"><pre class=\"text-diff\">\(e(difference.diffLines.joined(separator: "\n")))</pre></td></tr>"
                    }
                }
                out += "</tbody></table>"
                if result.differences.count > differenceLimit {
                    out += "<p class=\"muted\">… and \(result.differences.count - differenceLimit) more differences (see the JSON summary).</p>"
                }
            }
            out += "</article>"
        }
        return out + "</section>\n"
    }

    private static func history(_ data: ReportData) -> String {
        var out = "<section id=\"history\"><h2>History per spec</h2>"
        out += "<p class=\"muted\">Columns are runs in order, labelled with the day they started (UTC); the last \(ReportData.recentLimit) runs are drawn, older ones summarised. Equal colours mean equal image digests. A red line marks drift (same spec digest, tool version and host, new image); an amber line a different image from another host; a grey line a change of spec or tool. Hover for details.</p>"
        for full in data.histories {
            let history = full.recent(ReportData.recentLimit)
            out += "<article class=\"chart\" id=\"history-\(anchor(history.label))\"><h3>\(e(history.label))</h3>"
            out += "<p class=\"meta\">Last passed \(plainMoment(history.lastPassed, none: "never"))"
            if let since = history.failingSince { out += " · failing since \(plainMoment(since, none: "—"))" }
            out += "</p>"
            for (output, fullOutput) in zip(history.outputs, full.outputs) {
                out += outputHistory(output, full: fullOutput, of: history)
            }
            out += "<h4>Control build wall time</h4>" + SVGCharts.buildTimeTrend(history)
            if let slowdown = history.slowdown {
                out += "<p class=\"warn\">Slowdown: \(ReportFormat.duration(slowdown.wallMilliseconds)) in run #\(slowdown.runID) is \(ReportFormat.decimal(slowdown.ratio))× the median \(ReportFormat.duration(slowdown.medianMilliseconds)) of runs \(ReportData.runList(slowdown.comparedRunIDs)).</p>"
            }
            out += "</article>"
        }
        return out + "</section>\n"
    }

    /// One output's digest chart and changes (`history` is the drawn window, `full` all runs),
    /// named after the output when the spec has several.
    private static func outputHistory(_ output: OutputHistory, full: OutputHistory, of history: SpecHistory) -> String {
        var out = ""
        let name = history.outputs.count > 1 ? e(output.output.description) : ""
        if history.olderRuns > 0, let first = full.digests.first {
            let older = full.changes.filter { $0.index < history.olderRuns }
            let distinct = Set(full.digests.prefix(history.olderRuns).compactMap(\.controlDigest)).count
            out += "<p class=\"muted\">\(name.isEmpty ? "" : name + ": ")\(history.olderRuns) earlier runs since \(e(ReportFormat.date(first.startedAt))) not drawn: \(distinct) distinct control image\(distinct == 1 ? "" : "s"), \(older.count) change\(older.count == 1 ? "" : "s") (\(older.filter { $0.kind == .drift }.count) drift).</p>"
        }
        out += "<h4>Image digests\(name.isEmpty ? "" : ": " + name)</h4>" + SVGCharts.digestTimeline(output, label: history.label(output))
        if !output.changes.isEmpty {
            out += "<ul class=\"changes\">"
            for change in output.changes {
                let entry = output.digests[change.index]
                let kind = change.kind == .drift ? "fail" : change.kind == .hostChanged ? "warn" : "muted"
                out += "<li class=\"\(kind)\">run #\(entry.runID), \(e(ReportFormat.utc(entry.startedAt))): <code>\(e(ReportFormat.short(change.from)))</code> → <code>\(e(ReportFormat.short(change.to)))</code> (\(e(change.kind.rawValue)))</li>"
            }
            out += "</ul>"
        }
        return out
    }

    /// `2023-11-26 14:13:20Z (run #8)`.
    private static func plainMoment(_ entry: VerdictHistoryEntry?, none: String) -> String {
        guard let entry else { return e(none) }
        return "\(e(ReportFormat.utc(entry.startedAt))) (run #\(entry.runID))"
    }

    private static func crossHost(_ data: ReportData) -> String {
        var out = "<section id=\"cross-host\"><h2>Cross-host disagreements</h2>"
        guard !data.disagreements.isEmpty else {
            return out + "<p class=\"ok\">No two hosts built different images from the same spec digest and tool version.</p></section>\n"
        }
        out += "<table><thead><tr><th>Spec</th><th>Spec digest</th><th>Tool</th><th>Host</th><th>Control archive</th><th>Runs</th></tr></thead><tbody>"
        for disagreement in data.disagreements {
            for observation in disagreement.observations {
                out += "<tr class=\"fail\"><td>\(e(disagreement.specNames.joined(separator: ", ") + data.outputSuffix(disagreement)))</td>"
                out += cell("Spec digest", "<code>\(e(ReportFormat.short(disagreement.specDigest)))</code>")
                out += cell("Tool", e(disagreement.toolVersion)) + cell("Host", e(observation.host))
                out += cell("Control archive", digestCell(observation.imageDigest)) + cell("Runs", ReportData.runList(observation.runIDs)) + "</tr>"
            }
        }
        return out + "</tbody></table></section>\n"
    }

    private static func runs(_ data: ReportData) -> String {
        var out = "<section id=\"runs\"><h2>Runs</h2>"
        guard !data.runs.isEmpty else { return out + "<p>No runs recorded.</p></section>\n" }
        let (shown, older) = data.recentRuns
        out += "<table><thead><tr><th>#</th><th>Group</th><th>Started (UTC)</th><th>Ended (UTC)</th><th>Host</th><th>Tool</th><th>Commit</th><th>Status</th><th>Outcome</th></tr></thead><tbody>"
        for run in shown {
            let status = run.status == .finished ? "" : "warn"
            out += "<tr class=\"\(status)\"><td>#\(run.id)</td>" + cell("Group", e(run.info.runGroup ?? "—"))
            out += cell("Started (UTC)", e(ReportFormat.utc(run.info.startedAt)))
            out += cell("Ended (UTC)", run.info.endedAt.map { e(ReportFormat.utc($0)) } ?? "—") + cell("Host", e(run.info.host))
            out += cell("Tool", e(run.info.toolVersion))
            out += cell("Commit", run.info.gitCommit.map { "<code>\(e(String($0.prefix(12))))</code>" } ?? "—")
            out += cell("Status", run.status == .finished ? "finished" : "<span class=\"badge warn\">\(e(ReportData.statusText(run)))</span>")
            out += cell("Outcome", e(run.info.outcome ?? "—")) + "</tr>"
        }
        out += "</tbody></table>"
        if let summary = ReportData.olderRunsSummary(older) { out += "<p class=\"muted\">\(e(summary)).</p>" }
        return out + "</section>\n"
    }

    /// Fragment identifiers from ASCII letters, digits and `-`; anything else (including `_`)
    /// becomes `_<hex>_`, so distinct spec names never share an anchor.
    static func anchor(_ name: String) -> String {
        var out = ""
        for scalar in name.unicodeScalars {
            if scalar.isASCII, scalar.properties.isAlphabetic || ("0"..."9").contains(scalar) || scalar == "-" {
                out.unicodeScalars.append(scalar)
            } else {
                out += "_\(String(scalar.value, radix: 16))_"
            }
        }
        return out
    }

    private static let style = """
        :root{--pass:#1a7f37;--fail:#cf222e;--warn:#9a6700;--muted:#57606a;--line:#d0d7de}
        *{box-sizing:border-box}
        body{font:14px/1.45 system-ui,-apple-system,"Segoe UI",Roboto,"Noto Sans",sans-serif;color:#1f2328;margin:0 auto;max-width:1240px;padding:24px}
        h1{font-size:26px;margin:0 0 4px}h2{font-size:19px;border-bottom:1px solid var(--line);padding-bottom:4px;margin-top:32px}
        h3{font-size:16px;margin:16px 0 4px}h4{font-size:13px;color:var(--muted);margin:10px 0 2px;font-weight:600}
        code{font:12px ui-monospace,SFMono-Regular,Menlo,Consolas,monospace;background:#f6f8fa;padding:1px 4px;border-radius:4px}
        table{border-collapse:collapse;width:100%;margin:8px 0}th,td{text-align:left;padding:5px 8px;border-bottom:1px solid var(--line);vertical-align:top}
        th{background:#f6f8fa;font-weight:600}
        .diffs td,.layers td{font:12px ui-monospace,Menlo,Consolas,monospace;word-break:break-all}
        .meta,.muted{color:var(--muted)}.ok{color:var(--pass)}p.warn,li.warn{color:var(--warn)}li.fail,p.build-error{color:var(--fail)}
        .tiles{display:flex;gap:10px;flex-wrap:wrap;margin-top:12px}
        .tile{border:1px solid var(--line);border-radius:8px;padding:8px 14px;min-width:110px}
        .tile .n{display:block;font-size:24px;font-weight:700}.tile .l{color:var(--muted)}
        .tile.pass .n{color:var(--pass)}.tile.fail .n,.tile.error .n{color:var(--fail)}.tile.warn .n{color:var(--warn)}
        .badge{display:inline-block;border-radius:10px;padding:0 8px;font-size:12px;font-weight:600;color:#fff;background:var(--muted)}
        .badge.pass{background:var(--pass)}.badge.fail,.badge.error{background:var(--fail)}.badge.warn{background:var(--warn)}
        tr.fail td:first-child,tr.error td:first-child{border-left:3px solid var(--fail)}tr.warn td:first-child{border-left:3px solid var(--warn)}
        .swatch{display:inline-block;width:9px;height:9px;border-radius:50%;margin-right:5px}
        .flags li{margin:4px 0}
        article.spec{border:1px solid var(--line);border-left:4px solid var(--fail);border-radius:6px;padding:4px 14px 10px;margin:12px 0}
        article.spec.pass{border-left-color:var(--pass)}
        .explanation{white-space:pre-wrap}
        pre.text-diff{white-space:pre-wrap;overflow-wrap:anywhere;margin:0;font-size:12px}
        article.chart{border-bottom:1px dashed var(--line);padding-bottom:12px}
        svg{max-width:100%;height:auto;display:block}
        svg text{font:11px system-ui,sans-serif;fill:#1f2328}svg .axis{fill:var(--muted)}
        svg .rail{stroke:#eaeef2;stroke-width:2}svg .grid{stroke:#eaeef2}
        svg .drift line{stroke:var(--fail);stroke-width:2;stroke-dasharray:4 3}svg .drift text{fill:var(--fail);font-weight:600}
        svg .host-change line{stroke:var(--warn);stroke-width:2;stroke-dasharray:4 3}svg .host-change text{fill:var(--warn);font-weight:600}
        svg .input-change line{stroke:#8c959f;stroke-dasharray:2 3}svg .input-change text{fill:var(--muted)}
        svg .trend{fill:none;stroke:#0969da;stroke-width:2}svg .point{fill:#0969da}
        svg .slow{fill:var(--fail)}svg .slow-label{fill:var(--fail);font-weight:600}
        svg .median{stroke:var(--warn);stroke-dasharray:5 4}
        body{overflow-wrap:break-word}td{overflow-wrap:anywhere}.badge,.when{white-space:nowrap}
        dl.digests{display:grid;grid-template-columns:max-content max-content;gap:1px 6px;margin:0}
        dl.digests code{white-space:nowrap}
        dl.digests dt{color:var(--muted);font-size:12px}dl.digests dd{margin:0}
        .pair{display:flex;flex-wrap:wrap;gap:4px 24px}
        p.output{font-weight:600;margin:6px 0 2px}h4.output{color:#1f2328;font-size:14px}
        @media (max-width:700px){
        body{padding:12px;overflow-wrap:anywhere}
        table,tbody,tr,td{display:block;width:100%}thead{display:none}
        tr{border:1px solid var(--line);border-radius:6px;margin:8px 0}
        td{border:0;padding:3px 10px}
        dl.digests{grid-template-columns:max-content minmax(0,1fr)}dl.digests code{white-space:normal}
        td[data-label]::before{content:attr(data-label);display:block;font-size:11px;font-weight:600;color:var(--muted)}
        tr.fail td:first-child,tr.error td:first-child,tr.warn td:first-child{border-left:0}
        tr.fail,tr.error{border-left:4px solid var(--fail)}tr.warn{border-left:4px solid var(--warn)}
        }
        """
}
