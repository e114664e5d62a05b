import Builder
import Foundation
import Testing

@testable import Harness

/// A check that built several outputs (`--format docker-archive --format oci-archive
/// --compression zstd`): every report shows each output's digests, layers and history, and a
/// run with one output reads as before.
@Suite("Reports show every output")
struct ReportOutputsTests {
    static let start = 1_700_000_000.0  // 2023-11-14 22:13:20Z
    static let zstd = CheckOutput(format: .ociArchive, compression: .zstd)

    /// A results database in a real SQLite file, removed afterwards.
    static func withDatabase(_ body: (ResultsDatabase) throws -> Void, name: String = #function) throws {
        let directory = try ResultFixtures.temporaryDirectory(name)
        defer { try? FileManager.default.removeItem(at: directory) }
        let database = try ResultsDatabase(path: directory.appendingPathComponent("repro.sqlite").path)
        defer { try? database.close() }
        try body(database)
    }

    /// Records `results` in a run `day` days after `start`, on `host`.
    static func record(_ results: [SpecResult], day: Int, host: String = "alpha", in database: ResultsDatabase) throws {
        let startedAt = start + Double(day) * 86_400
        let runID = try database.beginRun(ResultFixtures.run(host: host, startedAt: startedAt))
        for result in results { try database.record(result, runID: runID) }
        try database.finishRun(id: runID, outcome: "passed", endedAt: startedAt + 60)
    }

    /// `name` built as docker-archive (digests seeded by `docker`) and, unless `oci` is nil, as
    /// oci-archive+zstd (control seeded by `oci`, experiment by `ociExperiment`, default the same),
    /// each output's builds recorded after the other's, as `check` records them.
    static func result(_ name: String, docker: String = "docker", oci: String? = "oci", ociExperiment: String? = nil) -> SpecResult {
        var result = ResultFixtures.reproducible(name, image: docker)
        guard let oci else { return result }
        let experiment = ociExperiment ?? oci
        var builds = [ResultFixtures.build(.control, image: oci), ResultFixtures.build(.experiment, image: experiment)]
        for index in builds.indices {
            builds[index].format = .ociArchive
            builds[index].compression = .zstd
            builds[index].compressorVersions = "zlib 1.3.1, zstd 1.5.6"
            builds[index].layers = [zstdLayer(content: "\(name)", blob: index == 0 ? oci : experiment)]
        }
        result.builds += builds
        if experiment != oci {
            var difference = Difference(layer: "layer 1", path: "/nix/store/aaa-\(name)/stamp", field: "mtime", control: "1", experiment: "2")
            difference.output = zstd.description
            result.differences = [difference]
            result.outcome = .unreproducible
            result.passed = false
            result.explanation = "oci-archive+zstd: Unreproducible: the stamp's mtime differs."
        }
        return result
    }

    static func zstdLayer(content: String, blob: String) -> LayerResult {
        LayerResult(
            index: 1, diffID: ResultFixtures.digest("layer-\(content)"), size: 700, paths: ["/nix/store/aaa-\(content)"],
            blob: LayerBlob(
                digest: ResultFixtures.digest("zstd-\(blob)"), size: 700, mediaType: LayerCompression.zstd.layerMediaType,
                compression: .zstd, compressorVersion: "zstd 1.5.6"))
    }

    static func short(_ seed: String) -> String { ReportFormat.short(ResultFixtures.digest(seed)) }

