import ArgumentParser
import Builder
import Foundation

struct BuildCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "build",
        abstract: "Stream an image (docker-archive, OCI archive or layout, or both at once) to stdout or a file.",
        discussion: """
            Give an image SPEC (JSON, see README), or --nixpkgs-conf with the conf nixpkgs' stream_layered_image.py reads. \
            When done, prints the image ID and, for OCI formats, the manifest digest (what a registry reports after \
            skopeo copy --preserve-digests) on stderr.
            """
    )

    @Argument(help: "An image spec (JSON).")
    var spec: String?

    @Option(name: .customLong("nixpkgs-conf"), help: "A conf JSON as nixpkgs' stream_layered_image.py reads it.")
    var nixpkgsConf: String?

    @Option(name: .customLong("repo-tag"), help: "Override the image's repo tag.")
    var repoTag: String?

    @Option(name: [.short, .customLong("output")], help: "Write to FILE (via a temporary name, renamed on success).")
    var output: String?

    @Option(help: "docker-archive (nixpkgs' bytes), oci-archive, oci-layout (a directory, needs -o) or dual (docker-archive and OCI layout in one tar).")
    var format: ImageFormat = .dockerArchive

    @Option(help: "Layer compression of OCI formats: none, gzip or zstd (default gzip); docker-archive layers are never compressed.")
    var compression: LayerCompression?

    @Option(name: .customLong("digest-file"), help: "Write the manifest digest (image ID for docker-archive) to FILE.")
    var digestFile: String?

    /// `check` passes this and judges the pin itself, so a rebuild that misses it still
    /// yields the digests that say what changed.
    @Flag(name: .customLong("ignore-pin"), help: .hidden)
    var ignorePin = false

    @Option(name: .customLong("spill-dir"), help: "Compress each layer once, keeping it in an unlinked temporary file in DIR until it streams (needs disk space; default: compress twice, no disk).")
    var spillDirectory: String?

    func validate() throws {
        if (spec == nil) == (nixpkgsConf == nil) {
            throw ValidationError("give either an image SPEC or --nixpkgs-conf FILE")
        }
        if format == .dockerArchive, let compression, compression != .none {
            throw ValidationError("--compression \(compression.rawValue) needs an OCI --format (oci-archive, oci-layout or dual); docker-archive layers are uncompressed")
        }
        if format == .dockerArchive && spillDirectory != nil {
            throw ValidationError("--spill-dir keeps compressed layers; it needs an OCI --format")
        }
        if format == .ociLayout && output == nil {
            throw ValidationError("--format oci-layout writes a directory: give -o DIR")
        }
    }

    func run() async throws {
        if let repoTag, let problem = ImageReference.problem(withTagged: repoTag) {
            throw SpecError.badReference(file: nil, key: "--repo-tag", value: repoTag, problem: problem)
        }
        // Armed before anything is created: SIGINT or SIGTERM removes the work directory and
        // the temporary output, then exits 130.
        let interrupts = InterruptCleanup()
        defer { interrupts.disarm() }
        if let confPath = nixpkgsConf {
            let conf = try NixpkgsConf.decode(try readFile(confPath), file: confPath)
            try stream(try conf.plan(repoTagOverride: repoTag, file: confPath), pin: nil, interrupts: interrupts)
            return
        }
        guard let specPath = spec else { return }
        let resolved = try await SpecBuild.resolve(specPath, interrupts: interrupts)
        defer { interrupts.remove(directory: resolved.workDirectory) }
        var plan = resolved.image.plan
        if let repoTag { plan.repoTag = .fixed(repoTag) }
        let pin = ignorePin ? nil : resolved.spec.expectDigest.map { DigestPin(expected: $0, file: specPath) }
        try stream(plan, pin: pin, interrupts: interrupts)
    }

    /// Writes the image; a pinned digest is checked before the output gets its final name.
    private func stream(_ plan: ImagePlan, pin: DigestPin?, interrupts: InterruptCleanup) throws {
        let progress = ProgressDisplay.forStderr()
        let summary: BuildSummary
        switch format {
        case .dockerArchive:
            var result: ImageArchiveResult?
            try OutputTarget.write(to: output, interrupts: interrupts) { sink in
                let (written, flushed) = try ImageArchiveWriter(plan: plan, progress: progress).write(to: sink)
                try pin?.check(written.configDigest, format: format)
                result = written
                return flushed
            }
            guard let result else { return }
            summary = BuildSummary(imageID: result.configDigest, manifestDigest: nil, compression: nil)
        case .ociArchive, .dual, .ociLayout:
            let writer = OCIImageWriter(
                plan: plan, compression: compression ?? .gzip, dockerManifest: format == .dual, spillDirectory: spillDirectory, progress: progress
            )
            var result: OCIImageResult?
            if format == .ociLayout, let output {
                let makeTemporary = { (path: String) throws in
                    _ = try interrupts.creatingDirectory {
                        try DirectoryLayoutDestination.makeDirectory(path)
                        return path
                    }
                }
                result = try DirectoryLayoutDestination.write(to: output, makeTemporary: makeTemporary) { directory in
                    let written = try writer.write(to: directory).0
                    try pin?.check(written.manifestDigest, format: format)
                    return written
                }
            } else {
                try OutputTarget.write(to: output, interrupts: interrupts) { sink in
                    var (written, tar) = try writer.write(to: TarLayoutDestination(sink: sink, mtime: plan.mtime))
                    try pin?.check(written.manifestDigest, format: format)
                    result = written
                    return try tar.finish()
                }
            }
            guard let result else { return }
            summary = BuildSummary(imageID: result.configDigest, manifestDigest: result.manifestDigest, compression: result.compression)
        }
        if let digestFile {
            try OutputTarget.write(to: digestFile, interrupts: interrupts) { sink in
                var sink = sink
                try sink.write(Array("\(summary.pinnedDigest)\n".utf8))
                return sink
            }
        }
        FileHandleStderr.write(summary.lines(format: format))
    }
}

