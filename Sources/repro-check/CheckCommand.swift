import ArgumentParser
import Builder
import Dispatch
import Foundation
import Harness
import Synchronization
#if canImport(Glibc)
import Glibc
#endif

struct CheckCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "check",
        abstract: "Build every spec twice in varied environments and prove the archives are byte-identical.",
        discussion: """
            Exits 0 when every spec meets its expectation, 1 when one does not or a digest drifted, \
            2 for usage or spec errors, 130 when interrupted.
            """
    )

    @Argument(help: "Spec files, spec folders (holding spec.json), or corpus folders holding *.json specs or */spec.json.")
    var specs: [String] = ["Corpus"]

    @Option(name: .customLong("db"), help: "The results database.")
    var database = "reports/repro.sqlite"

    @Option(
        name: .customLong("vary"),
        help: "Variations as reprotest spells them: -time,+umask, @none, @all. Names: \(Variation.Name.allCases.map(\.rawValue).joined(separator: ", ")).")
    var vary: [String] = []

    @Option(name: .customLong("jobs"), help: "Builds to run at once (the two builds of one spec may run together).")
    var jobs: Int = max(1, ProcessInfo.processInfo.activeProcessorCount)

    @Option(name: .customLong("junit"), help: "Write JUnit XML (one testcase per spec) to FILE.")
    var junit: String?

    @Option(name: .customLong("json"), help: "Write a machine-readable summary to FILE.")
    var json: String?

    @Option(name: .customLong("shard"), help: "Check only shard K of N (specs whose index mod N is K-1).")
    var shard: String?

    @Option(
        name: .customLong("filter"),
        help: ArgumentHelp("Check only specs whose name or path matches this regular expression (repeatable).", valueName: "pattern"))
    var filter: [String] = []

    @Flag(name: .customLong("fail-fast"), help: "Start no further spec after the first failure.")
    var failFast = false

    @Option(name: .customLong("keep-artifacts"), help: "Keep every build's archive under DIR/<spec>/<role>.tar.")
    var keepArtifacts: String?

    @Flag(
        name: .customLong("fail-on-slowdown"),
        help: "Fail when a control build is beyond its median of the last 10 runs on this host by over 1.25x, 500 ms and 3 scaled MADs.")
    var failOnSlowdown = false

    @Option(name: .customLong("timeout"), help: "Seconds one build may run before its process group is killed (the spec then records a timeout).")
    var timeout: Int = 1800

    @Flag(name: .customLong("require-all-variations"), help: "Fail when a variation cannot be applied here (not root, tool missing).")
    var requireAllVariations = false

    @Option(
        name: .customLong("run-group"),
        help: "Runs sharing an ID (the shards of one CI run) are one run in reports. Default: $GITHUB_RUN_ID when set.")
    var runGroup: String?

    @Option(help: ArgumentHelp(
        "What each build streams and is compared by: docker-archive (nixpkgs' bytes, the default), oci-archive or dual. Repeatable: every variation builds every output.",
        valueName: "format"))
    var format: [ImageFormat] = []

    @Option(help: ArgumentHelp(
        "Layer compression of each OCI --format: none, gzip or zstd (default gzip). Repeatable; docker-archive is built once, uncompressed.",
        valueName: "compression"))
    var compression: [LayerCompression] = []

    @Option(name: .customLong("builder"), help: .hidden)
    var builder: String?

    func validate() throws {
        if jobs < 1 { throw ValidationError("--jobs must be at least 1") }
        if timeout < 1 { throw ValidationError("--timeout must be at least 1 second") }
        do {
            _ = try CheckOutput.requested(formats: format, compressions: compression)
        } catch {
            throw ValidationError(error.description)
        }
    }

    func run() throws {
        let selection: VariationSelection
        let specPaths: [String]
        do {
            selection = try VariationSelection.parse(vary)
            specPaths = try SpecDiscovery.find(
                specs, filter: filter.isEmpty ? nil : try SpecFilter(patterns: filter),
                shard: try shard.map { try Shard(parsing: $0) })
        } catch let error as VariationSelectionError {
            throw UsageError(error.description)
        } catch let error as DiscoveryError {
            throw UsageError(error.description)
        }
        let summaries = try CheckRunner.summaries(of: specPaths)

        var options = CheckOptions(
            specs: specPaths, databasePath: database, selection: selection, jobs: jobs,
            keepArtifacts: keepArtifacts.map { SpecDiscoveryPath.absolute($0) }, failOnSlowdown: failOnSlowdown,
            timeoutSeconds: timeout, builder: builder.map { SpecDiscoveryPath.absolute($0) } ?? Self.runningExecutable(),
            toolVersion: ToolVersion.string, gitCommit: Self.gitCommit(), host: HostFacts.gethostname(),
            optionsJSON: optionsJSON(selection: selection), runGroup: effectiveRunGroup,
            requireAllVariations: requireAllVariations)
        options.failFast = failFast
        options.outputs = try CheckOutput.requested(formats: format, compressions: compression)
        let registry = ChildRegistry()
        let runner = CheckRunner(options: options, registry: registry)

        let sources = Self.stopChildrenOnSignals(registry)
        defer { sources.forEach { $0.cancel() } }

        let display = CheckProgress(terminal: isatty(2) != 0)
        let report = try runner.run(summaries: summaries, startedAt: Date().timeIntervalSince1970) { display.show($0) }
        display.done()

        let base = FileManager.default.currentDirectoryPath
        if let junit { try Self.writeReplacing(JUnitReport.render(report, relativeTo: base), to: junit) }
        if let json { try Self.writeReplacing(try JSONSummary.render(report), to: json) }
        for slowdown in report.slowdowns {
            FileHandleStderr.write(
                "slowdown: \(slowdown.specName) took \(slowdown.wallMilliseconds) ms, "
                    + String(format: "%.2f", slowdown.ratio) + "× its median of \(Int(slowdown.medianMilliseconds)) ms "
                    + "(threshold \(Int(slowdown.thresholdMilliseconds)) ms, MAD \(Int(slowdown.madMilliseconds)) ms)\n")
        }
        if ProcessInfo.processInfo.environment["GITHUB_ACTIONS"] == "true" {
            for line in GitHubAnnotations.errors(report, relativeTo: base) { print(line) }
        }
        if report.interrupted {
            FileHandleStderr.write("repro-check: interrupted; run \(report.runID) is marked interrupted in \(database)\n")
            throw ExitCode(130)
        }
        FileHandleStderr.write("\(report.summaryLine) (run \(report.runID), \(database))\n")
        if !report.passed { throw ExitCode(1) }
    }

    /// SIGINT/SIGTERM arrive on a dispatch source rather than a C handler, so stopping the
    /// children and marking the run happen in ordinary code, with no global state.
    static func stopChildrenOnSignals(_ registry: ChildRegistry) -> [any DispatchSourceSignal] {
        signal(SIGINT, SIG_IGN)
        signal(SIGTERM, SIG_IGN)
        return [SIGINT, SIGTERM].map { number in
            let source = DispatchSource.makeSignalSource(signal: number, queue: .global())
            source.setEventHandler { registry.stopAll() }
            source.resume()
            return source
        }
    }

    /// `--run-group`, else the CI run's id, so the shards of one workflow run share a group.
    private var effectiveRunGroup: String? {
        if let runGroup, !runGroup.isEmpty { return runGroup }
        let environment = ProcessInfo.processInfo.environment
        return environment["GITHUB_RUN_ID"].flatMap { $0.isEmpty ? nil : $0 }
    }

    private func optionsJSON(selection: VariationSelection) -> String {
        var object: [String: Any] = [
            "specs": specs, "vary": vary, "variations": selection.sortedNames.map(\.rawValue), "jobs": jobs,
            "shard": shard ?? NSNull(), "keepArtifacts": keepArtifacts ?? NSNull(), "failOnSlowdown": failOnSlowdown,
            "timeout": timeout,
            "requireAllVariations": requireAllVariations, "runGroup": effectiveRunGroup ?? NSNull(),
            "filter": filter, "failFast": failFast,
        ]
        // One format and compression are recorded as values, as before repeating them was allowed.
        object["format"] = format.count > 1 ? format.map(\.rawValue) : (format.first ?? .dockerArchive).rawValue
        object["compression"] = compression.count > 1 ? compression.map(\.rawValue) : compression.first?.rawValue ?? NSNull()
        let outputs = (try? CheckOutput.requested(formats: format, compressions: compression)) ?? []
        if outputs.count > 1 { object["outputs"] = outputs.map(\.description) }
        let data = (try? JSONSerialization.data(withJSONObject: object, options: [.sortedKeys])) ?? Data("{}".utf8)
        return String(decoding: data, as: UTF8.self)
    }

    static func runningExecutable() -> String {
        (try? FileManager.default.destinationOfSymbolicLink(atPath: "/proc/self/exe")) ?? CommandLine.arguments[0]
    }

    static func gitCommit() -> String? {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        process.arguments = ["git", "rev-parse", "HEAD"]
        let pipe = Pipe()
        process.standardOutput = pipe
        process.standardError = FileHandle.nullDevice
        process.standardInput = FileHandle.nullDevice
        do { try process.run() } catch { return nil }
        let data = pipe.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        guard process.terminationStatus == 0 else { return nil }
        let text = String(decoding: data, as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines)
        return text.isEmpty ? nil : text
    }

    /// Temporary name then rename, so CI never uploads half a file.
    static func writeReplacing(_ text: String, to path: String) throws {
        let url = URL(fileURLWithPath: path)
        let directory = url.deletingLastPathComponent()
        try? FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        let temporary = directory.appendingPathComponent(".\(url.lastPathComponent).tmp-\(getpid())").path
        do {
            try Data(text.utf8).write(to: URL(fileURLWithPath: temporary))
        } catch {
            throw UsageError("\(path): cannot be written: \(SystemErrorText.reason(error))")
        }
        guard rename(temporary, path) == 0 else {
            let reason = String(cString: strerror(errno))
            unlink(temporary)
            throw UsageError("\(path): cannot be written: \(reason)")
        }
    }
}

