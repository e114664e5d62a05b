import Builder
import Testing

@testable import Harness

@Suite("Report formatting")
struct ReportFormatTests {
    @Test("formats epoch seconds as UTC civil time without a formatter")
    func utc() {
        #expect(ReportFormat.utc(0) == "1970-01-01 00:00:00Z")
        #expect(ReportFormat.utc(951_825_599.9) == "2000-02-29 11:59:59Z")
        #expect(ReportFormat.utc(1_700_000_000) == "2023-11-14 22:13:20Z")
        #expect(ReportFormat.utc(-1) == "1969-12-31 23:59:59Z")
        #expect(ReportFormat.utc(.nan) == "?")
    }

    @Test("formats durations and decimals without a locale")
    func numbers() {
        #expect(ReportFormat.duration(1234) == "1.2 s")
        #expect(ReportFormat.duration(250) == "250 ms")
        #expect(ReportFormat.decimal(-0.25) == "-0.3")
        #expect(ReportFormat.junitSeconds(5) == "0.005")
        #expect(ReportFormat.junitSeconds(61_250) == "61.250")
        #expect(SVGCharts.niceCeiling(130) == 200)
        #expect(SVGCharts.niceCeiling(220) == 250)
        #expect(SVGCharts.niceCeiling(0.7) == 1)
    }

    @Test("HTML escaping covers markup, both quotes and forbidden control characters")
    func html() {
        #expect(ReportFormat.html("<a href=\"x\">'&'</a>\u{7}") == "&lt;a href=&quot;x&quot;&gt;&#39;&amp;&#39;&lt;/a&gt;\\u{7}")
        #expect(ReportFormat.xmlAttribute("a\nb\tc") == "a&#10;b&#9;c")
    }

    @Test("anchors keep distinct spec names distinct")
    func anchors() {
        #expect(HTMLReport.anchor("hello-world") == "hello-world")
        #expect(HTMLReport.anchor("a b") != HTMLReport.anchor("a_b"))
        #expect(HTMLReport.anchor("a\"><x") == "a_22__3e__3c_x")
    }

    @Test("Markdown code spans survive backticks and pipes")
    func markdown() {
        #expect(MarkdownReport.code("a`b") == "`` a`b ``")
        #expect(MarkdownReport.code("a|b") == "`a\\|b`")
        #expect(MarkdownReport.inlineCode("a|b") == "`a|b`")
        #expect(MarkdownReport.text("*x* [y]") == "\\*x\\* \\[y\\]")
        #expect(MarkdownReport.sparkline([1, 5, 9]) == "▁▄█")
    }
}