    @Test("a two-output run shows both outputs' digests and layers in the Markdown and HTML reports")
    func bothOutputsRendered() throws {
        try Self.withDatabase { database in
            try Self.record([Self.result("hello", ociExperiment: "oci-other")], day: 0, in: database)
            let rendered = try ReportWriter.render(database: database)
            let markdown = rendered.markdown, html = rendered.html
            // The status row: each output's control and experiment, named.
            let row = try #require(markdown.split(separator: "\n").first { $0.hasPrefix("| `hello` |") })
            #expect(row.contains("**docker-archive**<br>archive `\(Self.short("docker"))`<br>image ID `\(Self.short("config-docker"))`"))
            #expect(row.contains("**oci-archive+zstd**<br>archive `\(Self.short("oci"))`<br>image ID `\(Self.short("config-oci"))`<br>manifest `\(Self.short("manifest-oci"))`"))
            #expect(row.contains("**oci-archive+zstd**<br>archive `\(Self.short("oci-other"))`"))
            // The spec's detail: a digest line per output, and the OCI output's layer blobs.
            #expect(markdown.contains("`docker-archive` — Control: archive `\(Self.short("docker"))`"))
            #expect(markdown.contains("`oci-archive+zstd` — Control: archive `\(Self.short("oci"))`"))
            #expect(markdown.contains("Layers of `oci-archive+zstd`:\n\n| Layer | diff_id |"))
            #expect(markdown.contains("| 1 | `\(Self.short("layer-hello"))` | `\(Self.short("zstd-oci"))` | 700 | zstd, zstd 1.5.6 | `\(Self.short("zstd-oci-other"))` |"))
            #expect(markdown.contains("| oci-archive+zstd: layer 1 |"))

            let status = try ReportTimelineTests.section("status", of: html)
            #expect(status.contains("<p class=\"output\">docker-archive</p><dl class=\"digests\">"))
            #expect(status.contains("<p class=\"output\">oci-archive+zstd</p><dl class=\"digests\">"))
            #expect(status.contains(Self.short("manifest-oci")) && status.contains(Self.short("manifest-oci-other")))
            let detail = try ReportTimelineTests.section("explanations", of: html)
            #expect(detail.contains("<h4 class=\"output\">docker-archive</h4><div class=\"pair\">"))
            #expect(detail.contains("<h4 class=\"output\">oci-archive+zstd</h4><div class=\"pair\">"))
            #expect(detail.contains("<td data-label=\"Compression\">zstd, zstd 1.5.6</td>"))
            #expect(detail.contains(Self.short("zstd-oci-other")))
        }
    }

    @Test("the JSON summary and JUnit of a two-output run carry both outputs' digests and say which output differed")
    func summaryAndJUnit() throws {
        let result = Self.result("hello", ociExperiment: "oci-other")
        let report = CheckReport(
            runID: 1, runInfo: ResultFixtures.run(startedAt: Self.start), results: [result], drift: [:], slowdowns: [],
            interrupted: false)
        let spec = try #require(JSONSummary.document(report).specs.first)
        let controls = spec.builds.filter { $0.role == .control }
        #expect(controls.map(\.output) == ["docker-archive", "oci-archive+zstd"])
        #expect(controls.map(\.manifestDigest) == [ResultFixtures.digest("manifest-docker"), ResultFixtures.digest("manifest-oci")])
        #expect(spec.builds.first { $0.output == "oci-archive+zstd" && $0.role == .experiment }?.archiveDigest
            == ResultFixtures.digest("oci-other"))
        #expect(spec.differences.map(\.output) == ["oci-archive+zstd"])
        #expect(try SchemaValidator.violations(of: JSONSummary.render(report)) == [])

