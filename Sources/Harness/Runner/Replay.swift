import Builder
import Foundation
#if canImport(Glibc)
import Glibc
#endif

/// `repro-check replay`: one spec's control and experiment built again with the variation
/// values a run recorded, not the ones this host would choose today.
public struct Replay: Sendable {
    /// The planner, with the recorded variations active and their recorded values.
    public var planner: BuildEnvironmentPlanner
    /// The variations the recorded experiment varied (and still can be here).
    public var varied: Set<Variation.Name>
    /// Where the replay cannot be exact, or differs from what this host would choose, in words.
    public var notes: [String]
    /// What the recorded builds streamed (`builds.format`, `builds.compression`).
    public var output: CheckOutput

    /// `control`, `experiment`: the recorded builds, whose `variationValues` hold every active
    /// variation's value (the control value in the control, the experiment value where varied).
    public init(control: BuildResult, experiment: BuildResult, host: HostFacts, builder: String, workRoot: String) {
        let recordedNames = Set(control.variationValues.keys).union(experiment.variationValues.keys)
            .union(experiment.variationsApplied)
        let names = Set(recordedNames.compactMap(Variation.Name.init(rawValue:)))
        var planner = BuildEnvironmentPlanner(
            host: host, selection: VariationSelection(enabled: names), builder: builder, workRoot: workRoot)
        var notes: [String] = []
        for (name, reason) in planner.skipped.sorted(by: { $0.key < $1.key }) {
            notes.append("\(name) was applied in the recorded run but cannot be here: \(reason)")
        }
        for index in planner.active.indices {
            let variation = planner.active[index]
            let name = variation.name.rawValue
            if let recorded = control.variationValues[name] {
                if recorded != variation.control {
                    notes.append("\(name): the recorded control value \(recorded) replaces this host's \(variation.control)")
                }
                planner.active[index].control = recorded
            }
            if let recorded = experiment.variationValues[name].flatMap({ Self.experimentInput(variation.name, recorded: $0) }) {
                if recorded != variation.experiment {
                    notes.append("\(name): the recorded experiment value \(recorded) replaces this host's \(variation.experiment)")
                }
                planner.active[index].experiment = recorded
            }
        }
        // The builds stream what the recorded ones streamed: an OCI run is replayed as OCI.
        output = CheckOutput(of: control)
        planner.buildArguments = output.buildArguments
        self.planner = planner
        varied = Set(experiment.variationsApplied.compactMap(Variation.Name.init(rawValue:))).intersection(planner.activeNames)
        self.notes = notes
    }

    /// The recorded control and experiment of one output: `asked`, else the first output
    /// whose builds differed (another image, or a build that failed), else the first output.
    /// The experiment is the first of the control's output, the one the check compared it with.
    /// `outputs`: every output the run built both ways, in the order it checked them.
    public static func builds(
        of recorded: SpecResult, run: Int64, output asked: CheckOutput?
    ) throws(ReplayError) -> (control: BuildResult, experiment: BuildResult, outputs: [CheckOutput]) {
        var pairs: [(output: CheckOutput, control: BuildResult, experiment: BuildResult)] = []
        for control in recorded.builds where control.role == .control {
            let output = CheckOutput(of: control)
            guard !pairs.contains(where: { $0.output == output }),
                  let experiment = recorded.builds.first(where: { $0.role == .experiment && CheckOutput(of: $0) == output })
            else { continue }
            pairs.append((output, control, experiment))
        }
        guard let first = pairs.first else { throw .noBuilds(run: run, spec: recorded.specName) }
        let chosen: (output: CheckOutput, control: BuildResult, experiment: BuildResult)
        if let asked {
            guard let match = pairs.first(where: { $0.output == asked }) else {
                throw .outputNotBuilt(run: run, spec: recorded.specName, asked: asked, available: pairs.map(\.output))
            }
            chosen = match
        } else {
            chosen = pairs.first { pair in
                !pair.control.succeeded || !pair.experiment.succeeded || pair.control.imageDigest != pair.experiment.imageDigest
            } ?? first
        }
        return (chosen.control, chosen.experiment, pairs.map(\.output))
    }

    /// The executor the replay's builds run in, streaming the recorded format.
    public func executor(host: HostFacts, registry: ChildRegistry) -> BuildExecutor {
        var executor = BuildExecutor(host: host, registry: registry)
        executor.format = output.format
        executor.compression = output.compression
        return executor
    }

    /// The value the planner takes as input, from what it recorded for a varied build. Three
    /// variations record what they did rather than their input: `time` (the libfaketime
    /// settings, fixed), `build_path` (this run's copy, a new folder each time) and
    /// `domain_host` (`NAME, domain DOMAIN`, of which NAME is the input).
    static func experimentInput(_ name: Variation.Name, recorded: String) -> String? {
        switch name {
        case .time, .buildPath: return nil
        case .domainHost:
            guard let comma = recorded.range(of: ", domain ") else { return recorded }
            return String(recorded[..<comma.lowerBound])
        default: return recorded
        }
    }

    public func plan(_ role: BuildRole, specPath: String) -> BuildPlan {
        planner.plan(
            role: role, varied: role == .control ? [] : varied, specPath: specPath, slot: "replay-\(role)",
            inputs: SpecInputs.relativeReferences(ofSpecAt: specPath))
    }

    /// A private folder for the two builds' copies, mount points and archives, readable by
    /// the `user_group` build's uid; the caller removes it.
    public static func makeWorkFolder() throws -> String {
        // The shared convention, so a replay killed midway is swept by the next run.
        let path = try WorkFolders.make(kind: "replay")
        chmod(path, 0o755)
        return path
    }

    /// `name=value` pairs of a plan, sorted, for people.
    public static func values(_ plan: BuildPlan) -> String {
        let pairs = plan.values.sorted { $0.key < $1.key }.map { "\($0.key)=\($0.value)" }
        return pairs.isEmpty ? "(no variation)" : pairs.joined(separator: "; ")
    }
}

/// Why a recorded run has no builds to replay for a spec; each description names the run
/// and the spec, and what the run built instead of an output asked for.
public enum ReplayError: Error, Equatable, CustomStringConvertible {
    case noBuilds(run: Int64, spec: String)
    /// `replay --output` named an output the run did not build; `available` are those it did.
    case outputNotBuilt(run: Int64, spec: String, asked: CheckOutput, available: [CheckOutput])

    public var description: String {
        switch self {
        case let .noBuilds(run, spec):
            "run \(run) recorded no control and experiment build of \(spec)"
        case let .outputNotBuilt(run, spec, asked, available):
            "run \(run) built \(spec) as \(available.map(\.description).joined(separator: ", ")), not \(asked)"
        }
    }
}
