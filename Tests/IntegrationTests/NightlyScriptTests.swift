import Foundation
import Harness
import Testing
#if canImport(Glibc)
import Glibc
#endif

/// `Scripts/nightly` end to end on two simulated nights, with a small corpus copied from
/// `Corpus/` and the built binary: what the nightly workflow runs, run locally.
@Suite("nightly script")
struct NightlyScriptTests {
    struct Night {
        let root: String
        var corpus: String { root + "/corpus" }
        var history: String { root + "/history/repro.sqlite" }
        var work: String { root + "/work" }
        var reports: String { root + "/reports" }
        /// Read by a build command but declared nowhere: changing it changes the image while
        /// the spec digest stays the same, which is exactly digest drift.
        var undeclared: String { root + "/undeclared.txt" }

        init() throws {
            root = try CLI.temporaryDirectory("nightly")
            let fm = FileManager.default
            try fm.createDirectory(atPath: corpus, withIntermediateDirectories: true)
            for entry in ["store", "typical", "no-store-paths"] {
                try fm.copyItem(atPath: CLI.repositoryRoot + "/Corpus/" + entry, toPath: corpus + "/" + entry)
            }
            try edit("no-store-paths") { $0["extraCommands"] = "cat \(undeclared) > undeclared.txt" }
        }

        func edit(_ spec: String, _ change: (inout [String: Any]) -> Void) throws {
            let path = corpus + "/" + spec + "/spec.json"
            var object = try JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: path))) as? [String: Any] ?? [:]
            change(&object)
            try JSONSerialization.data(withJSONObject: object, options: [.sortedKeys]).write(to: URL(fileURLWithPath: path))
        }

        /// `Scripts/nightly run` with two shards and one cheap variation, as night `group`.
        func run(group: String) throws -> CLI.Output {
            var environment = ProcessInfo.processInfo.environment.filter { !$0.key.hasPrefix("GITHUB_") }
            environment["REPRO_CHECK"] = CLI.binary
            environment["NIGHTLY_RUN_GROUP"] = group
            return try CLI.run(
                [CLI.repositoryRoot + "/Scripts/nightly", "run", "--shards", "2", "--history", history, "--work", work,
                 "--reports", reports, corpus, "--", "--vary=@none,+home", "--jobs", "2"],
                environment: environment, executable: "/bin/bash")
        }

        /// Every shard's `--json` summary of the last night, spec by name.
        func specs() throws -> [String: JSONSummary.Spec] {
            var specs: [String: JSONSummary.Spec] = [:]
            for shard in 1...2 {
                let data = try Data(contentsOf: URL(fileURLWithPath: "\(work)/summary-\(shard).json"))
                for spec in try JSONDecoder().decode(JSONSummary.Document.self, from: data).specs { specs[spec.name] = spec }
            }
            return specs
        }

        func remove() { try? FileManager.default.removeItem(atPath: root) }
    }

    @Test("night 2 starts from night 1's merged history: drift is caught, an edited spec is no drift, shards are one run")
    func twoNights() throws {
        let night = try Night()
        defer { night.remove() }

        try "night one\n".write(toFile: night.undeclared, atomically: true, encoding: .utf8)
        let first = try night.run(group: "night-1")
        #expect(first.status == 0, "\(first.stderr)")
        #expect(first.stderr.contains("no history at"), "\(first.stderr)")
        #expect(FileManager.default.fileExists(atPath: night.history))
        let afterFirst = try ResultsDatabase(path: night.history)
        #expect(try afterFirst.runs().map(\.info.runGroup) == ["night-1", "night-1"])
        try afterFirst.close()

        // Night 2: the undeclared input changes (drift); the typical spec itself is edited (a new
        // spec digest, so a new image is expected).
        try "night two\n".write(toFile: night.undeclared, atomically: true, encoding: .utf8)
        try night.edit("typical") { $0["tag"] = "1.1" }
        let second = try night.run(group: "night-2")
        #expect(second.status == 1, "\(second.stderr)")
        #expect(second.stderr.contains("starts from the history in"), "\(second.stderr)")
        #expect(second.stderr.contains("digest drift in nostore"), "\(second.stderr)")

        // Real output, with drift in it, meets the published contract.
        let validation = try CLI.run(
            ["python3", CLI.repositoryRoot + "/Scripts/validate-summary", night.work + "/summary-1.json",
             night.work + "/summary-2.json"],
            executable: "/usr/bin/env")
        #expect(validation.status == 0, "\(String(decoding: validation.stdout, as: UTF8.self))\(validation.stderr)")

        let specs = try night.specs()
        let drifted = try #require(specs["nostore"])
        #expect(!drifted.passed && drifted.drift.count == 1, "\(drifted.explanation)")
        let edited = try #require(specs["Typical"])
        #expect(edited.passed && edited.drift.isEmpty, "\(edited.explanation)")

        let history = try ResultsDatabase(path: night.history)
        defer { try? history.close() }
        #expect(try history.runs().map { $0.info.runGroup ?? "" } == ["night-1", "night-1", "night-2", "night-2"])
        // Results are keyed by spec path; these names are unique in the corpus.
        func digests(of name: String) throws -> [DigestHistoryEntry] {
            let spec = try #require(try history.specs().first { $0.name == name })
            return try history.digestHistory(specPath: spec.path)
        }
        #expect(try digests(of: "nostore").count == 2, "night 2 sees night 1")
        #expect(try digests(of: "Typical").count == 2)
        let merged = try ResultsDatabase(path: night.reports + "/repro.sqlite")
        #expect(try merged.runs().count == 4)
        try merged.close()

        let markdown = try String(contentsOfFile: night.reports + "/summary.md", encoding: .utf8)
        #expect(markdown.contains("· 2 runs"), "the shards of a night are one run:\n\(markdown)")
        #expect(markdown.contains("Latest run group night-2 (runs #3, #4) started"), "\(markdown)")
        #expect(markdown.contains("| 4 | night-2 |") && markdown.contains("| 1 | night-1 |"), "\(markdown)")
        #expect(markdown.contains("**Digest drift**: `nostore`"), "\(markdown)")
        #expect(markdown.contains("input changed"), "\(markdown)")
        #expect(!markdown.contains("**Digest drift**: `Typical`"))
        // Only the specs whose two builds differed keep their archives: here none did.
        #expect(!FileManager.default.fileExists(atPath: night.work + "/artifacts-1"))
    }

    @Test("publish refuses to run with nothing to merge, naming what is missing")
    func publishWithoutInputs() throws {
        let night = try Night()
        defer { night.remove() }
        var environment = ProcessInfo.processInfo.environment
        environment["REPRO_CHECK"] = CLI.binary
        let output = try CLI.run(
            [CLI.repositoryRoot + "/Scripts/nightly", "publish", "--history", night.history, "--shards", night.work,
             "--reports", night.reports],
            environment: environment, executable: "/bin/bash")
        #expect(output.status == 2)
        #expect(output.stderr.contains("neither \(night.history) nor any"), "\(output.stderr)")
    }
}
