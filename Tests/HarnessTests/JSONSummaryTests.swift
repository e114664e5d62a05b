import Builder
import Foundation
import Testing

@testable import Harness

@Suite("JSON summary")
struct JSONSummaryTests {
    @Test("decodes back into the document with totals, digests and differences")
    func decodes() throws {
        let results = [
            ResultFixtures.unreproducible("date"), ResultFixtures.reproducible("hello"), ResultFixtures.buildError("broken"),
        ]
        let run = ResultFixtures.run(startedAt: 1234.5)
        let text = try JSONSummary.render(results, runInfo: run, runID: 7)
        let document = try JSONDecoder().decode(JSONSummary.Document.self, from: Data(text.utf8))
        #expect(document == JSONSummary.document(results, runInfo: run, runID: 7))
        #expect(document.schemaVersion == 1)
        #expect(document.runID == 7)
        #expect(document.run == run)
        #expect(document.totals == JSONSummary.Totals(specs: 3, passed: 1, failed: 2, reproducible: 1, unreproducible: 1, buildErrors: 1))
        #expect(document.specs.map(\.name) == ["broken", "date", "hello"])
        let date = try #require(document.specs.first { $0.name == "date" })
        #expect(date.culprits == ["time"])
        #expect(date.differences.count == 2)
        #expect(date.builds.first?.imageDigest == ResultFixtures.digest("date-c"))
        #expect(text.contains("\"imageDigest\" : \"sha256:"))
    }

    @Test("identical results render to identical text whatever their order")
    func deterministic() throws {
        let run = ResultFixtures.run(startedAt: 1)
        let a = try JSONSummary.render([ResultFixtures.reproducible("a"), ResultFixtures.unreproducible("b")], runInfo: run)
        let b = try JSONSummary.render([ResultFixtures.unreproducible("b"), ResultFixtures.reproducible("a")], runInfo: run)
        #expect(a == b)
    }
}
