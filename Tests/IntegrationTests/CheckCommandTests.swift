import Builder
import Foundation
import Harness
import Testing
#if canImport(Glibc)
import Glibc
#endif

/// `repro-check check` end to end, with a planted builder script standing in for the real one.
@Suite("check command")
struct CheckCommandTests {
    struct Planted: CustomTestStringConvertible, Sendable {
        var plant: String
        var culprit: Culprit
        var testDescription: String { "\(plant) → \(culprit.summary)" }

        init(plant: String, culprit: String) {
            self.plant = plant
            self.culprit = Culprit(variations: [culprit], verdict: .confirmed)
        }

        init(plant: String, culprit: Culprit) {
            self.plant = plant
            self.culprit = culprit
        }
    }

    static let planted: [Planted] = [
        Planted(plant: "clock", culprit: "time"),
        Planted(plant: "hostname", culprit: "domain_host"),
        Planted(plant: "domainname", culprit: "domain_host"),
        Planted(plant: "uid", culprit: "user_group"),
        Planted(plant: "cpus", culprit: "num_cpus"),
        Planted(plant: "random", culprit: Culprit(variations: [], verdict: .nondeterministic)),
        Planted(plant: "path", culprit: "build_path"),
    ]

    @Test("catches each planted nondeterminism, explains it down to file and field, and blames the right variation",
          arguments: planted)
    func blamesTheRightVariation(_ case: Planted) throws {
        let fixture = try PlantedCorpus(label: "blame-\(`case`.plant)")
        defer { fixture.remove() }
        try fixture.addSpec(`case`.plant, plant: `case`.plant)
        let json = fixture.root + "/summary.json"
        let output = try fixture.check(["--json", json])
        #expect(output.status == 1, "\(output.stderr)")
        #expect(output.stderr.contains("FAIL [1/1] \(`case`.plant): unreproducible"), "\(output.stderr)")

        let spec = try #require(try fixture.summary(json).specs.first)
        #expect(spec.outcome == .unreproducible)
        #expect(spec.culprit == `case`.culprit, "\(spec.explanation)")
        let fields = spec.differences.filter { $0.path == "etc/value" && $0.layer?.hasPrefix("layer 1") == true }.map(\.field)
        #expect(fields.contains("content"), "\(spec.differences)")
        // The planted value is a line of text: the explanation shows it as a unified diff.
        #expect(spec.explanation.contains("etc/value: content differs:\n    @@ "), "\(spec.explanation)")
        #expect(spec.differences.contains { $0.path == "etc/value" && $0.kind == .entryContent && $0.lines?.isEmpty == false })
        // Every chosen value is recorded, so the failure can be replayed.
        let experiment = try #require(spec.builds.first { $0.role == .experiment })
        #expect(experiment.variationValues["time"]?.contains("FAKETIME=+10y") == true)
        #expect(experiment.variationValues["user_group"] == "65534:65534")
    }

    @Test("a variation that reproduces the difference once but not on a repeat is reported flaky, not blamed")
    func flakyCulprit() throws {
        let fixture = try PlantedCorpus(label: "flaky")
        defer { fixture.remove() }
        try fixture.addSpec("flaky", plant: "flaky")
        let json = fixture.root + "/summary.json"
        let output = try fixture.check(["--vary=@none,+home", "--json", json])
        #expect(output.status == 1, "\(output.stderr)")
        #expect(output.stderr.contains("culprit: flaky: home reproduced it once, not on a repeat"), "\(output.stderr)")
        let spec = try #require(try fixture.summary(json).specs.first)
        #expect(spec.culprit == Culprit(variations: ["home"], verdict: .flaky))
        #expect(spec.builds.map(\.role.rawValue).contains("repeat-home"))
    }

    @Test("a negative control never reports drift, and its expected differences are one line")
    func negativeControlNeverDrifts() throws {
        let fixture = try PlantedCorpus(label: "negative-control")
        defer { fixture.remove() }
        // Unreproducible through HOME within a run (a confirmed culprit, stable controls), and
        // its control image changes between runs through an undeclared file: drift for any
        // other spec, but a negative control promises no stable image.
        try fixture.addSpec("noisy", plant: "home_external", expect: "unreproducible")
        try "first\n".write(toFile: fixture.root + "/external.txt", atomically: true, encoding: .utf8)
        #expect(try fixture.check(["--vary=@none,+home"]).status == 0)
        try "second\n".write(toFile: fixture.root + "/external.txt", atomically: true, encoding: .utf8)
        let json = fixture.root + "/summary.json"
        let second = try fixture.check(["--vary=@none,+home", "--json", json])
        #expect(second.status == 0, "\(second.stderr)")
        #expect(!second.stderr.contains("digest drift"), "\(second.stderr)")
        let spec = try #require(try fixture.summary(json).specs.first)
        #expect(spec.passed && spec.drift.isEmpty)
        #expect(spec.explanation.hasPrefix("Unreproducible, as this negative control expects: "), "\(spec.explanation)")
        #expect(!spec.explanation.contains("\n"), "\(spec.explanation)")
        let report = try CLI.run(["report", "--db", fixture.database, "--out", fixture.root + "/report"])
        #expect(report.status == 0, "\(report.stderr)")
        let markdown = try String(contentsOfFile: fixture.root + "/report/summary.md", encoding: .utf8)
        #expect(!markdown.contains("Digest drift") && !markdown.contains("| Layer | Path |"), "\(markdown)")
    }

