import Foundation
import Testing

@testable import Harness

@Suite("Report in a browser")
struct ReportBrowserTests {
    static let chromium = "/usr/bin/chromium"

    /// Runs headless Chromium on `page` and returns the DOM after scripts ran. Chromium's
    /// window is never narrower than 500 px, so narrower pages are measured in an iframe.
    static func dumpDOM(_ page: URL, width: Int = 1280, profile: URL) throws -> (status: Int32, dom: String) {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: chromium)
        process.arguments = [
            "--headless", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage", "--no-first-run",
            "--hide-scrollbars", "--allow-file-access-from-files", "--user-data-dir=\(profile.path)",
            "--window-size=\(max(width, 500)),2000",
            "--dump-dom", page.absoluteString,
        ]
        let output = Pipe()
        process.standardOutput = output
        process.standardError = FileHandle.nullDevice
        try process.run()
        let data = output.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        return (process.terminationStatus, String(decoding: data, as: UTF8.self))
    }

    /// A page that shows `index.html` in a frame `width` px wide and, once it has loaded,
    /// measures it: the frame's layout viewport, the document's scroll width and the right
    /// edge of the widest element (SVG text included), written into `<body>` attributes.
    static func probe(width: Int) -> String {
        """
        <!DOCTYPE html><html><body style="margin:0">
        <iframe id="page" src="index.html" style="width:\(width)px;height:2000px;border:0"></iframe>
        <script>
        window.addEventListener("load", () => {
          const page = document.getElementById("page").contentDocument;
          let right = 0, widest = "";
          for (const element of page.querySelectorAll("body *")) {
            const box = element.getBoundingClientRect();
            if (box.right > right) { right = box.right; widest = element.tagName + " " + (element.textContent || "").slice(0, 40); }
          }
          document.body.setAttribute("data-viewport", String(page.documentElement.clientWidth));
          document.body.setAttribute("data-scroll-width", String(page.documentElement.scrollWidth));
          document.body.setAttribute("data-right", String(Math.ceil(right)));
          document.body.setAttribute("data-widest", widest.replace(/[^A-Za-z0-9 .:-]/g, "_"));
        });
        </script></body></html>
        """
    }

    static func attribute(_ name: String, in dom: String) -> String? {
        guard let start = dom.range(of: "\(name)=\"") else { return nil }
        return dom[start.upperBound...].split(separator: "\"", maxSplits: 1).first.map(String.init)
    }

    @Test(
        "headless Chromium renders the spec names, verdicts and SVG charts",
        .enabled(if: FileManager.default.isExecutableFile(atPath: chromium), "needs \(chromium)"),
        .timeLimit(.minutes(2)))
    func chromiumDOM() throws {
        let directory = try ResultFixtures.temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: directory) }
        try ReportWriter.write(database: PlantedHistory.database(), outDirectory: directory.path)
        let page = directory.appendingPathComponent("index.html")
        let (status, dom) = try Self.dumpDOM(page, profile: directory.appendingPathComponent("profile"))

        #expect(status == 0)
        for name in ["hello", "date", "broken", "negative-control", "drifty"] {
            #expect(dom.contains(">\(name)</a>"), "spec \(name) missing from the DOM")
        }
        for verdict in ["pass", "fail", "error"] {
            #expect(dom.contains("<span class=\"badge \(verdict)\">\(verdict)</span>"), "verdict \(verdict) missing")
        }
        #expect(dom.contains("<svg"))
        #expect(dom.contains("<circle"))
        // The hostile spec name arrived as text, not as a script element.
        #expect(!dom.contains("<script>alert"))
        #expect(dom.contains("&lt;script&gt;alert"))
    }

    @Test(
        "nothing runs off the screen at 390 px (a phone) or 1280 px wide",
        .enabled(if: FileManager.default.isExecutableFile(atPath: chromium), "needs \(chromium)"),
        .timeLimit(.minutes(2)),
        arguments: [390, 1280])
    func noOverflow(width: Int) throws {
        let directory = try ResultFixtures.temporaryDirectory("noOverflow\(width)")
        defer { try? FileManager.default.removeItem(at: directory) }
        // The planted story (hostile names, long explanations, difference tables) and a
        // 45-run history with a long spec name.
        let long = try ReportTimelineTests.database(
            runs: 45, specs: ["a-spec-with-a-rather-long-name-that-has-no-spaces-in-it": { $0 % 7 != 3 }])
        for (name, database) in [("planted", try PlantedHistory.database()), ("long", long)] {
            let out = directory.appendingPathComponent(name)
            try ReportWriter.write(database: database, outDirectory: out.path)
            let probed = out.appendingPathComponent("probe.html")
            try Data(Self.probe(width: width).utf8).write(to: probed)
            let (status, dom) = try Self.dumpDOM(probed, width: width, profile: directory.appendingPathComponent("profile"))
            #expect(status == 0)
            let viewport = try #require(Self.attribute("data-viewport", in: dom).flatMap { Int($0) }, "the probe did not run")
            let scrollWidth = try #require(Self.attribute("data-scroll-width", in: dom).flatMap { Int($0) })
            let right = try #require(Self.attribute("data-right", in: dom).flatMap { Int($0) })
            let widest = Self.attribute("data-widest", in: dom) ?? ""
            #expect(viewport == width, "\(name): the window is \(viewport) px wide, not \(width)")
            #expect(scrollWidth <= width, "\(name): the page scrolls sideways to \(scrollWidth) px")
            #expect(right <= width, "\(name): \(widest) ends at \(right) px")
        }
    }
}
