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
            items.append("<li class=\"fail\"><a href=\"#spec-\(anchor(stored.result.specName))\">\(e(stored.result.specName))</a> \(what) in run #\(stored.run.id) (expected \(e(stored.result.expectation.rawValue)), got \(e(stored.result.outcome.rawValue))).</li>")
        }
        for history in data.histories {
            for change in history.drifts {
                let run = history.digests[change.index]
                items.append("<li class=\"fail\"><b>Digest drift</b>: \(e(history.specName)) built <code>\(e(ReportFormat.short(change.to)))</code> in run #\(run.runID) after <code>\(e(ReportFormat.short(change.from)))</code> with the same spec digest and tool version \(e(run.toolVersion)).</li>")
            }
        }
        for disagreement in data.disagreements {
            let hosts = disagreement.observations.map { "\(e($0.host)) → <code>\(e(ReportFormat.short($0.imageDigest)))</code>" }
            items.append("<li class=\"fail\"><b>Hosts disagree</b> on \(e(disagreement.specNames.joined(separator: ", "))) (tool \(e(disagreement.toolVersion))): \(hosts.joined(separator: "; ")).</li>")
        }
        for slowdown in data.slowdowns {
            items.append("<li class=\"warn\"><b>Slowdown</b>: \(e(slowdown.specName)) control build took \(ReportFormat.duration(slowdown.wallMilliseconds)) in run #\(slowdown.runID), \(ReportFormat.decimal(slowdown.ratio))× the median \(ReportFormat.duration(slowdown.medianMilliseconds)) of runs \(ReportData.runList(slowdown.comparedRunIDs)).</li>")
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
        out += "<table><thead><tr><th>Spec</th><th>Expected</th><th>Outcome</th><th>Verdict</th><th>Run</th><th>Host</th><th>Control image</th><th>Experiment image</th></tr></thead><tbody>"
        for stored in data.latest {
            let result = stored.result
            let verdict = ReportData.verdict(result)
            out += "<tr class=\"\(verdict)\"><td><a href=\"#history-\(anchor(result.specName))\">\(e(result.specName))</a></td>"
            out += "<td>\(e(result.expectation.rawValue))</td><td>\(e(result.outcome.rawValue))</td>"
            out += "<td><span class=\"badge \(verdict)\">\(verdict)</span></td>"
            out += "<td>#\(stored.run.id)\(stored.run.status == .finished ? "" : " <span class=\"badge warn\">\(e(stored.run.status.rawValue))</span>")</td>"
            out += "<td>\(e(stored.run.info.host))</td>"
            out += "<td>\(digestCell(stored.imageDigest(.control)))</td><td>\(digestCell(stored.imageDigest(.experiment)))</td></tr>"
        }
        return out + "</tbody></table></section>\n"
    }

    private static func digestCell(_ digest: Digest?) -> String {
        guard let digest else { return "<span class=\"muted\">—</span>" }
        return "<code title=\"\(e(digest.description))\"><span class=\"swatch\" style=\"background:\(ReportFormat.color(digest))\"></span>\(e(ReportFormat.short(digest)))</code>"
    }

    private static func explanations(_ data: ReportData) -> String {
        let specs = data.needingExplanation
        var out = "<section id=\"explanations\"><h2>Unreproducible and failing specs</h2>"
        guard !specs.isEmpty else { return out + "<p class=\"ok\">Every spec reproduced in its latest run.</p></section>\n" }
        for stored in specs {
            let result = stored.result
            let verdict = ReportData.verdict(result)
            out += "<article class=\"spec \(verdict)\" id=\"spec-\(anchor(result.specName))\"><h3>\(e(result.specName)) <span class=\"badge \(verdict)\">\(verdict)</span></h3>"
            out += "<p class=\"meta\">\(e(result.specPath)) · expected \(e(result.expectation.rawValue)), got \(e(result.outcome.rawValue)) in run #\(stored.run.id) · spec <code>\(e(ReportFormat.short(result.specDigest)))</code></p>"
            if !result.explanation.isEmpty { out += "<p class=\"explanation\">\(e(result.explanation))</p>" }
            if ReportData.isExpectedDifference(result) {
                out += "</article>"
                continue
            }
            if let culprit = result.culprit {
                out += "<p>Culprit (\(e(culprit.verdict.rawValue))): \(culprit.variations.map { "<code>\(e($0))</code>" }.joined(separator: ", "))</p>"
            }
            for build in result.builds where !build.succeeded {
                out += "<p class=\"build-error\">\(e(build.role.rawValue)) build exited with status \(build.exitStatus)\(build.error.map { ": " + e($0) } ?? "")</p>"
            }
            if !result.differences.isEmpty {
                out += "<table class=\"diffs\"><thead><tr><th>Layer</th><th>Path</th><th>Field</th><th>Control</th><th>Experiment</th></tr></thead><tbody>"
                for difference in result.differences.prefix(differenceLimit) {
                    out += "<tr><td>\(e(difference.layer ?? "archive"))</td><td>\(e(difference.path ?? ""))</td><td>\(e(difference.field))</td>"
                    out += "<td>\(e(difference.control ?? "(absent)"))</td><td>\(e(difference.experiment ?? "(absent)"))</td></tr>"
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
        out += "<p class=\"muted\">Dots are runs in order; equal colours mean equal image digests. A red line marks drift (same spec digest, tool version and host, new image); an amber line a different image from another host; a grey line a change of spec or tool. Hover for details.</p>"
        for history in data.histories {
            out += "<article class=\"chart\" id=\"history-\(anchor(history.specName))\"><h3>\(e(history.specName))</h3>"
            out += "<h4>Image digests</h4>" + SVGCharts.digestTimeline(history)
            if !history.changes.isEmpty {
                out += "<ul class=\"changes\">"
                for change in history.changes {
                    let entry = history.digests[change.index]
                    let kind = change.kind == .drift ? "fail" : change.kind == .hostChanged ? "warn" : "muted"
                    out += "<li class=\"\(kind)\">run #\(entry.runID): <code>\(e(ReportFormat.short(change.from)))</code> → <code>\(e(ReportFormat.short(change.to)))</code> (\(e(change.kind.rawValue)))</li>"
                }
                out += "</ul>"
            }
            out += "<h4>Control build wall time</h4>" + SVGCharts.buildTimeTrend(history)
            if let slowdown = history.slowdown {
                out += "<p class=\"warn\">Slowdown: \(ReportFormat.duration(slowdown.wallMilliseconds)) in run #\(slowdown.runID) is \(ReportFormat.decimal(slowdown.ratio))× the median \(ReportFormat.duration(slowdown.medianMilliseconds)) of runs \(ReportData.runList(slowdown.comparedRunIDs)).</p>"
            }
            out += "</article>"
        }
        return out + "</section>\n"
    }

    private static func crossHost(_ data: ReportData) -> String {
        var out = "<section id=\"cross-host\"><h2>Cross-host disagreements</h2>"
        guard !data.disagreements.isEmpty else {
            return out + "<p class=\"ok\">No two hosts built different images from the same spec digest and tool version.</p></section>\n"
        }
        out += "<table><thead><tr><th>Spec</th><th>Spec digest</th><th>Tool</th><th>Host</th><th>Control image</th><th>Runs</th></tr></thead><tbody>"
        for disagreement in data.disagreements {
            for observation in disagreement.observations {
                out += "<tr class=\"fail\"><td>\(e(disagreement.specNames.joined(separator: ", ")))</td><td><code>\(e(ReportFormat.short(disagreement.specDigest)))</code></td>"
                out += "<td>\(e(disagreement.toolVersion))</td><td>\(e(observation.host))</td><td>\(digestCell(observation.imageDigest))</td>"
                out += "<td>\(ReportData.runList(observation.runIDs))</td></tr>"
            }
        }
        return out + "</tbody></table></section>\n"
    }

    private static func runs(_ data: ReportData) -> String {
        var out = "<section id=\"runs\"><h2>Runs</h2>"
        guard !data.runs.isEmpty else { return out + "<p>No runs recorded.</p></section>\n" }
        out += "<table><thead><tr><th>#</th><th>Group</th><th>Started (UTC)</th><th>Ended (UTC)</th><th>Host</th><th>Tool</th><th>Commit</th><th>Status</th><th>Outcome</th></tr></thead><tbody>"
        for run in data.runs.reversed() {
            let status = run.status == .finished ? "" : "warn"
            out += "<tr class=\"\(status)\"><td>\(run.id)</td><td>\(e(run.info.runGroup ?? "—"))</td><td>\(e(ReportFormat.utc(run.info.startedAt)))</td>"
            out += "<td>\(run.info.endedAt.map { e(ReportFormat.utc($0)) } ?? "—")</td><td>\(e(run.info.host))</td>"
            out += "<td>\(e(run.info.toolVersion))</td><td>\(run.info.gitCommit.map { "<code>\(e(String($0.prefix(12))))</code>" } ?? "—")</td>"
            out += "<td>\(run.status == .finished ? "finished" : "<span class=\"badge warn\">\(e(ReportData.statusText(run)))</span>")</td>"
            out += "<td>\(e(run.info.outcome ?? "—"))</td></tr>"
        }
        return out + "</tbody></table></section>\n"
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
        body{font:14px/1.45 system-ui,-apple-system,"Segoe UI",Roboto,"Noto Sans",sans-serif;color:#1f2328;margin:0 auto;max-width:1100px;padding:24px}
        h1{font-size:26px;margin:0 0 4px}h2{font-size:19px;border-bottom:1px solid var(--line);padding-bottom:4px;margin-top:32px}
        h3{font-size:16px;margin:16px 0 4px}h4{font-size:13px;color:var(--muted);margin:10px 0 2px;font-weight:600}
        code{font:12px ui-monospace,SFMono-Regular,Menlo,Consolas,monospace;background:#f6f8fa;padding:1px 4px;border-radius:4px}
        table{border-collapse:collapse;width:100%;margin:8px 0}th,td{text-align:left;padding:5px 8px;border-bottom:1px solid var(--line);vertical-align:top}
        th{background:#f6f8fa;font-weight:600}
        .diffs td{font:12px ui-monospace,Menlo,Consolas,monospace;word-break:break-all}
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
        """
}
