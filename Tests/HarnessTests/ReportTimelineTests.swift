import Builder
import Foundation
import Testing

@testable import Harness

/// What the report says about time: order of specs, since when a spec fails, dates on charts,
/// and how a long history is cut down.
@Suite("Report answers what, since when, why")
struct ReportTimelineTests {
    static let day = 86_400.0
    static let start = 1_700_000_000.0  // 2023-11-14 22:13:20Z

    /// `runs` runs a day apart; `passes(runIndex)` decides whether `spec` passed in each.
    static func database(runs: Int, specs: [String: (Int) -> Bool]) throws -> ResultsDatabase {
        let database = try ResultsDatabase.inMemory()
        for index in 0..<runs {
            let runID = try database.beginRun(ResultFixtures.run(startedAt: start + Double(index) * day))
            for (name, passes) in specs.sorted(by: { $0.key < $1.key }) {
                try database.record(
                    passes(index) ? ResultFixtures.reproducible(name) : ResultFixtures.unreproducible(name), runID: runID)
            }
            try database.finishRun(id: runID, outcome: "passed", endedAt: start + Double(index) * day + 60)
        }
        return database
    }

    /// The part of the page between `<section id="ID">` and its end.
    static func section(_ id: String, of html: String) throws -> String {
        let start = try #require(html.range(of: "<section id=\"\(id)\">"))
        let end = try #require(html.range(of: "</section>", range: start.upperBound..<html.endIndex))
        return String(html[start.lowerBound..<end.upperBound])
    }

    @Test("failing specs come first, then the rest by name ignoring case, in every section")
    func order() throws {
        let database = try Self.database(runs: 1, specs: ["zeta": { _ in true }, "Alpha": { _ in true }, "beta": { _ in false }])
        let runID = try database.beginRun(ResultFixtures.run(startedAt: Self.start + Self.day))
        try database.record(ResultFixtures.buildError("Gamma"), runID: runID)
        let rendered = try ReportWriter.render(database: database)
        for id in ["status", "history"] {
            let part = try Self.section(id, of: rendered.html)
            let positions = try ["beta", "Gamma", "Alpha", "zeta"].map { name in
                try #require(part.range(of: "history-\(name)\"")).lowerBound
            }
            #expect(positions == positions.sorted(), "order in \(id)")
        }
        let rows = rendered.markdown.split(separator: "\n").filter { $0.hasPrefix("| `") }
        let names = rows.prefix(4).map { $0.split(separator: "`")[1] }
        #expect(names == ["beta", "Gamma", "Alpha", "zeta"], "\(rows)")
    }

    @Test("a failing spec says since when it fails and when it last passed, as dates")
    func sinceWhen() throws {
        // passes on days 0 and 1, fails on 2 and 3; `healed` fails on day 0 only.
        let database = try Self.database(runs: 4, specs: ["broke": { $0 < 2 }, "healed": { $0 > 0 }])
        let rendered = try ReportWriter.render(database: database)
        let status = try Self.section("status", of: rendered.html)
        #expect(status.contains("<td data-label=\"Failing since\"><span class=\"when\">2023-11-16</span> <span class=\"when\">22:13:20Z</span><br><span class=\"muted\">run #3</span></td>"))
        #expect(status.contains("<td data-label=\"Last passed\"><span class=\"when\">2023-11-15</span> <span class=\"when\">22:13:20Z</span><br><span class=\"muted\">run #2</span></td>"))
        #expect(status.contains("<td data-label=\"Cause\">culprit: time (confirmed on a repeat); first difference: layer 1 /nix/store/bbb-date/stamp: mtime 1 vs 3600</td>"))
        // healed passes now: nothing to say under "failing since", and it last passed in the latest run.
        #expect(status.contains("<td data-label=\"Failing since\"><span class=\"muted\">—</span></td><td data-label=\"Last passed\"><span class=\"when\">2023-11-17</span> <span class=\"when\">22:13:20Z</span>"))
        #expect(rendered.html.contains("Failing since 2023-11-16 22:13:20Z (run #3); last passed 2023-11-15 22:13:20Z (run #2)."))
        #expect(rendered.html.contains("<code>repro-check replay 4 broke</code>"))
        #expect(rendered.markdown.contains("| `broke` | ❌ fail | unreproducible (reproducible) | 2023-11-16 22:13:20Z (run #3) | 2023-11-15 22:13:20Z (run #2) | culprit: time"))
    }

    @Test("a spec whose two control builds differ is not flagged for drift: it has no stable digest")
    func nondeterministicIsNoDrift() throws {
        let database = try ResultsDatabase.inMemory()
        for index in 0..<3 {
            let runID = try database.beginRun(ResultFixtures.run(startedAt: Self.start + Double(index) * Self.day))
            var noisy = ResultFixtures.unreproducible("noisy")
            noisy.culpritVerdict = .nondeterministic
            noisy.builds[0] = ResultFixtures.build(.control, image: "noisy-\(index)")
            try database.record(noisy, runID: runID)
            try database.record(ResultFixtures.reproducible("steady", image: "steady-\(index)"), runID: runID)
            try database.finishRun(id: runID, outcome: "failed", endedAt: Self.start + Double(index) * Self.day + 60)
        }
        let html = try ReportWriter.render(database: database).html
        #expect(!html.contains("<b>Digest drift</b>: noisy"))
        #expect(html.contains("<b>Digest drift</b>: steady"), "the same change in a reproducible spec is drift")
    }

