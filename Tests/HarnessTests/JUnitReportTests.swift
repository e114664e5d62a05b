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

    @Test("one testsuite with a testcase per spec, failures and errors counted")
    func structure() throws {
        let results = [
            ResultFixtures.reproducible("hello"), ResultFixtures.unreproducible("date"),
            ResultFixtures.unreproducible("negative-control", passed: true), ResultFixtures.buildError("broken"),
        ]
        let xml = JUnitReport.render(results, runInfo: ResultFixtures.run(startedAt: 86_400 * 365))
        let parsed = try parse(xml)
        let suites = parsed.named("testsuite")
        #expect(suites.count == 1)
        #expect(suites.first?.attributes["tests"] == "4")
        #expect(suites.first?.attributes["failures"] == "1")
        #expect(suites.first?.attributes["errors"] == "1")
        #expect(suites.first?.attributes["timestamp"] == "1971-01-01T00:00:00")
        let cases = parsed.named("testcase")
        #expect(cases.map { $0.attributes["name"] ?? "" } == ["broken", "date", "hello", "negative-control"])
        #expect(cases.allSatisfy { $0.attributes["classname"] == "repro-check" })
        #expect(cases.first { $0.attributes["name"] == "hello" }?.attributes["time"] == "2.000")

        let failure = try #require(parsed.named("failure").first)
        #expect(failure.attributes["message"] == ResultFixtures.unreproducible("date").explanation)
        #expect(failure.text.contains("culprits: time"))
        #expect(failure.text.contains("layer 1 /nix/store/bbb-date/stamp: mtime 1 vs 3600"))
        let error = try #require(parsed.named("error").first)
        #expect(error.attributes["type"] == "build-error")
        #expect(error.text.contains("store path /nix/store/zzz-missing not found"))

        let properties = Dictionary(
            parsed.named("property").map { ($0.attributes["name"] ?? "", $0.attributes["value"] ?? "") },
            uniquingKeysWith: { first, _ in first })
        #expect(properties["tool_version"] == "1.0.0")
        #expect(properties["control.image_digest"] != nil)
        #expect(properties["spec_digest"]?.hasPrefix("sha256:") == true)
    }

    @Test("names, messages and values with markup, quotes, newlines and control characters survive escaping")
    func escaping() throws {
        var nasty = ResultFixtures.unreproducible("<tag attr=\"x\"> & 'quote' ]]>")
        nasty.explanation = "line one\nline two with <b>&amp;</b> and \u{1B}[31m escape"
        nasty.differences = [Difference(layer: nil, path: "/a\"b", field: "content", control: "<", experiment: "\u{0}")]
        var run = ResultFixtures.run(host: "host\"<&>", startedAt: 0)
        run.options = #"{"a":"<&>"}"#
        let xml = JUnitReport.render([nasty], runInfo: run)
        let parsed = try parse(xml)
        let testcase = try #require(parsed.named("testcase").first)
        #expect(testcase.attributes["name"] == "<tag attr=\"x\"> & 'quote' ]]>")
        let failure = try #require(parsed.named("failure").first)
        #expect(failure.attributes["message"] == "line one\nline two with <b>&amp;</b> and \\u{1B}[31m escape")
        #expect(failure.text.contains("/a\"b: content < vs \\u{0}"))
        #expect(parsed.named("testsuite").first?.attributes["hostname"] == "host\"<&>")
    }
}