    @Test("as non-root, a skipped variation shows in the summary line, the JSON and the JUnit, and --require-all-variations fails")
    func skippedVariationsAreVisible() throws {
        let fixture = try PlantedCorpus(label: "nonroot")
        defer { fixture.remove() }
        try fixture.addSpec("plain", plant: "none")
        // Everything the unprivileged check writes goes to a folder it owns.
        let out = fixture.root + "/out"
        try FileManager.default.createDirectory(atPath: out, withIntermediateDirectories: true)
        #expect(chown(out, Variation.experimentUID, Variation.experimentGID) == 0)
        func checkAsNobody(_ extra: [String]) throws -> CLI.Output {
            try CLI.run(
                ["--reuid=65534", "--regid=65534", "--clear-groups", "--", CLI.binary, "check", fixture.corpus,
                 "--builder", fixture.builder, "--db", out + "/repro.sqlite", "--vary=@none,+home,+user_group",
                 "--json", out + "/summary.json", "--junit", out + "/junit.xml"] + extra,
                executable: "/usr/bin/setpriv")
        }
        let lenient = try checkAsNobody([])
        #expect(lenient.status == 0, "\(lenient.stderr)")
        #expect(lenient.stderr.contains("skipping variation user_group: needs root (running as uid 65534)"), "\(lenient.stderr)")
        #expect(lenient.stderr.contains("1 of 1 specs passed; 1 variation skipped (user_group)"), "\(lenient.stderr)")
        let document = try fixture.summary(out + "/summary.json")
        #expect(document.skippedVariations.map(\.name) == ["user_group"] && document.passed)
        let junit = try String(contentsOfFile: out + "/junit.xml", encoding: .utf8)
        #expect(junit.contains("skipped=\"1\"") && junit.contains("skipped_variation.user_group"), "\(junit)")

        let strict = try checkAsNobody(["--require-all-variations"])
        #expect(strict.status == 1, "\(strict.stderr)")
        #expect(strict.stderr.contains("FAILED: --require-all-variations and user_group skipped"), "\(strict.stderr)")
        #expect(try !fixture.summary(out + "/summary.json").passed)
    }

    @Test("build_path copies what a spec reads outside its folder, so ../elsewhere inputs still resolve under check")
    func buildPathCopiesEscapingInputs() throws {
        let root = try CLI.temporaryDirectory("escaping")
        defer { try? FileManager.default.removeItem(atPath: root) }
        let fm = FileManager.default
        try fm.createDirectory(atPath: root + "/specs", withIntermediateDirectories: true)
        try fm.createDirectory(atPath: root + "/elsewhere", withIntermediateDirectories: true)
        try fm.copyItem(atPath: CLI.repositoryRoot + "/Corpus/store", toPath: root + "/elsewhere/store")
        try fm.copyItem(atPath: CLI.repositoryRoot + "/Corpus/typical/graph.json", toPath: root + "/elsewhere/graph.json")
        var spec = try JSONSerialization.jsonObject(
            with: Data(contentsOf: URL(fileURLWithPath: CLI.repositoryRoot + "/Corpus/typical/spec.json"))) as? [String: Any] ?? [:]
        spec["store"] = "../elsewhere/store"
        spec["graph"] = "../elsewhere/graph.json"
        let path = root + "/specs/loose.json"
        try JSONSerialization.data(withJSONObject: spec, options: [.sortedKeys]).write(to: URL(fileURLWithPath: path))

        let build = try CLI.run(["build", path, "-o", root + "/direct.tar"])
        #expect(build.status == 0, "\(build.stderr)")
        let json = root + "/summary.json"
        let check = try CLI.run(["check", path, "--db", root + "/repro.sqlite", "--vary=@none,+build_path", "--json", json])
        #expect(check.status == 0, "\(check.stderr)")
        let document = try JSONDecoder().decode(JSONSummary.Document.self, from: Data(contentsOf: URL(fileURLWithPath: json)))
        let experiment = try #require(document.specs.first?.builds.first { $0.role == .experiment })
        #expect(experiment.variationsApplied == ["build_path"])
        #expect(experiment.variationValues["build_path"]?.hasSuffix("/build-path/" + URL(fileURLWithPath: root).lastPathComponent) == true)
    }

