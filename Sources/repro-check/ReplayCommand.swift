import ArgumentParser
import Builder
import Foundation
import Harness

struct ReplayCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "replay",
        abstract: "Rebuild one spec's control and experiment with the variation values a run recorded, and explain any difference.",
        discussion: "Exits 0 when the two builds are identical, 1 when they differ or a build fails, 2 for usage errors."
    )

    @Argument(help: ArgumentHelp("The run number (as `check` and the report show it).", valueName: "run"))
    var runID: Int64

    @Argument(help: "The spec's name, or the path of its spec file or folder.")
    var spec: String

    @Option(name: .customLong("db"), help: "The results database.")
    var database = "reports/repro.sqlite"

    @Option(name: .customLong("keep-artifacts"), help: "Keep both archives as DIR/control.tar and DIR/experiment.tar (in the format the run recorded).")
    var keepArtifacts: String?

    @Option(
        name: .customLong("output"),
        help: ArgumentHelp(
            "Which output to rebuild when the run checked several, named as check names them (docker-archive, oci-archive+zstd, dual+gzip; an OCI format alone is +gzip). Default: the first whose builds differed, else the first.",
            valueName: "format[+compression]"))
    var output: String?

    @Option(name: .customLong("builder"), help: .hidden)
    var builder: String?

    func run() throws {
        let asked = try output.map { name in
            guard let output = CheckOutput(name: name) else {
                throw UsageError("--output \(name) is not an output: docker-archive, or oci-archive or dual with +none, +gzip or +zstd")
            }
            return output
        }
        // Replay only reads the database.
        let results = try ResultsFile.read(database)
        let run = runID
        guard try results.run(id: run) != nil else { throw UsageError("\(database): there is no run \(run)") }
        // Recorded paths are absolute and standardised, as discovery made them.
        let keys = [spec, SpecDiscovery.absolute(spec), SpecDiscovery.absolute(spec) + "/spec.json"]
        guard let recorded = try results.specResult(runID: run, matching: keys) else {
            throw UsageError("\(database): run \(run) did not check a spec named or at \(spec)")
        }
        let control: BuildResult, experiment: BuildResult, checked: [CheckOutput]
        do {
            (control, experiment, checked) = try Replay.builds(of: recorded, run: run, output: asked)
        } catch {
            throw UsageError("\(database): \(error)")
        }
        guard FileManager.default.fileExists(atPath: recorded.specPath) else {
            throw UsageError("\(recorded.specPath): the spec run \(run) checked no longer exists")
        }

        let host = HostFacts.probe()
        let workRoot = try Replay.makeWorkFolder()
        // Unmounts what the builds left (disorderfs) before removing the folder.
        defer { WorkFolders.remove(workRoot, host: host) }
        let replay = Replay(
            control: control, experiment: experiment, host: host,
            builder: builder.map { SpecDiscoveryPath.absolute($0) } ?? CheckCommand.runningExecutable(), workRoot: workRoot)
        let outputs = keepArtifacts.map { SpecDiscoveryPath.absolute($0) } ?? workRoot
        try? FileManager.default.createDirectory(atPath: outputs, withIntermediateDirectories: true)

        let packaging = replay.output.compression.map { "\(replay.output.format.rawValue), \($0.rawValue) layers" } ?? replay.output.format.rawValue
        print("Replaying \(recorded.specName) (\(recorded.specPath)) as run \(run) built it (\(packaging)).")
        if let now = try? ImageSpec.summary(ofSpecAt: recorded.specPath), now.inputDigest != recorded.specDigest {
            print("Note: the spec or its inputs changed since run \(run) (spec digest \(recorded.specDigest) then, \(now.inputDigest) now); building them as they are now.")
        }
        if checked.count > 1 {
            let list = checked.map(\.description).joined(separator: ", ")
            print("Note: run \(run) checked \(list); this replays \(replay.output)\(asked == nil ? " (choose another with --output)" : "").")
        }
        for note in replay.notes { print("Note: \(note).") }

        let registry = ChildRegistry()
        let sources = CheckCommand.stopChildrenOnSignals(registry)
        defer { sources.forEach { $0.cancel() } }
        let executor = replay.executor(host: host, registry: registry)
        var built: [ExecutedBuild] = []
        for (role, recordedBuild) in [(BuildRole.control, control), (.experiment, experiment)] {
            let plan = replay.plan(role, specPath: recorded.specPath)
            print("\(role): \(Replay.values(plan))")
            let result = executor.run(plan, archivePath: "\(outputs)/\(role).tar")
            if registry.isStopping { throw ExitCode(130) }
            let then = recordedBuild.imageDigest.map { $0 == result.result.imageDigest ? "as recorded" : "recorded \($0)" } ?? "recorded no image"
            print("  \(result.result.imageDigest?.description ?? "no image") (\(then))")
            built.append(result)
        }
        for build in built where !build.result.succeeded {
            print("The \(build.result.role) build failed: \(build.result.error ?? "exit status \(build.result.exitStatus)")")
        }
        guard let controlFile = built[0].archivePath, let experimentFile = built[1].archivePath else { throw ExitCode(1) }
        if built[0].result.imageDigest == built[1].result.imageDigest {
            print("Identical: both builds gave \(built[0].result.imageDigest?.description ?? "?").")
            return
        }
        let differences = try ArchiveDiff.compare(
            control: controlFile, experiment: experimentFile,
            compressors: (built[0].result.compressorVersions, built[1].result.compressorVersions))
        print("Different:")
        print(ArchiveDiff.explain(Array(differences.prefix(20))), terminator: "")
        if differences.count > 20 { print("… and \(differences.count - 20) more.") }
        throw ExitCode(1)
    }
}
