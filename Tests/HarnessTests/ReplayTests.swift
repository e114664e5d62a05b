import Builder
import Foundation
import Testing

@testable import Harness

@Suite("Replay of a recorded run")
struct ReplayTests {
    /// A host unlike the one that recorded the run: other CPUs, PATH, hostname and zoneinfo.
    static let today: HostFacts = {
        var host = VariationTests.root
        host.cpuCount = 8
        host.hostname = "today"
        host.zoneinfo = []
        return host
    }()

    static let recordedControl = BuildResult(
        role: .control,
        variationValues: ["num_cpus": "0-3", "umask": "0022", "exec_path": "/a:/b", "domain_host": "then", "timezone": "UTC"])
    static let recordedExperiment = BuildResult(
        role: .experiment, variationsApplied: ["domain_host", "exec_path", "num_cpus", "timezone", "umask"],
        variationValues: [
            "num_cpus": "1", "umask": "0002", "exec_path": "/b:/a",
            "domain_host": "reprotest-capture-host, domain reprotest-capture-domain", "timezone": "GMT+12",
        ])

    static func replay() -> Replay {
        Replay(control: recordedControl, experiment: recordedExperiment, host: today, builder: "/bin/rc", workRoot: "/w")
    }

    @Test("builds the control and the experiment with the recorded values, not this host's")
    func recordedValues() {
        let replay = Self.replay()
        let control = replay.plan(.control, specPath: "/c/s/spec.json")
        #expect(control.argv.contains("0-3") && !control.argv.contains("0-7"), "\(control.argv)")
        #expect(control.environment["PATH"] == "/usr/bin:/bin", "exec_path is not varied in the control")
        #expect(control.environment["TZ"] == "UTC")
        let experiment = replay.plan(.experiment, specPath: "/c/s/spec.json")
        #expect(experiment.argv.joined(separator: " ").contains("taskset -c 1 "), "\(experiment.argv)")
        #expect(experiment.argv.contains("umask 0002; exec \"$@\""))
        #expect(experiment.environment["PATH"] == "/b:/a")
        #expect(experiment.environment["TZ"] == "GMT+12", "the recorded zone, though this host has no zoneinfo for it")
        // domain_host records `NAME, domain DOMAIN`; the replay sets NAME again.
        #expect(experiment.argv.contains("reprotest-capture-host"))
        #expect(Replay.values(experiment).contains("umask=0002"))
    }

    @Test("varies only what the recorded experiment varied, and says where it departs from this host")
    func notes() {
        let replay = Self.replay()
        #expect(replay.varied == [.domainHost, .execPath, .numCPUs, .timezone, .umask])
        #expect(replay.notes.contains("num_cpus: the recorded control value 0-3 replaces this host's 0-7"), "\(replay.notes)")
        #expect(replay.notes.contains("exec_path: the recorded experiment value /b:/a replaces this host's /bin:/usr/bin"))
        #expect(!replay.notes.contains { $0.hasPrefix("umask") }, "umask's values are the same everywhere")
    }

    @Test("a recorded variation this host cannot apply is named, not silently dropped")
    func unavailable() {
        var host = Self.today
        host.uid = 1000
        let replay = Replay(
            control: Self.recordedControl, experiment: Self.recordedExperiment, host: host, builder: "/bin/rc",
            workRoot: "/w")
        #expect(replay.notes.contains("domain_host was applied in the recorded run but cannot be here: needs root (running as uid 1000)"))
        #expect(!replay.varied.contains(.domainHost))
    }

    static func recorded(_ pairs: [(CheckOutput, same: Bool)]) -> SpecResult {
        var result = ResultFixtures.reproducible("hello")
        result.builds = pairs.flatMap { output, same in
            [BuildRole.control, .experiment].map { role in
                var build = BuildResult(role: role)
                build.format = output.format
                build.compression = output.compression
                build.imageDigest = ResultFixtures.digest(same || role == .control ? "\(output)" : "\(output)-other")
                return build
            }
        }
        return result
    }

    @Test("replays the output asked for, else the first whose builds differed, else the first")
    func picksOutput() throws {
        let zstd = try #require(CheckOutput(name: "oci-archive+zstd"))
        let dual = try #require(CheckOutput(name: "dual"))
        let run = Self.recorded([(.dockerArchive, same: true), (zstd, same: false), (dual, same: false)])
        let picked = try Replay.builds(of: run, run: 4, output: nil)
        #expect(CheckOutput(of: picked.control) == zstd && CheckOutput(of: picked.experiment) == zstd)
        #expect(picked.outputs == [.dockerArchive, zstd, dual])
        #expect(CheckOutput(of: try Replay.builds(of: run, run: 4, output: dual).experiment) == dual)
        let same = Self.recorded([(zstd, same: true), (.dockerArchive, same: true)])
        #expect(CheckOutput(of: try Replay.builds(of: same, run: 4, output: nil).control) == zstd)

        let replay = Replay(control: picked.control, experiment: picked.experiment, host: Self.today, builder: "/bin/rc", workRoot: "/w")
        #expect(replay.output == zstd)
        let argv = replay.plan(.control, specPath: "/s/spec.json").argv
        #expect(Array(argv.suffix(4)) == ["--format", "oci-archive", "--compression", "zstd"], "\(argv)")
    }

    @Test("names the outputs the run built when the one asked for is not among them")
    func missingOutput() throws {
        let gzip = CheckOutput(format: .ociArchive, compression: .gzip)
        let run = Self.recorded([(.dockerArchive, same: true), (CheckOutput(format: .dual, compression: .zstd), same: false)])
        #expect(throws: ReplayError.outputNotBuilt(
            run: 4, spec: "hello", asked: gzip, available: [.dockerArchive, CheckOutput(format: .dual, compression: .zstd)])) {
            try Replay.builds(of: run, run: 4, output: gzip)
        }
        #expect("\(ReplayError.outputNotBuilt(run: 4, spec: "hello", asked: gzip, available: [.dockerArchive]))"
            == "run 4 built hello as docker-archive, not oci-archive+gzip")
        var empty = run
        empty.builds.removeAll { $0.role == .experiment }
        #expect(throws: ReplayError.noBuilds(run: 4, spec: "hello")) { try Replay.builds(of: empty, run: 4, output: nil) }
    }
}

