import Builder
import Foundation
@testable import Harness
import Testing

@Suite("Variations")
struct VariationTests {
    static let root = HostFacts(
        uid: 0, gid: 0, cpuCount: 4, hostname: "buildhost", architecture: "x86_64", path: "/usr/bin:/bin",
        hasFUSE: true, libfaketime: "/usr/lib/faketime/libfaketime.so.1",
        tools: Dictionary(uniqueKeysWithValues: HostFacts.toolNames.map { ($0, "/usr/bin/\($0)") }),
        zoneinfo: ["Pacific/Kiritimati"])

    @Test("parses -time,+umask starting from every variation")
    func minusAndPlus() throws {
        let selection = try VariationSelection.parse(["-time,+umask"])
        #expect(selection.enabled == Set(Variation.Name.allCases).subtracting([.time]))
    }

    @Test("parses @none, then adds what follows, reading several --vary options in order")
    func noneThenAdd() throws {
        #expect(try VariationSelection.parse(["@none"]).enabled.isEmpty)
        #expect(try VariationSelection.parse(["@none,+time", "domain_host"]).enabled == [.time, .domainHost])
        #expect(try VariationSelection.parse(["@none", "@all", "-aslr"]).enabled.count == Variation.Name.allCases.count - 1)
    }

    @Test("rejects an unknown name, an empty item and a value, naming the item")
    func rejectsMistakes() {
        #expect(throws: VariationSelectionError.unknown(item: "-tme", known: Variation.Name.allCases.map(\.rawValue))) {
            try VariationSelection.parse(["-tme"])
        }
        #expect(throws: VariationSelectionError.emptyItem(spec: "time,,umask")) { try VariationSelection.parse(["time,,umask"]) }
        #expect(throws: VariationSelectionError.valuesUnsupported(item: "+time=+1y")) { try VariationSelection.parse(["+time=+1y"]) }
    }

    @Test("records a variation that cannot be applied as skipped with its reason, never dropping it")
    func skippedWithReason() {
        var host = Self.root
        host.uid = 1000
        host.tools["taskset"] = nil
        host.hasFUSE = false
        let planner = BuildEnvironmentPlanner(host: host, selection: .all, builder: "/b", workRoot: "/w")
        #expect(planner.skipped["user_group"] == "needs root (running as uid 1000)")
        #expect(planner.skipped["domain_host"] == "needs root (running as uid 1000)")
        #expect(planner.skipped["num_cpus"] == "taskset is not installed")
        #expect(planner.skipped["fileordering"]?.isEmpty == false)
        let plan = planner.plan(role: .experiment, varied: Set(Variation.Name.allCases), specPath: "/c/s/spec.json", slot: "0")
        #expect(plan.skipped == planner.skipped)
        #expect(!plan.applied.contains("user_group") && plan.applied.contains("time"))
    }

    @Test("a control build gets the baseline; the experiment every experiment value, recorded")
    func controlAndExperiment() {
        let planner = BuildEnvironmentPlanner(host: Self.root, selection: .all, builder: "/b", workRoot: "/w")
        let control = planner.plan(role: .control, varied: [], specPath: "/c/s/spec.json", slot: "0")
        #expect(control.applied.isEmpty && control.steps.isEmpty)
        #expect(control.environment["TZ"] == "UTC" && control.environment["HOME"] == "/nonexistent-first")
        #expect(control.argv.suffix(3) == ["/b", "build", "/c/s/spec.json"])
        #expect(control.argv.contains("-R"), "ASLR is off in the control")
        #expect(!control.argv.contains { $0.hasPrefix("LD_PRELOAD") })

        let experiment = planner.plan(role: .experiment, varied: Set(Variation.Name.allCases), specPath: "/c/s/spec.json", slot: "0")
        #expect(experiment.applied.count == Variation.Name.allCases.count)
        #expect(experiment.environment["TZ"] == "Pacific/Kiritimati" && experiment.environment["LC_ALL"] == "fr_CH.UTF-8")
        #expect(experiment.environment["PATH"] == "/bin:/usr/bin")
        #expect(experiment.argv.contains("--reuid=65534") && experiment.argv.contains("--uname-2.6"))
        #expect(experiment.argv.contains("LD_PRELOAD=/usr/lib/faketime/libfaketime.so.1"))
        // A corpus spec moves with its whole corpus (siblings may share a store).
        #expect(experiment.argv.last == "\(experiment.workingDirectory)/s/spec.json")
        #expect(experiment.workingDirectory.hasPrefix("/w/0/build-path/"))
        #expect(experiment.values["build_path"] == experiment.workingDirectory)
        #expect(experiment.values["num_cpus"] == "0" && control.values["num_cpus"] == "0-3")
    }

    @Test("a bisect build varies exactly one thing")
    func bisectVariesOne() {
        let planner = BuildEnvironmentPlanner(host: Self.root, selection: .all, builder: "/b", workRoot: "/w")
        let control = planner.plan(role: .control, varied: [], specPath: "/c/s/spec.json", slot: "0")
        let bisect = planner.plan(role: .bisect("home"), varied: [.home], specPath: "/c/s/spec.json", slot: "0")
        #expect(bisect.applied == ["home"])
        #expect(bisect.argv == control.argv)
        var expected = control.environment
        expected["HOME"] = "/nonexistent-second"
        #expect(bisect.environment == expected)
    }

    @Test("user_group without build_path keeps the path: a copy owned by the uid is mounted over it")
    func userGroupKeepsPath() {
        let planner = BuildEnvironmentPlanner(host: Self.root, selection: .all, builder: "/b", workRoot: "/w")
        let plan = planner.plan(role: .bisect("user_group"), varied: [.userGroup], specPath: "/c/s/spec.json", slot: "0")
        #expect(plan.workingDirectory == "/c")
        #expect(plan.argv.contains("--mount") && plan.argv.contains("/c"))
        guard case let .copy(from, _, owner)? = plan.steps.first else {
            Issue.record("expected a copy step, got \(plan.steps)")
            return
        }
        #expect(from == "/c" && owner?.uid == 65534)
    }
}

