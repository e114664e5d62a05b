import Foundation
import Testing

/// `repro-check replay RUN SPEC` against runs that `check` recorded with a planted builder.
@Suite("replay command")
struct ReplayCommandTests {
    /// `replay RUN SPEC` on the fixture's database: exit status and stdout with stderr.
    static func replay(_ run: String, _ spec: String, _ fixture: PlantedCorpus) throws -> (status: Int32, text: String) {
        let output = try CLI.run(["replay", run, spec, "--db", fixture.database, "--builder", fixture.builder])
        return (output.status, String(decoding: output.stdout, as: UTF8.self) + output.stderr)
    }

    @Test("rebuilds an unreproducible spec with the recorded values, explains the difference and exits 1")
    func different() throws {
        let fixture = try PlantedCorpus(label: "replay-different")
        defer { fixture.remove() }
        try fixture.addSpec("cpus", plant: "cpus")
        #expect(try fixture.check(["--vary=@none,+num_cpus"]).status == 1)
        let (status, text) = try Self.replay("1", "cpus", fixture)
        #expect(status == 1, "\(text)")
        #expect(text.contains("Replaying cpus ("), "\(text)")
        #expect(text.contains("experiment: num_cpus=0\n"), "\(text)")
        #expect(text.contains("(as recorded)"), "\(text)")
        #expect(text.contains("Different:"), "\(text)")
        #expect(text.contains("etc/value: content differs at byte"), "\(text)")
    }

    @Test("a reproducible spec replays identical and exits 0; it may be named by its folder, trailing slash and all")
    func identical() throws {
        let fixture = try PlantedCorpus(label: "replay-identical")
        defer { fixture.remove() }
        let spec = try fixture.addSpec("plain", plant: "none")
        #expect(try fixture.check(["--vary=@none,+home,+umask"]).status == 0)
        let folder = (spec as NSString).deletingLastPathComponent
        let (status, text) = try Self.replay("1", folder + "/", fixture)
        #expect(status == 0, "\(text)")
        #expect(text.contains("experiment: home=/nonexistent-second; umask=0002"), "\(text)")
        #expect(text.contains("Identical: both builds gave sha256:"), "\(text)")
    }

    @Test("an unknown run or spec is a one-line usage error with exit 2")
    func unknown() throws {
        let fixture = try PlantedCorpus(label: "replay-unknown")
        defer { fixture.remove() }
        try fixture.addSpec("plain", plant: "none")
        #expect(try fixture.check(["--vary=@none"]).status == 0)
        let run = try CLI.run(["replay", "7", "plain", "--db", fixture.database])
        #expect(run.status == 2 && run.stderr == "repro-check: \(fixture.database): there is no run 7\n", "\(run.stderr)")
        let spec = try CLI.run(["replay", "1", "other", "--db", fixture.database])
        #expect(spec.status == 2, "\(spec.stderr)")
        #expect(spec.stderr == "repro-check: \(fixture.database): run 1 did not check a spec named or at other\n")
    }
}