/// What `build` prints when done: what users pin and what a registry will show.
struct BuildSummary {
    var imageID: Digest
    var manifestDigest: Digest?
    var compression: LayerCompression?

    /// The manifest digest of an OCI format, the image ID of a docker-archive.
    var pinnedDigest: Digest { manifestDigest ?? imageID }

    func lines(format: ImageFormat) -> String {
        var text = "image ID \(imageID)\n"
        if let manifestDigest, let compression {
            text += "manifest digest \(manifestDigest) (\(format.rawValue), layers \(compression.rawValue); \(CompressorVersions.linked))\n"
        }
        return text
    }
}

extension ImageFormat: ExpressibleByArgument {}
extension LayerCompression: ExpressibleByArgument {}

/// Resolving a spec needs a work directory for its customisation layer; both build and plan
/// do it the same way.
enum SpecBuild {
    struct Resolved {
        var spec: ImageSpec
        var image: ResolvedImage
        var workDirectory: String
    }

    /// Without `interrupts` (plan) the work directory is guarded only while the spec resolves,
    /// which is when commands run; the caller removes it right after.
    static func resolve(_ specPath: String, interrupts: InterruptCleanup? = nil) async throws -> Resolved {
        let spec = try ImageSpec.load(path: specPath)
        let guardian = interrupts ?? InterruptCleanup()
        defer { if interrupts == nil { guardian.disarm() } }
        let workDirectory = try guardian.creatingDirectory { try SpecResolver.makeWorkDirectory() }
        do {
            let resolver = SpecResolver(
                spec: spec, passThrough: SpecResolver.passThrough(from: ProcessInfo.processInfo.environment),
                processGroups: guardian.processGroups)
            let image = try await resolver.resolve(workDirectory: workDirectory)
            for warning in image.warnings { FileHandleStderr.write("repro-check: warning: \(warning)\n") }
            return Resolved(spec: spec, image: image, workDirectory: workDirectory)
        } catch {
            guardian.remove(directory: workDirectory)
            throw error
        }
    }
}

/// A conf or spec file, which may be a pipe (`<(…)`); bounded, so a device such as /dev/zero
/// is refused instead of filling memory.
func readFile(_ path: String) throws -> [UInt8] {
    var source = try FileSource(path: path)
    return try source.readAll(limit: ByteLimits.document)
}