    @Test("the image ID and the manifest digest stand beside the archive digest, labelled")
    func labelledDigests() throws {
        let rendered = try ReportWriter.render(database: try Self.database(runs: 1, specs: ["one": { _ in true }]))
        let archive = ResultFixtures.digest("image-a"), config = ResultFixtures.digest("config-image-a")
        let manifest = ResultFixtures.digest("manifest-image-a")
        for (label, digest) in [("archive", archive), ("image ID", config), ("manifest", manifest)] {
            #expect(rendered.html.contains("<dt>\(label)</dt><dd><code title=\"\(digest)\">"), "\(label)")
            #expect(rendered.markdown.contains("\(label) `\(ReportFormat.short(digest))`"), "\(label)")
        }
    }

    @Test("a long history shows the last 30 runs in full and summarises the older ones")
    func longHistory() throws {
        let rendered = try ReportWriter.render(database: try Self.database(runs: 45, specs: ["long": { $0 != 3 }]))
        let runs = try Self.section("runs", of: rendered.html)
        #expect(runs.components(separatedBy: "<tr class=").count - 1 == 30)
        #expect(runs.contains(">#45</td>") && !runs.contains(">#15</td>") && runs.contains(">#16</td>"))
        #expect(runs.contains("15 older runs, 2023-11-14 to 2023-11-28: 15 finished; 0 failed."))
        #expect(rendered.markdown.contains("15 older runs, 2023-11-14 to 2023-11-28: 15 finished; 0 failed."))
        let history = try Self.section("history", of: rendered.html)
        #expect(history.components(separatedBy: "<circle").count - 1 == 2 * 30 + 30, "30 runs × 2 digest rows + 30 wall times")
        #expect(history.contains("15 earlier runs since 2023-11-14 not drawn"))
    }

    @Test("the charts label their x axis with the days the runs started")
    func datesOnTheAxis() throws {
        let rendered = try ReportWriter.render(database: try Self.database(runs: 10, specs: ["dated": { _ in true }]))
        let history = try Self.section("history", of: rendered.html)
        #expect(history.contains("text-anchor=\"start\">2023-11-14</text>"))
        #expect(history.contains("text-anchor=\"end\">2023-11-23</text>"))
        #expect(!history.contains(">#1</text>"), "run numbers moved to the tooltips")
        #expect(history.contains("<title>run #1 · 2023-11-14 22:13:20Z"))
    }

    @Test("two specs with the same name keep their own history, verdicts and replay key")
    func sameNameSpecs() throws {
        // Two specs named `app` in different folders: the first breaks on day 2, the second never.
        let database = try ResultsDatabase.inMemory()
        for index in 0..<3 {
            let runID = try database.beginRun(ResultFixtures.run(startedAt: Self.start + Double(index) * Self.day))
            var first = index < 2 ? ResultFixtures.reproducible("app") : ResultFixtures.unreproducible("app")
            first.specPath = "corpus/one/app.json"
            var second = ResultFixtures.reproducible("app", image: "image-b")
            second.specPath = "corpus/two/app.json"
            try database.record(first, runID: runID)
            try database.record(second, runID: runID)
            try database.finishRun(id: runID, outcome: "passed", endedAt: Self.start + Double(index) * Self.day + 60)
        }
        let rendered = try ReportWriter.render(database: database)
        let status = try Self.section("status", of: rendered.html)
        let one = "app (corpus/one/app.json)", two = "app (corpus/two/app.json)"
        let oneRow = try #require(status.range(of: ">\(one)</a>"))
        let twoRow = try #require(status.range(of: ">\(two)</a>"))
        #expect(oneRow.lowerBound < twoRow.lowerBound, "the failing one first")
        // Only the first fails; the second's verdicts are its own, not merged by name.
        let oneCells = String(status[oneRow.upperBound..<twoRow.lowerBound])
        #expect(oneCells.contains("<td data-label=\"Failing since\"><span class=\"when\">2023-11-16</span>"))
        #expect(oneCells.contains("<td data-label=\"Last passed\"><span class=\"when\">2023-11-15</span>"))
        let twoCells = String(status[twoRow.upperBound...])
        #expect(twoCells.contains("<td data-label=\"Failing since\"><span class=\"muted\">—</span></td><td data-label=\"Last passed\"><span class=\"when\">2023-11-16</span>"))
        let history = try Self.section("history", of: rendered.html)
        #expect(history.contains("<h3>\(one)</h3>") && history.contains("<h3>\(two)</h3>"))
        #expect(history.components(separatedBy: "id=\"history-").count == 3, "two charts, one per spec")
        // `replay` takes the path when the name alone is ambiguous.
        #expect(rendered.html.contains("<code>repro-check replay 3 corpus/one/app.json</code>"))
        #expect(rendered.markdown.contains("| `\(one)` | ❌ fail |"))
        #expect(rendered.markdown.contains("| `\(two)` | ✅"))
    }
}
