import Foundation
import Testing

@testable import Harness

@Suite("Report in a browser")
struct ReportBrowserTests {
    static let chromium = "/usr/bin/chromium"

    @Test(
        "headless Chromium renders the spec names, verdicts and SVG charts",
        .enabled(if: FileManager.default.isExecutableFile(atPath: chromium), "needs \(chromium)"),
        .timeLimit(.minutes(2)))
    func chromiumDOM() throws {
        let directory = try ResultFixtures.temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: directory) }
        try ReportWriter.write(database: PlantedHistory.database(), outDirectory: directory.path)
        let page = directory.appendingPathComponent("index.html")

        let process = Process()
        process.executableURL = URL(fileURLWithPath: Self.chromium)
        process.arguments = [
            "--headless", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage", "--no-first-run",
            "--user-data-dir=\(directory.appendingPathComponent("profile").path)",
            "--dump-dom", page.absoluteString,
        ]
        let output = Pipe()
        process.standardOutput = output
        process.standardError = FileHandle.nullDevice
        try process.run()
        let data = output.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        let dom = String(decoding: data, as: UTF8.self)

        #expect(process.terminationStatus == 0)
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
}