    @Test("what the builder neutralises (time zone, locale, umask, HOME, PATH order, directory order) stays reproducible")
    func neutralisedVariationsReproduce() throws {
        let fixture = try PlantedCorpus(label: "neutral")
        defer { fixture.remove() }
        try fixture.addSpec("plain", plant: "none")
        let junit = fixture.root + "/out/junit.xml"
        let json = fixture.root + "/summary.json"
        let output = try fixture.check([
            "--vary=@none,+timezone,+locales,+umask,+home,+exec_path,+fileordering,+environment", "--junit", junit,
            "--json", json,
        ])
        #expect(output.status == 0, "\(output.stderr)")
        #expect(output.stderr.contains("PASS [1/1] plain: reproducible"), "\(output.stderr)")
        let spec = try #require(try fixture.summary(json).specs.first)
        let experiment = try #require(spec.builds.first { $0.role == .experiment })
        #expect(Set(experiment.variationsApplied) == ["timezone", "locales", "umask", "home", "exec_path", "fileordering", "environment"])
        #expect(experiment.wallMilliseconds > 0 && experiment.peakRSSKiB > 0)
        let xml = try String(contentsOfFile: junit, encoding: .utf8)
        #expect(xml.contains("<testcase") && xml.contains("plain") && !xml.contains("<failure"))
    }

    @Test("a spec expecting to be unreproducible passes when it is, and fails when it is not")
    func negativeControls() throws {
        let fixture = try PlantedCorpus(label: "negative")
        defer { fixture.remove() }
        try fixture.addSpec("noisy", plant: "random", expect: "unreproducible")
        #expect(try fixture.check().status == 0)
        try fixture.addSpec("quiet", plant: "none", expect: "unreproducible")
        let output = try fixture.check(["--vary=@none,+home"])
        #expect(output.status == 1)
        #expect(output.stderr.contains("FAIL [2/2] quiet: reproducible (expected unreproducible)"), "\(output.stderr)")
    }

    @Test("exits 2 for a bad --vary, a missing corpus or a broken spec, and 1 for a failing build")
    func exitCodes() throws {
        let fixture = try PlantedCorpus(label: "exits")
        defer { fixture.remove() }
        try fixture.addSpec("plain", plant: "none")
        let badVary = try fixture.check(["--vary=-tme"])
        #expect(badVary.status == 2)
        #expect(badVary.stderr.contains("\"-tme\" names no variation"), "\(badVary.stderr)")
        let missing = try fixture.check(paths: [fixture.root + "/nowhere"])
        #expect(missing.status == 2)
        #expect(missing.stderr.contains("no such spec file or corpus folder"))
        let broken = fixture.root + "/broken.json"
        try "{\"name\": ".write(toFile: broken, atomically: true, encoding: .utf8)
        let brokenRun = try fixture.check(paths: [broken])
        #expect(brokenRun.status == 2)
        #expect(brokenRun.stderr.contains("broken.json"), "\(brokenRun.stderr)")
        let failing = try fixture.addSpec("failing", plant: "fail")
        let failed = try fixture.check(["--vary=@none"], paths: [failing])
        #expect(failed.status == 1)
        #expect(failed.stderr.contains("build-error") && failed.stderr.contains("planted failure"), "\(failed.stderr)")
    }

    @Test("a digest that drifts between runs of the same spec and tool version fails the second run")
    func digestDrift() throws {
        let fixture = try PlantedCorpus(label: "drift")
        defer { fixture.remove() }
        try fixture.addSpec("external", plant: "external")
        try "first\n".write(toFile: fixture.root + "/external.txt", atomically: true, encoding: .utf8)
        #expect(try fixture.check(["--vary=@none,+home"]).status == 0)
        try "second\n".write(toFile: fixture.root + "/external.txt", atomically: true, encoding: .utf8)
        let json = fixture.root + "/summary.json"
        let second = try fixture.check(["--vary=@none,+home", "--json", json])
        #expect(second.status == 1)
        #expect(second.stderr.contains("digest drift"), "\(second.stderr)")
        let spec = try #require(try fixture.summary(json).specs.first)
        #expect(spec.outcome == .reproducible && !spec.passed)
        #expect(spec.explanation.contains("Digest drift") && spec.explanation.contains("run 1"))
    }

