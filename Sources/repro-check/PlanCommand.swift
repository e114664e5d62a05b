import ArgumentParser
import Builder
import Foundation

struct PlanCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "plan",
        abstract: "Print the store layers (a JSON array of arrays of store paths, bottom first).",
        discussion: """
        With SPEC: the layers `build SPEC` would write. With --graph: the layers of a reference graph \
        (exportReferencesGraph array or `nix path-info --json` object), rooted at the paths nothing references.
        """
    )

    @Argument(help: "An image spec (JSON).")
    var spec: String?

    @Option(help: "A reference graph JSON file.")
    var graph: String?

    @Option(name: .customLong("max-layers"), help: "Total layers including the customisation layer (with --graph; a pipeline ignores it, as nixpkgs does).")
    var maxLayers: Int = 100

    @Option(help: "popularity, auto, or a pipeline JSON file (with --graph).")
    var layering: String = "popularity"

    func validate() throws {
        if (spec == nil) == (graph == nil) {
            throw ValidationError("give either an image SPEC or --graph FILE")
        }
        if spec != nil && (maxLayers != 100 || layering != "popularity") {
            throw ValidationError("--max-layers and --layering apply to --graph; a spec sets maxLayers and layering itself")
        }
    }

    func run() async throws {
        let layers: [[String]]
        if let spec {
            let resolved = try await SpecBuild.resolve(spec)
            SpecResolver.removeWorkDirectory(resolved.workDirectory)
            layers = resolved.image.storeLayers
        } else if let graph {
            layers = try planGraph(graph)
        } else {
            return
        }
        let json = JSONValue.array(layers.map { .array($0.map(JSONValue.string)) })
        try StandardOutput.write(PythonJSON.dumps(json, indent: 2) + [0x0A])
    }

    private func planGraph(_ path: String) throws -> [[String]] {
        let graph = try ReferenceGraph.load(path: path)
        let strategy: LayeringStrategy
        switch layering {
        case "popularity": strategy = .popularity
        case "auto": strategy = .auto
        default:
            let contents: InputFile.Contents
            do {
                contents = try InputFile.read(layering, role: "layering pipeline", limit: InputFile.specLimit)
            } catch {
                throw UsageError("--layering must be popularity, auto or a readable pipeline JSON file; \(error)")
            }
            do {
                strategy = .pipeline(try LayeringPipeline(json: Data(contents.bytes)))
            } catch {
                throw SpecError.layering(file: layering, error)
            }
        }
        // As in nixpkgs, maxLayers does not apply to a pipeline.
        let budget = if case .pipeline = strategy { 0 } else { try LayerBudget.storeLayers(maxLayers: maxLayers) }
        do { return try planLayers(wholeGraph: graph, strategy: strategy, budget: budget) } catch {
            throw SpecError.layering(file: path, error)
        }
    }
}