enum SpecDiscoveryPath {
    static func absolute(_ path: String) -> String {
        path.hasPrefix("/") ? path : FileManager.default.currentDirectoryPath + "/" + path
    }
}

/// On a terminal, one rewritten status line (spec i of n, build role); otherwise one plain
/// line per finished spec, so CI logs read top to bottom. Finished lines come out in corpus
/// order whatever order parallel builds end in: each waits for the specs before it.
final class CheckProgress: Sendable {
    let terminal: Bool
    /// The next position to print, and finished lines waiting for it.
    private let pending = Mutex<(next: Int, lines: [Int: String])>((1, [:]))
    init(terminal: Bool) { self.terminal = terminal }

    func show(_ event: CheckEvent) {
        switch event {
        case let .skipped(reasons):
            for (name, reason) in reasons.sorted(by: { $0.key < $1.key }) {
                FileHandleStderr.write("skipping variation \(name): \(reason)\n")
            }
        case let .building(position, total, spec, role):
            if terminal { FileHandleStderr.write("\r\u{1B}[Kspec \(position) of \(total): \(spec): \(role) build") }
        case let .finished(position, total, result):
            let ready = pending.withLock { state in
                state.lines[position] = Self.line(result, position: position, total: total)
                var ready: [String] = []
                while let line = state.lines.removeValue(forKey: state.next) {
                    ready.append(line)
                    state.next += 1
                }
                return ready
            }
            write(ready)
        }
    }

