import ArgumentParser
import Builder
import Foundation

struct BuildCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "build",
        abstract: "Stream an image archive (docker-archive, uncompressed) to stdout or a file.",
        discussion: "Give an image SPEC (JSON, see README), or --nixpkgs-conf with the conf nixpkgs' stream_layered_image.py reads."
    )

    @Argument(help: "An image spec (JSON).")
    var spec: String?

    @Option(name: .customLong("nixpkgs-conf"), help: "A conf JSON as nixpkgs' stream_layered_image.py reads it.")
    var nixpkgsConf: String?

    @Option(name: .customLong("repo-tag"), help: "Override the image's repo tag.")
    var repoTag: String?

    @Option(name: [.short, .customLong("output")], help: "Write to FILE (via a temporary name, renamed on success).")
    var output: String?

    func validate() throws {
        if (spec == nil) == (nixpkgsConf == nil) {
            throw ValidationError("give either an image SPEC or --nixpkgs-conf FILE")
        }
    }

    func run() async throws {
        if let repoTag, let problem = ImageReference.problem(withTagged: repoTag) {
            throw SpecError.badReference(file: nil, key: "--repo-tag", value: repoTag, problem: problem)
        }
        if let confPath = nixpkgsConf {
            let conf = try NixpkgsConf.decode(try readFile(confPath), file: confPath)
            try stream(try conf.plan(repoTagOverride: repoTag, file: confPath))
            return
        }
        guard let specPath = spec else { return }
        let resolved = try await SpecBuild.resolve(specPath)
        defer { SpecResolver.removeWorkDirectory(resolved.workDirectory) }
        var plan = resolved.image.plan
        if let repoTag { plan.repoTag = .fixed(repoTag) }
        try stream(plan)
    }

    private func stream(_ plan: ImagePlan) throws {
        try OutputTarget.write(to: output) { sink in
            let writer = ImageArchiveWriter(plan: plan, progress: ProgressDisplay.forStderr())
            return try writer.write(to: sink).1
        }
    }
}

/// Resolving a spec needs a work directory for its customisation layer; both build and plan
/// do it the same way.
enum SpecBuild {
    struct Resolved {
        var image: ResolvedImage
        var workDirectory: String
    }

    static func resolve(_ specPath: String) async throws -> Resolved {
        let spec = try ImageSpec.load(path: specPath)
        let workDirectory = try SpecResolver.makeWorkDirectory()
        do {
            let resolver = SpecResolver(spec: spec, passThrough: SpecResolver.passThrough(from: ProcessInfo.processInfo.environment))
            let image = try await resolver.resolve(workDirectory: workDirectory)
            for warning in image.warnings { FileHandleStderr.write("repro-check: warning: \(warning)\n") }
            return Resolved(image: image, workDirectory: workDirectory)
        } catch {
            SpecResolver.removeWorkDirectory(workDirectory)
            throw error
        }
    }
}

func readFile(_ path: String) throws -> [UInt8] {
    var source = try FileSource(path: path)
    return try source.readAll()
}
