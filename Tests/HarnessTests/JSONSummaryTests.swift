import Builder
import Foundation
import Testing

@testable import Harness

@Suite("JSON summary")
struct JSONSummaryTests {
    /// A run with every structured field in use: drift, a slowdown, culprits, a skipped variation.
    static func eventfulReport() -> CheckReport {
        var drifted = ResultFixtures.reproducible("drifted")
        drifted.passed = false
        var date = ResultFixtures.unreproducible("date")
        date.culpritVerdict = .confirmed
        var run = ResultFixtures.run(startedAt: 1234.5)
        run.runGroup = "9876"
        run.options = #"{"jobs":2,"vary":["-time"],"shard":null,"failOnSlowdown":true}"#
        return CheckReport(
            runID: 7, runInfo: run,
            results: [date, ResultFixtures.reproducible("hello"), ResultFixtures.buildError("broken"), drifted],
            drift: ["specs/drifted.json": [DriftEntry(runID: 3, startedAt: 1000, host: "beta", specName: "drifted", imageDigest: ResultFixtures.digest("old"))]],
            slowdowns: [Slowdown(
                specName: "hello", specPath: "specs/hello.json", runID: 7, wallMilliseconds: 4000, medianMilliseconds: 1000, madMilliseconds: 50,
                thresholdMilliseconds: 1500, comparedRunIDs: [4, 5, 6])],
            interrupted: false, skippedVariations: ["user_group": "needs root (running as uid 1000)"],
            failOnSlowdown: true, requireAllVariations: false)
    }

    @Test("decodes back into the document with structured drift, slowdown, culprit, skips and digests")
    func decodes() throws {
        let report = Self.eventfulReport()
        let text = try JSONSummary.render(report)
        let document = try JSONDecoder().decode(JSONSummary.Document.self, from: Data(text.utf8))
        #expect(document == JSONSummary.document(report))
        #expect(document.schemaVersion == 1 && document.runID == 7)
        #expect(document.run.runGroup == "9876")
        #expect(document.run.options == .object(JSONObject([
            ("failOnSlowdown", .bool(true)), ("jobs", 2), ("shard", .null), ("vary", .array([.string("-time")])),
        ])))
        #expect(text.contains("\"options\" : {"), "options are an object, not JSON in a string")
        #expect(!document.passed)
        #expect(document.failureReasons.contains { $0.contains("digest drift in drifted") })
        #expect(document.failureReasons.contains { $0.contains("--fail-on-slowdown") })
        #expect(document.skippedVariations == [.init(name: "user_group", reason: "needs root (running as uid 1000)")])
        #expect(document.totals == JSONSummary.Totals(
            specs: 4, passed: 1, failed: 3, reproducible: 2, unreproducible: 1, buildErrors: 1, drifted: 1, slowdowns: 1))
        #expect(document.specs.map(\.name) == ["broken", "date", "drifted", "hello"])

        let date = try #require(document.specs.first { $0.name == "date" })
        #expect(date.culprit == Culprit(variations: ["time"], verdict: .confirmed))
        #expect(date.differences.count == 2)
        let control = try #require(date.builds.first)
        #expect(control.archiveDigest == ResultFixtures.digest("date-c"))
        #expect(control.imageID == ResultFixtures.digest("config-date-c"))
        let drifted = try #require(document.specs.first { $0.name == "drifted" })
        #expect(drifted.drift.map(\.runID) == [3] && drifted.drift.first?.host == "beta")
        let hello = try #require(document.specs.first { $0.name == "hello" })
        #expect(hello.slowdown?.thresholdMilliseconds == 1500 && hello.slowdown?.comparedRunIDs == [4, 5, 6])
        #expect(hello.builds.first?.layers == [JSONSummary.Layer(index: 0, diffID: ResultFixtures.digest("layer-image-a"), size: 2048)])
        #expect(hello.culprit == nil)
    }

    @Test("the rendered summary validates against schemas/summary-v1.schema.json")
    func matchesSchema() throws {
        var interrupted = Self.eventfulReport()
        interrupted.interrupted = true
        for report in [Self.eventfulReport(), interrupted] {
            let text = try JSONSummary.render(report)
            #expect(try SchemaValidator.violations(of: text) == [])
        }
    }

    @Test("the schema rejects a summary whose digest or culprit verdict is malformed")
    func schemaCanFail() throws {
        let text = try JSONSummary.render(Self.eventfulReport())
        let badDigest = text.replacingOccurrences(of: "\"archiveDigest\" : \"sha256:", with: "\"archiveDigest\" : \"md5:")
        #expect(try !SchemaValidator.violations(of: badDigest).isEmpty)
        let badVerdict = text.replacingOccurrences(of: "\"verdict\" : \"confirmed\"", with: "\"verdict\" : \"probably\"")
        #expect(try !SchemaValidator.violations(of: badVerdict).isEmpty)
    }

    @Test("options that are not a JSON object are kept as text under an object")
    func optionsFallback() {
        #expect(JSONSummary.options("not json") == .object(JSONObject([("text", .string("not json"))])))
        #expect(JSONSummary.options("[1]") == .object(JSONObject([("text", .string("[1]"))])))
    }

    @Test("identical results render to identical text whatever their order")
    func deterministic() throws {
        var a = Self.eventfulReport()
        var b = a
        a.results.reverse()
        b.results.swapAt(0, 2)
        #expect(try JSONSummary.render(a) == JSONSummary.render(b))
    }
}
