import Builder
import Foundation
import Testing

@testable import Harness

@Suite("Check gate")
struct CheckGateTests {
    static func report(_ results: [SpecResult]) -> CheckReport {
        CheckReport(runID: 4, runInfo: ResultFixtures.run(startedAt: 1), results: results, drift: [:], slowdowns: [], interrupted: false)
    }

    static let slowdown = Slowdown(
        specName: "hello", specPath: "specs/hello.json", runID: 4, wallMilliseconds: 4000, medianMilliseconds: 1000, madMilliseconds: 20,
        thresholdMilliseconds: 1500, comparedRunIDs: [1, 2, 3])

    @Test("a slowdown fails only with --fail-on-slowdown, and the summary line says so")
    func slowdownSaysWhy() {
        var report = Self.report([ResultFixtures.reproducible("hello")])
        report.slowdowns = [Self.slowdown]
        #expect(report.passed)
        #expect(report.summaryLine == "1 of 1 specs passed; 1 slowdown (not failing without --fail-on-slowdown)")
        report.failOnSlowdown = true
        #expect(!report.passed)
        #expect(report.gateFailures == [.slowdown(specs: ["hello"])])
        #expect(report.summaryLine == "1 of 1 specs passed; FAILED: --fail-on-slowdown and hello slowed down")
    }

    @Test("skipped variations show in the summary line and fail with --require-all-variations")
    func skippedVariations() {
        var report = Self.report([ResultFixtures.reproducible("hello")])
        report.skippedVariations = ["user_group": "needs root", "domain_host": "needs root"]
        #expect(report.passed)
        #expect(report.summaryLine == "1 of 1 specs passed; 2 variations skipped (domain_host, user_group)")
        report.requireAllVariations = true
        #expect(!report.passed)
        #expect(report.summaryLine.hasSuffix("FAILED: --require-all-variations and domain_host, user_group skipped"))
    }

    @Test("failing specs, drift and an interruption are each a reason")
    func reasons() {
        var report = Self.report([ResultFixtures.unreproducible("date"), ResultFixtures.reproducible("hello")])
        report.drift = ["specs/hello.json": [DriftEntry(runID: 1, startedAt: 0, host: "a", specName: "hello", imageDigest: ResultFixtures.digest("x"))]]
        report.interrupted = true
        #expect(report.gateFailures == [.interrupted, .specsFailed(count: 1), .drift(specs: ["hello"])])
    }

    @Test("GitHub annotations name the failing spec's file, escape newlines and say why the gate failed")
    func annotations() {
        var date = ResultFixtures.unreproducible("date")
        date.specPath = "/checkout/Corpus/date/spec.json"
        date.explanation = "Unreproducible: 50% differ\nCulprit: time"
        var report = Self.report([date, ResultFixtures.reproducible("hello")])
        report.skippedVariations = ["user_group": "needs root"]
        report.requireAllVariations = true
        let lines = GitHubAnnotations.errors(report, relativeTo: "/checkout")
        #expect(lines == [
            "::error file=Corpus/date/spec.json,title=repro-check%3A date (unreproducible)::Unreproducible: 50%25 differ%0ACulprit: time",
            "::error title=repro-check::--require-all-variations and user_group skipped",
        ])
    }
}
