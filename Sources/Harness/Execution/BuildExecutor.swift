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
    /// `check --format`: what the child streams; the hasher resolves it as that format and
    /// an OCI build's digests must match what the child reported on stderr.
    public var format: ImageFormat = .dockerArchive
    /// `check --compression`; the child's default (gzip) when nil.
    public var compression: LayerCompression?

    public init(host: HostFacts, registry: ChildRegistry, timeoutSeconds: Int? = nil) {
        self.host = host
        self.registry = registry
        self.timeoutSeconds = timeoutSeconds
    }

    public func run(_ plan: BuildPlan, archivePath: String? = nil) -> ExecutedBuild {
        var result = BuildResult(
            role: plan.role, variationsApplied: plan.applied, variationsSkipped: plan.skipped, variationValues: plan.values)
        result.format = format
        if format.isOCI { result.compression = compression ?? .gzip }
        var workspace = BuildWorkspace(host: host, registry: registry)
        defer { workspace.cleanUp() }
        do {
            try workspace.prepare(plan.steps)
            var sink = HashTeeSink(hasher: ArchiveHasher(label: "\(plan.role) build's stdout", format: format), file: nil)
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
            if format.isOCI {
                let reported = ReportedDigests(stderr: outcome.stderrTail)
                if let mismatch = reported.mismatch(with: hashed) {
                    result.error = "the \(plan.role) build \(mismatch)"
                    return ExecutedBuild(result: result, archivePath: nil)
                }
                result.compressorVersions = reported.compressorVersions
                for index in result.layers.indices {
                    guard var blob = result.layers[index].blob else { continue }
                    blob.compressorVersion = LayerBlob.compressorVersion(blob.compression, in: reported.compressorVersions)
                    result.layers[index].blob = blob
                }
            }
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

    init(hasher: ArchiveHasher, file: FileDescriptorSink?) {
        self.hasher = hasher
        self.file = file
    }

    mutating func write(_ bytes: UnsafeRawBufferPointer) throws {
        try hasher.write(bytes)
        try file?.write(bytes)
    }

    mutating func flush() throws { try file?.flush() }
}

/// What a child `build` of an OCI format prints when done (``BuildSummary`` in the CLI):
/// `image ID sha256:…` and `manifest digest sha256:… (FORMAT, layers C; VERSIONS)`. The last
/// such lines count, so nothing a build logged earlier can pose as its result.
struct ReportedDigests: Equatable {
    var imageID: Digest?
    var manifestDigest: Digest?
    var compressorVersions: String?

    init(stderr: String) {
        for line in stderr.split(separator: "\n").map(String.init) {
            if line.hasPrefix("image ID ") {
                imageID = Digest(parsing: String(line.dropFirst("image ID ".count)))
            } else if line.hasPrefix("manifest digest ") {
                let rest = line.dropFirst("manifest digest ".count)
                manifestDigest = Digest(parsing: String(rest.prefix { $0 != " " }))
                let note = rest.drop { $0 != "(" }.dropFirst()
                if let separator = note.range(of: "; "), note.hasSuffix(")") {
                    compressorVersions = String(note[separator.upperBound...].dropLast())
                } else {
                    compressorVersions = nil
                }
            }
        }
    }

    /// Why the stream and the child's report disagree (a sentence after `the control build`),
    /// or nil when they agree: each names the digest the other must equal.
    func mismatch(with hashed: ArchiveHashResult) -> String? {
        guard let manifestDigest else { return "reported no manifest digest on stderr" }
        if manifestDigest != hashed.manifestDigest {
            return "reported manifest digest \(manifestDigest) but its stream has manifest digest \(hashed.manifestDigest)"
        }
        guard let imageID else { return "reported no image ID on stderr" }
        if imageID != hashed.configDigest {
            return "reported image ID \(imageID) but its stream has image ID \(hashed.configDigest)"
        }
        return nil
    }
}