    @Test("a check killed mid-run leaves a consistent database that report still reads")
    func killedRun() throws {
        let fixture = try PlantedCorpus(label: "killed")
        defer { fixture.remove() }
        try fixture.addSpec("a-fast", plant: "none")
        try fixture.addSpec("b-slow", plant: "slow")
        try fixture.addSpec("c-slow", plant: "slow")
        // Its work folder, left behind by the kill, stays inside the fixture.
        try FileManager.default.createDirectory(atPath: fixture.root + "/tmp", withIntermediateDirectories: true)
        let process = try Background.start(
            ["check", fixture.corpus, "--builder", fixture.builder, "--db", fixture.database, "--jobs", "1", "--vary=@none,+home"],
            environment: ProcessInfo.processInfo.environment.merging(["TMPDIR": fixture.root + "/tmp"]) { $1 })
        // Wait until the first spec is recorded, so the kill lands inside the second.
        var recorded = 0
        _ = Background.waitUntil(seconds: 10) {
            guard let database = try? ResultsDatabase.snapshot(path: fixture.database), let run = try? database.runs().first else { return false }
            recorded = (try? database.specResults(runID: run.id).count) ?? 0
            return recorded > 0
        }
        kill(process.processIdentifier, SIGKILL)
        process.waitUntilExit()
        #expect(recorded == 1)

        let database = try ResultsDatabase.snapshot(path: fixture.database)
        let run = try #require(try database.runs().first)
        #expect(run.info.endedAt == nil && run.info.outcome == nil)
        #expect(try database.specResults(runID: run.id).map(\.specName) == ["a-fast"])
        let report = try CLI.run(["report", "--db", fixture.database, "--out", fixture.root + "/report"])
        #expect(report.status == 0, "\(report.stderr)")
        let html = try String(contentsOfFile: fixture.root + "/report/index.html", encoding: .utf8)
        #expect(html.contains("a-fast"))
    }

    @Test("SIGINT stops the builds, marks the run interrupted and exits 130")
    func interruptedRun() throws {
        let fixture = try PlantedCorpus(label: "sigint")
        defer { fixture.remove() }
        try fixture.addSpec("slow", plant: "slow")
        let started = Date()
        let process = try Background.start(["check", fixture.corpus, "--builder", fixture.builder, "--db", fixture.database, "--vary=@none"])
        usleep(700_000)
        kill(process.processIdentifier, SIGINT)
        process.waitUntilExit()
        #expect(process.terminationStatus == 130)
        #expect(Date().timeIntervalSince(started) < 2.9, "the sleeping builds were stopped, not waited for")
        let run = try #require(try ResultsDatabase(path: fixture.database).runs().first)
        #expect(run.info.interrupted && run.info.endedAt != nil)
    }

    @Test("merge combines two shards' databases and report writes both pages")
    func shardsMergeAndReport() throws {
        let fixture = try PlantedCorpus(label: "merge")
        defer { fixture.remove() }
        try fixture.addSpec("one", plant: "none")
        try fixture.addSpec("two", plant: "none")
        let first = try CLI.run(["check", fixture.corpus, "--builder", fixture.builder, "--db", fixture.root + "/a.sqlite",
                                 "--shard", "1/2", "--vary=@none,+home", "--json", fixture.root + "/a.json"])
        let second = try CLI.run(["check", fixture.corpus, "--builder", fixture.builder, "--db", fixture.root + "/b.sqlite",
                                  "--shard", "2/2", "--vary=@none,+home"])
        #expect(first.status == 0 && second.status == 0, "\(first.stderr)\(second.stderr)")
        #expect(try fixture.summary(fixture.root + "/a.json").specs.map(\.name) == ["one"])
        let merged = try CLI.run(["merge", fixture.root + "/a.sqlite", fixture.root + "/b.sqlite", "-o", fixture.root + "/c.sqlite"])
        #expect(merged.status == 0, "\(merged.stderr)")
        let database = try ResultsDatabase(path: fixture.root + "/c.sqlite")
        #expect(try database.runs().count == 2)
        let report = try CLI.run(["report", "--db", fixture.root + "/c.sqlite", "--out", fixture.root + "/report"])
        #expect(report.status == 0, "\(report.stderr)")
        let markdown = try String(contentsOfFile: fixture.root + "/report/summary.md", encoding: .utf8)
        #expect(markdown.contains("one") && markdown.contains("two"))
        #expect(try CLI.run(["check", fixture.corpus, "--shard", "3/2"]).status == 2)
    }
}
