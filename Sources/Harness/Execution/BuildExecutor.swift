import Builder
import Foundation
#if canImport(Glibc)
import Glibc
#endif

/// A build's result plus, when it was written to a file, where.
public struct ExecutedBuild: Sendable {
    public var result: BuildResult
    public var archivePath: String?
}

/// Runs one planned child build: prepares its folder, streams stdout into the hasher (and a
/// file when asked), and turns the outcome into a ``BuildResult``.
public struct BuildExecutor: Sendable {
    public var host: HostFacts
    public var registry: ChildRegistry
    /// `check --timeout`: a build running longer has its process group killed.
    public var timeoutSeconds: Int?

    public init(host: HostFacts, registry: ChildRegistry, timeoutSeconds: Int? = nil) {
        self.host = host
        self.registry = registry
        self.timeoutSeconds = timeoutSeconds
    }

    public func run(_ plan: BuildPlan, archivePath: String? = nil) -> ExecutedBuild {
        var result = BuildResult(
            role: plan.role, variationsApplied: plan.applied, variationsSkipped: plan.skipped, variationValues: plan.values)
        var workspace = BuildWorkspace(host: host, registry: registry)
        defer { workspace.cleanUp() }
        do {
            try workspace.prepare(plan.steps)
            var sink = HashTeeSink(hasher: ArchiveHasher(label: "\(plan.role) build's stdout"), file: nil)
            if let archivePath {
                let fd = open(archivePath, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0o644)
                guard fd >= 0 else { throw IOError.open(archivePath, errno: errno) }
                sink.file = FileDescriptorSink(fd: fd, label: archivePath)
            }
            defer { if let file = sink.file { close(file.fd) } }
            let outcome = try ChildProcess.run(
                argv: plan.argv, environment: plan.environment, workingDirectory: plan.workingDirectory,
                registry: registry, timeoutSeconds: timeoutSeconds, stdout: &sink)
            try sink.file?.flush()
            result.wallMilliseconds = outcome.wallMilliseconds
            result.cpuMilliseconds = outcome.cpuMilliseconds
            result.peakRSSKiB = outcome.peakRSSKiB
            result.exitStatus = outcome.exitStatus
            result.timedOut = outcome.timedOut
            if outcome.timedOut {
                result.error = "the \(plan.role) build ran past the \(timeoutSeconds ?? 0) s timeout, so its process group was killed"
                return ExecutedBuild(result: result, archivePath: nil)
            }
            if outcome.exitStatus != 0 {
                let how = outcome.signal.map { "was killed by signal \($0)" } ?? "exited with status \(outcome.exitStatus)"
                let tail = outcome.stderrTail.trimmingCharacters(in: .whitespacesAndNewlines)
                result.error = "the \(plan.role) build \(how)" + (tail.isEmpty ? "" : ": \(Self.lastLines(tail))")
                return ExecutedBuild(result: result, archivePath: nil)
            }
            let hashed = try sink.hasher.finish()
            result.imageDigest = hashed.archiveDigest
            result.configDigest = hashed.configDigest
            result.manifestDigest = hashed.manifestDigest
            result.size = hashed.size
            result.layers = hashed.layers
            return ExecutedBuild(result: result, archivePath: archivePath)
        } catch {
            if result.exitStatus == 0 { result.exitStatus = -1 }
            result.error = "the \(plan.role) build failed: \(error)"
            return ExecutedBuild(result: result, archivePath: nil)
        }
    }

    static func lastLines(_ text: String, count: Int = 5) -> String {
        text.split(separator: "\n").suffix(count).joined(separator: " | ")
    }
}

/// The hasher, and optionally a file with the same bytes (to explain a difference later).
struct HashTeeSink: ByteSink {
    var hasher: ArchiveHasher
    var file: FileDescriptorSink?

    mutating func write(_ bytes: UnsafeRawBufferPointer) throws {
        try hasher.write(bytes)
        try file?.write(bytes)
    }

    mutating func flush() throws { try file?.flush() }
}