    /// Lines still waiting (an earlier spec never finished: interrupted or --fail-fast) come
    /// out in order at the end rather than being lost.
    func done() {
        let rest = pending.withLock { state in
            defer { state.lines = [:] }
            return state.lines.sorted { $0.key < $1.key }.map(\.value)
        }
        write(rest)
        if terminal { FileHandleStderr.write("\r\u{1B}[K") }
    }

    private func write(_ lines: [String]) {
        guard !lines.isEmpty else { return }
        FileHandleStderr.write((terminal ? "\r\u{1B}[K" : "") + lines.map { $0 + "\n" }.joined())
    }

    static func line(_ result: SpecResult, position: Int, total: Int) -> String {
        var text = "\(result.passed ? "PASS" : "FAIL") [\(position)/\(total)] \(result.specName): \(result.outcome.rawValue)"
        if result.outcome.rawValue != result.expectation.rawValue && !result.outcome.isError {
            text += " (expected \(result.expectation.rawValue))"
        }
        if let culprit = result.culprit { text += "; culprit: \(culprit.summary)" }
        if let first = result.primaryDifference { text += "; first difference: \(first.summaryWithOutput)" }
        if result.outcome.isError, let error = result.builds.compactMap(\.error).first { text += "; \(error)" }
        if result.digestDrift { text += "; digest drift" }
        if let pin = result.pinMismatch { text += "; \(pin.summary)" }
        return text
    }
}