        let junit = JUnitReport.render(report)
        #expect(junit.contains("<property name=\"docker-archive.control.image_id\" value=\"\(ResultFixtures.digest("config-docker"))\"/>"))
        #expect(junit.contains("<property name=\"oci-archive+zstd.control.manifest_digest\" value=\"\(ResultFixtures.digest("manifest-oci"))\"/>"))
        #expect(junit.contains("<property name=\"oci-archive+zstd.experiment.archive_digest\" value=\"\(ResultFixtures.digest("oci-other"))\"/>"))
        #expect(!junit.contains("name=\"control.image_id\""))
        #expect(junit.contains("(oci-archive+zstd) layer 1 /nix/store/aaa-hello/stamp: mtime 1 vs 2"))
    }

    @Test("drift of one of several outputs is named with that output in the JSON summary and JUnit")
    func driftNamesItsOutput() throws {
        try Self.withDatabase { database in
            try Self.record([Self.result("hello", oci: "oci-1")], day: 0, in: database)
            var result = Self.result("hello", oci: "oci-2")
            let drift = try database.drift(
                for: result.specDigest, toolVersion: "1.0.0", imageDigest: ResultFixtures.digest("oci-2"), excludingRun: 2,
                format: .ociArchive, compression: .zstd)
            #expect(drift.map(\.output) == [Self.zstd])
            result.passed = false
            result.digestDrift = true
            result.explanation = "Digest drift (oci-archive+zstd): this run (2) gave …\n"
            let report = CheckReport(
                runID: 2, runInfo: ResultFixtures.run(startedAt: Self.start + 86_400), results: [result],
                drift: [result.specPath: drift], slowdowns: [], interrupted: false)
            #expect(JSONSummary.document(report).specs.first?.drift.map(\.output) == ["oci-archive+zstd"])
            #expect(try SchemaValidator.violations(of: JSONSummary.render(report)) == [])
            let junit = JUnitReport.render(report)
            #expect(junit.contains("type=\"drift\">(oci-archive+zstd) run 1 on alpha gave \(ResultFixtures.digest("oci-1"))</failure>"))
        }
    }

    @Test("a change of only the second output's digest over three runs is reported under that output")
    func secondOutputChanges() throws {
        try Self.withDatabase { database in
            try Self.record([Self.result("hello", oci: "oci-1")], day: 0, in: database)
            try Self.record([Self.result("hello", oci: "oci-1")], day: 1, in: database)
            try Self.record([Self.result("hello", oci: "oci-2")], day: 2, in: database)

            let histories = try database.outputDigestHistories(specPath: "specs/hello.json")
            #expect(histories.map(\.output) == [.dockerArchive, Self.zstd])
            #expect(histories[0].entries.map(\.controlDigest) == Array(repeating: ResultFixtures.digest("docker"), count: 3))
            #expect(histories[1].entries.map(\.controlDigest) == ["oci-1", "oci-1", "oci-2"].map(ResultFixtures.digest))

            let rendered = try ReportWriter.render(database: database)
            let markdown = rendered.markdown
            #expect(markdown.contains("- ❌ **Digest drift**: `hello (oci-archive+zstd)` built `\(Self.short("oci-2"))` in run #3 after `\(Self.short("oci-1"))`"))
            #expect(markdown.contains("| `hello (docker-archive)` | 3 | 1 | none |"))
            #expect(markdown.contains("| `hello (oci-archive+zstd)` | 3 | 2 | ❌ 1 drift, 0 other host, 0 input changes |"))
            #expect(markdown.contains("**hello (oci-archive+zstd)** control image changes:\n\n- run #3 (2023-11-16 22:13:20Z, alpha): `\(Self.short("oci-1"))` → `\(Self.short("oci-2"))` — drift"))
            #expect(!markdown.contains("**hello (docker-archive)** control image changes"))

            let history = try ReportTimelineTests.section("history", of: rendered.html)
            #expect(history.contains("<h4>Image digests: docker-archive</h4>"))
            #expect(history.contains("<h4>Image digests: oci-archive+zstd</h4>"))
            #expect(history.contains("aria-label=\"Image digest history of hello (oci-archive+zstd)\""))
            #expect(history.components(separatedBy: "<g class=\"drift\">").count == 2, "one drift, in the OCI chart")
            #expect(history.components(separatedBy: "<circle class=\"point\"").count - 1 == 3, "one wall time per run, not per output")
            #expect(history.contains("run #3, 2023-11-16 22:13:20Z: <code>\(Self.short("oci-1"))</code> → <code>\(Self.short("oci-2"))</code> (drift)"))
            #expect(rendered.html.contains("<b>Digest drift</b>: hello (oci-archive+zstd) built"))
        }
    }

    @Test("an output built for the first time is no change, and runs without it leave its chart empty")
    func newOutputIsNoChange() throws {
        try Self.withDatabase { database in
            try Self.record([Self.result("hello", oci: nil)], day: 0, in: database)
            try Self.record([Self.result("hello", oci: "oci-1")], day: 1, in: database)
            try Self.record([Self.result("hello", oci: "oci-1")], day: 2, in: database)

            let histories = try database.outputDigestHistories(specPath: "specs/hello.json")
            #expect(histories[1].entries.map(\.controlDigest) == [nil] + ["oci-1", "oci-1"].map(ResultFixtures.digest))
            let rendered = try ReportWriter.render(database: database)
            #expect(rendered.markdown.contains("| `hello (oci-archive+zstd)` | 3 | 1 | none |"))
            #expect(!rendered.markdown.contains("control image changes"))
            #expect(!rendered.markdown.contains("Digest drift") && !rendered.html.contains("Digest drift"))
            let history = try ReportTimelineTests.section("history", of: rendered.html)
            #expect(!history.contains("<ul class=\"changes\">"))
            // Run #1 did not build oci-archive+zstd: an empty dot, the only one (docker-archive was built every time).
            #expect(history.components(separatedBy: "run #1 · 2023-11-14 22:13:20Z · alpha · 1.0.0\ncontrol: no image").count == 2)
        }
    }

    @Test("a run with one output names no output anywhere, as before outputs existed")
    func singleOutputUnchanged() throws {
        try Self.withDatabase { database in
            try Self.record([ResultFixtures.ociReproducible("hello", manifest: "m1")], day: 0, in: database)
            try Self.record([ResultFixtures.unreproducible("date")], day: 1, in: database)
            let rendered = try ReportWriter.render(database: database)
            for name in ["docker-archive", "oci-archive+gzip"] {
                #expect(!rendered.markdown.contains(name) && !rendered.html.contains(name), "\(name) named")
            }
            #expect(!rendered.html.contains("class=\"output\""))
            #expect(rendered.html.contains("<h4>Image digests</h4>"))
            #expect(rendered.markdown.contains("| `hello` | 1 | 1 | none |"))
            #expect(rendered.markdown.contains("Control: archive `\(Self.short("date-c"))`"))
            let report = CheckReport(
                runID: 1, runInfo: ResultFixtures.run(startedAt: Self.start), results: [ResultFixtures.ociReproducible("hello")],
                drift: [:], slowdowns: [], interrupted: false)
            #expect(JUnitReport.render(report).contains("<property name=\"control.manifest_digest\""))
        }
    }

    @Test("hosts that disagree on one of several outputs are reported with that output")
    func crossHostOutput() throws {
        try Self.withDatabase { database in
            try Self.record([Self.result("hello", oci: "oci-1")], day: 0, host: "alpha", in: database)
            try Self.record([Self.result("hello", oci: "oci-2")], day: 1, host: "beta", in: database)
            let disagreements = try database.crossHostDisagreements()
            #expect(disagreements.map(\.output) == [Self.zstd])
            let rendered = try ReportWriter.render(database: database)
            #expect(rendered.markdown.contains("- ❌ **Hosts disagree** on `hello` (oci-archive+zstd) (tool 1.0.0)"))
            #expect(rendered.markdown.contains("| `hello` (oci-archive+zstd) | `\(Self.short("hello-spec-v1"))` | 1.0.0 | alpha |"))
            #expect(rendered.html.contains("<b>Hosts disagree</b> on hello (oci-archive+zstd) (tool 1.0.0)"))
            // Another host, not drift: the chart marks it amber.
            #expect(rendered.markdown.contains("| `hello (oci-archive+zstd)` | 2 | 2 | 0 drift, 1 other host, 0 input changes |"))
        }
    }
}
