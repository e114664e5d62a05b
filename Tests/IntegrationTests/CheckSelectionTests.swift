import Foundation
import Testing

/// Choosing what `check` builds and how it reports it: spec folders, `--filter`,
/// `--fail-fast`, and per-spec lines in corpus order.
@Suite("check selection and order")
struct CheckSelectionTests {
    @Test("a spec folder is one spec, even beside other JSON files such as graph.json")
    func specFolder() throws {
        let fixture = try PlantedCorpus(label: "spec-folder")
        defer { fixture.remove() }
        let spec = try fixture.addSpec("typical", plant: "none")
        let folder = (spec as NSString).deletingLastPathComponent
        try "[]\n".write(toFile: folder + "/graph.json", atomically: true, encoding: .utf8)
        try "{}\n".write(toFile: folder + "/checks.json", atomically: true, encoding: .utf8)
        let output = try fixture.check(["--vary=@none"], paths: [folder])
        #expect(output.status == 0, "\(output.stderr)")
        #expect(output.stderr.contains("PASS [1/1] typical: reproducible"), "\(output.stderr)")
        #expect(output.stderr.contains("1 of 1 specs passed"), "\(output.stderr)")
    }

    @Test("--filter checks only the specs whose name or path matches, and exits 2 when none does")
    func filter() throws {
        let fixture = try PlantedCorpus(label: "filter")
        defer { fixture.remove() }
        for name in ["alpha", "beta", "gamma"] { try fixture.addSpec(name, plant: "none") }
        let output = try fixture.check(["--vary=@none", "--filter", "^b", "--filter", "gamma/"])
        #expect(output.status == 0, "\(output.stderr)")
        #expect(output.stderr.contains("PASS [1/2] beta") && output.stderr.contains("PASS [2/2] gamma"), "\(output.stderr)")
        #expect(!output.stderr.contains("alpha"), "\(output.stderr)")
        let none = try fixture.check(["--vary=@none", "--filter", "delta"])
        #expect(none.status == 2)
        #expect(none.stderr == "repro-check: --filter \"delta\" matches no spec name or path\n")
    }

    @Test("--fail-fast starts no further spec after a failure and says how many were not checked")
    func failFast() throws {
        let fixture = try PlantedCorpus(label: "fail-fast")
        defer { fixture.remove() }
        try fixture.addSpec("a-fails", plant: "fail")
        try fixture.addSpec("b-fine", plant: "none")
        try fixture.addSpec("c-fine", plant: "none")
        let output = try CLI.run(
            ["check", fixture.corpus, "--builder", fixture.builder, "--db", fixture.database, "--jobs", "1",
             "--vary=@none", "--fail-fast"])
        #expect(output.status == 1, "\(output.stderr)")
        #expect(output.stderr.contains("FAIL [1/3] a-fails: build-error"), "\(output.stderr)")
        #expect(!output.stderr.contains("b-fine") && !output.stderr.contains("c-fine"), "\(output.stderr)")
        #expect(output.stderr.contains("0 of 1 specs passed; 2 not checked (--fail-fast stopped after a failure); FAILED: 1 spec failed"), "\(output.stderr)")
    }

    @Test("per-spec lines come out in corpus order even when a later spec finishes first")
    func corpusOrder() throws {
        let fixture = try PlantedCorpus(label: "order")
        defer { fixture.remove() }
        // The first spec's builds sleep; with four build slots the second finishes long before.
        try fixture.addSpec("a-slow", plant: "slow")
        try fixture.addSpec("b-quick", plant: "none")
        let output = try fixture.check(["--vary=@none", "--jobs", "4"])
        #expect(output.status == 0, "\(output.stderr)")
        let lines = output.stderr.split(separator: "\n").filter { $0.hasPrefix("PASS") }
        #expect(lines == ["PASS [1/2] a-slow: reproducible", "PASS [2/2] b-quick: reproducible"], "\(output.stderr)")
    }
}
