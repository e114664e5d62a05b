import Builder
import Foundation
import Testing

#if canImport(FoundationXML)
    import FoundationXML
#endif

@testable import Harness

/// Collects what a JUnit consumer would read.
private final class JUnitCollector: NSObject, XMLParserDelegate {
    struct Element {
        var name: String
        var attributes: [String: String]
        var text = ""
    }

    var elements: [Element] = []
    private var open: [Int] = []

    func parser(
        _ parser: XMLParser, didStartElement elementName: String, namespaceURI: String?, qualifiedName: String?,
        attributes: [String: String] = [:]
    ) {
        elements.append(Element(name: elementName, attributes: attributes))
        open.append(elements.count - 1)
    }

    func parser(_ parser: XMLParser, foundCharacters string: String) {
        if let index = open.last { elements[index].text += string }
    }

    func parser(_ parser: XMLParser, didEndElement elementName: String, namespaceURI: String?, qualifiedName: String?) {
        _ = open.popLast()
    }

    func named(_ name: String) -> [Element] { elements.filter { $0.name == name } }
}

@Suite("JUnit report")
struct JUnitReportTests {
    private func parse(_ xml: String) throws -> JUnitCollector {
        let parser = XMLParser(data: Data(xml.utf8))
        let collector = JUnitCollector()
        parser.delegate = collector
        let ok = parser.parse()
        if !ok { Issue.record("XML did not parse: \(parser.parserError.map { "\($0)" } ?? "unknown error")\n\(xml)") }
        return collector
    }

    static func report(_ results: [SpecResult], runInfo: RunInfo = ResultFixtures.run(startedAt: 86_400 * 365)) -> CheckReport {
        CheckReport(runID: 1, runInfo: runInfo, results: results, drift: [:], slowdowns: [], interrupted: false)
    }

    @Test("one testsuite with a testcase per spec, its file and a classname from its folder, failures and errors counted")
    func structure() throws {
        let results = [
            ResultFixtures.reproducible("hello"), ResultFixtures.unreproducible("date"),
            ResultFixtures.unreproducible("negative-control", passed: true), ResultFixtures.buildError("broken"),
        ]
        let xml = JUnitReport.render(Self.report(results))
        let parsed = try parse(xml)
        let suites = parsed.named("testsuite")
        #expect(suites.count == 1)
        #expect(suites.first?.attributes["tests"] == "4")
        #expect(suites.first?.attributes["failures"] == "1")
        #expect(suites.first?.attributes["errors"] == "1")
        #expect(suites.first?.attributes["skipped"] == "0")
        #expect(suites.first?.attributes["timestamp"] == "1971-01-01T00:00:00")
        let cases = parsed.named("testcase")
        #expect(cases.map { $0.attributes["name"] ?? "" } == ["broken", "date", "hello", "negative-control"])
        #expect(cases.allSatisfy { $0.attributes["classname"] == "specs" })
        #expect(cases.first { $0.attributes["name"] == "hello" }?.attributes["file"] == "specs/hello.json")
        #expect(cases.first { $0.attributes["name"] == "hello" }?.attributes["time"] == "2.000")

        let failure = try #require(parsed.named("failure").first)
        #expect(failure.attributes["type"] == "unreproducible")
        #expect(failure.attributes["message"] == ResultFixtures.unreproducible("date").explanation)
        #expect(failure.text.contains("culprit: time"))
        #expect(failure.text.contains("layer 1 /nix/store/bbb-date/stamp: mtime 1 vs 3600"))
        let error = try #require(parsed.named("error").first)
        #expect(error.attributes["type"] == "build-error")
        #expect(error.text.contains("store path /nix/store/zzz-missing not found"))

        let properties = Dictionary(
            parsed.named("property").map { ($0.attributes["name"] ?? "", $0.attributes["value"] ?? "") },
            uniquingKeysWith: { first, _ in first })
        #expect(properties["tool_version"] == "1.0.0")
        #expect(properties["control.archive_digest"] != nil && properties["control.image_id"] != nil)
        #expect(properties["spec_digest"]?.hasPrefix("sha256:") == true)
    }

    @Test("a spec's classname is its folder relative to the checkout, dotted")
    func classnames() throws {
        var result = ResultFixtures.reproducible("typical")
        result.specPath = "/work/repo/Corpus/typical/spec.json"
        let parsed = try parse(JUnitReport.render(Self.report([result]), relativeTo: "/work/repo"))
        let testcase = try #require(parsed.named("testcase").first)
        #expect(testcase.attributes["classname"] == "Corpus.typical")
        #expect(testcase.attributes["file"] == "Corpus/typical/spec.json")
        #expect(JUnitReport.classname("loose.json") == "repro-check")
    }