extension VariationTests {
    @Test("domain_host sets the NIS domain name too, in the same new UTS namespace, and records both")
    func domainHostSetsDomainName() throws {
        let planner = BuildEnvironmentPlanner(host: Self.root, selection: .all, builder: "/b", workRoot: "/w")
        let plan = planner.plan(role: .bisect("domain_host"), varied: [.domainHost], specPath: "/c/s/spec.json", slot: "0")
        let unshare = try #require(plan.argv.firstIndex(of: "/usr/bin/unshare"))
        #expect(plan.argv[unshare + 1] == "--uts")
        #expect(plan.argv.contains("/usr/bin/hostname") && plan.argv.contains("reprotest-capture-host"))
        let domainname = try #require(plan.argv.firstIndex(of: "/usr/bin/domainname"))
        #expect(plan.argv[domainname + 1] == Variation.experimentDomainName)
        #expect(plan.values["domain_host"] == "reprotest-capture-host, domain reprotest-capture-domain")
        var host = Self.root
        host.tools["domainname"] = nil
        let without = BuildEnvironmentPlanner(host: host, selection: .all, builder: "/b", workRoot: "/w")
        #expect(without.skipped["domain_host"] == "domainname is not installed")
    }

    @Test("build_path copies what the spec names outside its folder, at the same relative place")
    func buildPathCopiesEscapingInputs() {
        let planner = BuildEnvironmentPlanner(host: Self.root, selection: .all, builder: "/b", workRoot: "/w")
        let inputs = ["/c/elsewhere/graph.json", "/c/s/store", "/c/shared/store"]
        let plan = planner.plan(
            role: .bisect("build_path"), varied: [.buildPath], specPath: "/c/s/loose.json", slot: "0", inputs: inputs)
        #expect(plan.workingDirectory == "/w/0/build-path/c")
        #expect(plan.argv.last == "/w/0/build-path/c/s/loose.json")
        #expect(plan.steps == [
            .copy(from: "/c/s", to: "/w/0/build-path/c/s", owner: nil),
            .copy(from: "/c/elsewhere/graph.json", to: "/w/0/build-path/c/elsewhere/graph.json", owner: nil),
            .copy(from: "/c/shared/store", to: "/w/0/build-path/c/shared/store", owner: nil),
        ])
        // Nothing outside the folder: the folder alone, as before.
        let plain = planner.plan(role: .bisect("build_path"), varied: [.buildPath], specPath: "/c/s/loose.json", slot: "0")
        #expect(plain.steps == [.copy(from: "/c/s", to: "/w/0/build-path/s", owner: nil)])
        #expect(plain.argv.last == "/w/0/build-path/s/loose.json")
    }

    @Test("a spec's relative inputs are found, resolved and normalised; absolute and missing ones are left out")
    func specInputs() throws {
        let root = NSTemporaryDirectory() + "repro-check-inputs-\(UUID().uuidString)"
        let fm = FileManager.default
        defer { try? fm.removeItem(atPath: root) }
        try fm.createDirectory(atPath: root + "/spec", withIntermediateDirectories: true)
        try fm.createDirectory(atPath: root + "/elsewhere/store", withIntermediateDirectories: true)
        try Data("[]".utf8).write(to: URL(fileURLWithPath: root + "/elsewhere/graph.json"))
        let spec = root + "/spec/spec.json"
        try Data(#"{"name": "x", "store": "../elsewhere/store", "graph": "../elsewhere/graph.json", "fromImage": "/abs/base.tar"}"#.utf8)
            .write(to: URL(fileURLWithPath: spec))
        let resolved = URL(fileURLWithPath: root).standardizedFileURL.path
        #expect(SpecInputs.relativeReferences(ofSpecAt: spec) == [resolved + "/elsewhere/graph.json", resolved + "/elsewhere/store"])
        try Data(#"{"name": "x", "graph": "missing.json"}"#.utf8).write(to: URL(fileURLWithPath: spec))
        #expect(SpecInputs.relativeReferences(ofSpecAt: spec) == [], "the default store and the graph do not exist")
    }
}

@Suite("Spec discovery")
struct SpecDiscoveryTests {
    @Test("finds *.json and */spec.json sorted, and shards by index mod N")
    func discoveryAndShards() throws {
        let root = NSTemporaryDirectory() + "repro-check-discovery-\(UUID().uuidString)"
        defer { try? FileManager.default.removeItem(atPath: root) }
        for folder in ["b", "d", "empty"] {
            try FileManager.default.createDirectory(atPath: "\(root)/\(folder)", withIntermediateDirectories: true)
        }
        for file in ["a.json", "b/spec.json", "c.json", "d/spec.json", "notes.txt"] {
            try Data("{}".utf8).write(to: URL(fileURLWithPath: "\(root)/\(file)"))
        }
        let all = try SpecDiscovery.find([root])
        #expect(all.map { String($0.dropFirst(root.count + 1)) } == ["a.json", "b/spec.json", "c.json", "d/spec.json"])
        let first = try SpecDiscovery.find([root], shard: try Shard(parsing: "1/2"))
        let second = try SpecDiscovery.find([root], shard: try Shard(parsing: "2/2"))
        #expect(first == [all[0], all[2]] && second == [all[1], all[3]])
        #expect(throws: DiscoveryError.badShard(text: "0/2")) { try Shard(parsing: "0/2") }
        #expect(throws: DiscoveryError.empty(path: "\(root)/empty")) { try SpecDiscovery.find(["\(root)/empty"]) }
    }

    @Test("reads a spec's name and expectation; its input digest follows the store's content, not its umask")
    func summary() throws {
        let root = NSTemporaryDirectory() + "repro-check-summary-\(UUID().uuidString)"
        let fm = FileManager.default
        defer { try? fm.removeItem(atPath: root) }
        let storePath = root + "/store/aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa-a"
        try fm.createDirectory(atPath: storePath, withIntermediateDirectories: true)
        try Data("one".utf8).write(to: URL(fileURLWithPath: storePath + "/f"))
        let path = root + "/spec.json"
        try Data(#"{"name": "hello", "expect": "unreproducible"}"#.utf8).write(to: URL(fileURLWithPath: path))
        let first = try ImageSpec.summary(ofSpecAt: path)
        #expect(first.name == "hello" && first.expectation == "unreproducible")
        chmod(storePath + "/f", 0o664)
        #expect(try ImageSpec.summary(ofSpecAt: path).inputDigest == first.inputDigest)
        try Data("two".utf8).write(to: URL(fileURLWithPath: storePath + "/f"))
        #expect(try ImageSpec.summary(ofSpecAt: path).inputDigest != first.inputDigest)
        try Data(#"{"name": "x", "expect": "sometimes"}"#.utf8).write(to: URL(fileURLWithPath: path))
        #expect(throws: SpecError.self) { try ImageSpec.summary(ofSpecAt: path) }
    }
}
