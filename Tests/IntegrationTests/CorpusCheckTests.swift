import Foundation
import Harness
import Testing

/// The real builder under the real harness: every variation applied, and what the builder
/// neutralises (time zone, locale, umask, HOME, PATH order, directory order, clock, user, CPUs,
/// hostname, build path) leaves the bytes unchanged; a negative control is caught.
@Suite("Corpus check", .serialized)
struct CorpusCheckTests {
    @Test("check passes twice in a row on corpus specs and the report shows both runs")
    func twiceAndReport() throws {
        let scratch = try CLI.temporaryDirectory("corpus-check")
        defer { try? FileManager.default.removeItem(atPath: scratch) }
        let specs = ["typical", "fakeroot-owner", "negative-control-now"].map { CLI.repositoryRoot + "/Corpus/\($0)/spec.json" }
        let database = scratch + "/repro.sqlite"
        for run in 1...2 {
            let result = try CLI.run(["check"] + specs + ["--db", database, "--json", scratch + "/run\(run).json"])
            #expect(result.status == 0, "run \(run): \(result.stderr)")
            #expect(result.stderr.contains("3 of 3 specs passed"), "\(result.stderr)")
        }
        let summary = try JSONDecoder().decode(JSONSummary.Document.self, from: Data(contentsOf: URL(fileURLWithPath: scratch + "/run2.json")))
        let outcomes = Dictionary(uniqueKeysWithValues: summary.specs.map { ($0.name, $0.outcome) })
        #expect(outcomes["Typical"] == .reproducible && outcomes["fakeroot"] == .reproducible)
        #expect(outcomes["now"] == .unreproducible)
        let applied = Set(summary.specs.flatMap { $0.builds.filter { $0.role == .experiment }.flatMap(\.variationsApplied) })
        #expect(applied.isSuperset(of: ["timezone", "locales", "umask", "home", "exec_path", "time", "num_cpus"]), "\(applied)")

        let report = try CLI.run(["report", "--db", database, "--out", scratch + "/reports"])
        #expect(report.status == 0, "\(report.stderr)")
        let html = try String(contentsOfFile: scratch + "/reports/index.html", encoding: .utf8)
        #expect(html.contains("#1") && html.contains("#2"), "the report covers both runs")
        let markdown = try String(contentsOfFile: scratch + "/reports/summary.md", encoding: .utf8)
        #expect(markdown.contains("2 runs"), "\(markdown.prefix(300))")
    }
}