    @Test("drift, slowdown and a reproducing negative control each get their own failure type; a build error is an error")
    func distinctTypes() throws {
        var drifted = ResultFixtures.reproducible("drifted")
        drifted.passed = false
        drifted.explanation = "Digest drift: run 2 gave another image."
        var quiet = ResultFixtures.reproducible("quiet")
        quiet.expectation = .unreproducible
        quiet.passed = false
        var report = Self.report([drifted, ResultFixtures.reproducible("slow"), quiet])
        report.drift = ["specs/drifted.json": [DriftEntry(runID: 2, startedAt: 1, host: "beta", specName: "drifted", imageDigest: ResultFixtures.digest("x"))]]
        report.slowdowns = [Slowdown(
            specName: "slow", specPath: "specs/slow.json", runID: 1, wallMilliseconds: 9000, medianMilliseconds: 1000, madMilliseconds: 10,
            thresholdMilliseconds: 1500, comparedRunIDs: [1])]
        report.failOnSlowdown = true
        let parsed = try parse(JUnitReport.render(report))
        let types = Dictionary(uniqueKeysWithValues: parsed.named("failure").map { ($0.attributes["type"] ?? "", $0) })
        #expect(Set(types.keys) == ["drift", "slowdown", "reproducible"])
        #expect(types["drift"]?.text.contains("run 2 on beta") == true)
        #expect(types["slowdown"]?.attributes["message"]?.contains("threshold of 1500 ms") == true)
        report.failOnSlowdown = false
        #expect(try parse(JUnitReport.render(report)).named("failure").count == 2, "a slowdown fails only with --fail-on-slowdown")

        let error = JUnitReport.verdict(ResultFixtures.buildError("broken"), report: report)
        #expect(error?.kind == .error && error?.type == "build-error")
    }

    @Test("skipped variations are skipped testcases and properties, failures with --require-all-variations")
    func skippedVariations() throws {
        var report = Self.report([ResultFixtures.reproducible("hello")])
        report.skippedVariations = ["user_group": "needs root (running as uid 1000)", "fileordering": "/dev/fuse is missing"]
        var parsed = try parse(JUnitReport.render(report))
        #expect(parsed.named("testsuite").first?.attributes["skipped"] == "2")
        #expect(parsed.named("testsuite").first?.attributes["failures"] == "0")
        #expect(parsed.named("skipped").map { $0.attributes["message"] ?? "" }
            == ["fileordering was not applied: /dev/fuse is missing", "user_group was not applied: needs root (running as uid 1000)"])
        #expect(parsed.named("property").contains { $0.attributes["name"] == "skipped_variation.user_group" })
        report.requireAllVariations = true
        parsed = try parse(JUnitReport.render(report))
        #expect(parsed.named("testsuite").first?.attributes["failures"] == "2")
        #expect(parsed.named("failure").allSatisfy { $0.attributes["type"] == "skipped-variation" })
    }

    @Test("an interrupted run is an error, never green")
    func interrupted() throws {
        var report = Self.report([ResultFixtures.reproducible("hello")])
        report.interrupted = true
        let parsed = try parse(JUnitReport.render(report))
        #expect(parsed.named("testsuite").first?.attributes["errors"] == "1")
        let error = try #require(parsed.named("error").first)
        #expect(error.attributes["type"] == "interrupted")
        #expect(error.attributes["message"]?.contains("after 1 spec") == true)
    }

    @Test("names, messages and values with markup, quotes, newlines and control characters survive escaping")
    func escaping() throws {
        var nasty = ResultFixtures.unreproducible("<tag attr=\"x\"> & 'quote' ]]>")
        nasty.explanation = "line one\nline two with <b>&amp;</b> and \u{1B}[31m escape"
        nasty.differences = [Difference(layer: nil, path: "/a\"b", field: "content", control: "<", experiment: "\u{0}")]
        var run = ResultFixtures.run(host: "host\"<&>", startedAt: 0)
        run.options = #"{"a":"<&>"}"#
        let xml = JUnitReport.render(Self.report([nasty], runInfo: run))
        let parsed = try parse(xml)
        let testcase = try #require(parsed.named("testcase").first)
        #expect(testcase.attributes["name"] == "<tag attr=\"x\"> & 'quote' ]]>")
        let failure = try #require(parsed.named("failure").first)
        #expect(failure.attributes["message"] == "line one\nline two with <b>&amp;</b> and \\u{1B}[31m escape")
        #expect(failure.text.contains("/a\"b: content < vs \\u{0}"))
        #expect(parsed.named("testsuite").first?.attributes["hostname"] == "host\"<&>")
    }
}
