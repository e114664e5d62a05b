import ArgumentParser
import Builder
#if canImport(Glibc)
import Glibc
#endif

struct BuildCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "build",
        abstract: "Stream an image archive (docker-archive, uncompressed) to stdout or a file."
    )

    @Option(name: .customLong("nixpkgs-conf"), help: "A conf JSON as nixpkgs' stream_layered_image.py reads it.")
    var nixpkgsConf: String?

    @Option(name: .customLong("repo-tag"), help: "Override the conf's repo_tag.")
    var repoTag: String?

    @Option(name: [.short, .customLong("output")], help: "Write to FILE (via a temporary name, renamed on success).")
    var output: String?

    func validate() throws {
        if nixpkgsConf == nil {
            throw ValidationError("give --nixpkgs-conf FILE")
        }
    }

    func run() throws {
        guard let confPath = nixpkgsConf else { return }
        let conf = try NixpkgsConf.decode(try readFile(confPath), file: confPath)
        let plan = try conf.plan(repoTagOverride: repoTag, file: confPath)
        try OutputTarget.write(to: output) { sink in
            let writer = ImageArchiveWriter(plan: plan, progress: ProgressDisplay.forStderr())
            return try writer.write(to: sink).1
        }
    }
}

func readFile(_ path: String) throws -> [UInt8] {
    var source = try FileSource(path: path)
    var bytes: [UInt8] = []
    while true {
        let chunk = try source.readUpTo(1 << 16)
        if chunk.isEmpty { break }
        bytes += chunk
    }
    return bytes
}
