import Builder
import Foundation
import Testing

@testable import Harness

@Suite("HTML and Markdown reports")
struct ReportWriterTests {
    @Test("the HTML page shows latest status, flags, explanations, charts and unfinished runs")
    func htmlContents() throws {
        let html = try ReportWriter.render(database: PlantedHistory.database()).html
        #expect(html.hasPrefix("<!DOCTYPE html>"))
        for section in ["attention", "status", "explanations", "history", "cross-host", "runs"] {
            #expect(html.contains("<section id=\"\(section)\">"), "missing section \(section)")
        }
        // Latest status rows.
        #expect(html.contains("<tr class=\"pass\"><td><a href=\"#history-hello\">hello</a></td>"))
        #expect(html.contains("<tr class=\"fail\"><td><a href=\"#history-date\">date</a></td>"))
        #expect(html.contains("<tr class=\"error\"><td><a href=\"#history-broken\">broken</a></td>"))
        #expect(html.contains("<tr class=\"pass\"><td><a href=\"#history-negative-control\">negative-control</a></td>"))
        // Flags.
        #expect(html.contains("<b>Digest drift</b>: drifty"))
        // hello's image changed only on another host: a disagreement, not drift.
        #expect(!html.contains("<b>Digest drift</b>: hello"))
        #expect(html.contains("<g class=\"host-change\">"))
        #expect(html.contains("<b>Slowdown</b>: hello control build took 2.0 s"))
        #expect(html.contains("2.0× the median 1.0 s"))
        #expect(html.contains("<b>Hosts disagree</b> on hello"))
        #expect(html.contains("was interrupted"))
        #expect(html.contains("never recorded an end"))
        // Explanations and differences.
        #expect(html.contains(ResultFixtures.unreproducible("date").explanation))
        #expect(html.contains("<td data-label=\"Path\">/nix/store/bbb-date/stamp</td><td data-label=\"Field\">mtime</td><td data-label=\"Control\">1</td><td data-label=\"Experiment\">3600</td>"))
        #expect(html.contains("store path /nix/store/zzz-missing not found"))
        // Charts: one timeline and one trend per spec, drift marked.
        let specs = 6
        #expect(html.components(separatedBy: "<svg ").count - 1 == 2 * specs)
        #expect(html.contains("<g class=\"drift\">"))
        #expect(html.contains("<circle class=\"slow\""))
        // Self-contained: no scripts, no external fetches.
        #expect(!html.contains("<script"))
        #expect(!html.contains("src=\"http"))
        #expect(!html.contains("<link"))
    }

    @Test("the HTML page escapes spec names, explanations and hosts")
    func htmlEscaping() throws {
        let html = try ReportWriter.render(database: PlantedHistory.database()).html
        #expect(!html.contains(PlantedHistory.hostileName))
        #expect(html.contains("&lt;script&gt;alert(&#39;x&#39;)&lt;/script&gt; | pipe"))
        #expect(html.contains("Differs in &lt;b&gt;bold&lt;/b&gt; &amp; &quot;quoted&quot; ways."))
    }

    @Test("the Markdown summary carries the same findings, escaped for tables")
    func markdownContents() throws {
        let markdown = try ReportWriter.render(database: PlantedHistory.database()).markdown
        #expect(markdown.hasPrefix("# repro-check results\n"))
        #expect(markdown.contains("**6 specs**: 3 passed, 2 failed, 1 build errors · 9 runs (2 unfinished)"))
        #expect(markdown.contains("| `hello` | ✅ pass | reproducible (reproducible) | — | 2023-11-26 12:00:00Z (run #8) | — | #8 | alpha |"))
        #expect(markdown.contains("| `date` | ❌ fail | unreproducible (reproducible) | 2023-11-26 12:00:00Z (run #8) | never |"))
        #expect(markdown.contains("**Digest drift**: `drifty`"))
        #expect(markdown.contains("**Slowdown**: `hello` control build took 2.0 s in run #8"))
        #expect(markdown.contains("**Hosts disagree** on `hello`"))
        #expect(markdown.contains("**Run #7** on alpha"))
        #expect(markdown.contains("**Run #9** on gamma"))
        #expect(markdown.contains("Culprit (confirmed): `time`"))
        #expect(markdown.contains("- ⚠️ **Variation skipped**: `kernel` was not applied in the latest results: needs setarch."))
        #expect(markdown.contains("- ❌ `<script>alert('x')</script> | pipe` did not meet its expectation"))
        // The pipe in the hostile name must not split the table row.
        #expect(markdown.contains("| `<script>alert('x')</script> \\| pipe` | ❌ fail | unreproducible (reproducible) |"))
        #expect(markdown.contains("### \\<script\\>alert('x')\\</script\\> \\| pipe — fail"))
        #expect(markdown.contains("▁"))
    }

    @Test("identical database contents render byte-identical reports")
    func deterministic() throws {
        let first = try ReportWriter.render(database: PlantedHistory.database())
        let second = try ReportWriter.render(database: PlantedHistory.database())
        #expect(first.html == second.html)
        #expect(first.markdown == second.markdown)
    }

    @Test("an empty database renders a page that says so")
    func empty() throws {
        let rendered = try ReportWriter.render(database: ResultsDatabase.inMemory())
        #expect(rendered.html.contains("The database holds no runs yet."))
        #expect(rendered.markdown.contains("No spec has been checked yet."))
    }

    @Test("writes index.html and summary.md, replacing old ones and leaving no temporary files")
    func writesFiles() throws {
        let directory = try ResultFixtures.temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: directory) }
        let out = directory.appendingPathComponent("reports/latest")
        try FileManager.default.createDirectory(at: out, withIntermediateDirectories: true)
        try Data("stale".utf8).write(to: out.appendingPathComponent("index.html"))
        let database = try PlantedHistory.database()
        try ReportWriter.write(database: database, outDirectory: out.path)
        let names = try FileManager.default.contentsOfDirectory(atPath: out.path).sorted()
        #expect(names == ["index.html", "summary.md"])
        let html = try String(contentsOf: out.appendingPathComponent("index.html"), encoding: .utf8)
        #expect(html == (try ReportWriter.render(database: database).html))
    }
}
