import Testing
@testable import Builder

@Suite("LayerPlanning")
struct LayerPlanningTests {
    // The image's customisation layer references two contents; nixpkgs passes it
    // as a closure root and excludes it from the layers.
    let graph: ReferenceGraph = {
        let nodes: [ReferenceGraph.Node] = [
            .init(path: "/nix/store/cc-customisation", references: ["/nix/store/hh-hello", "/nix/store/bb-bash"], narSize: 1),
            .init(path: "/nix/store/hh-hello", references: ["/nix/store/gg-glibc"], narSize: 50),
            .init(path: "/nix/store/bb-bash", references: ["/nix/store/gg-glibc"], narSize: 70),
            .init(path: "/nix/store/gg-glibc", references: [], narSize: 300),
            .init(path: "/nix/store/uu-unrelated", references: [], narSize: 5),
        ]
        return (try? ReferenceGraph(nodes: nodes)) ?? ReferenceGraph.emptyForTests
    }()
    let roots = ["/nix/store/cc-customisation"]
    let excluded = ["/nix/store/cc-customisation"]

    @Test("budget is maxLayers minus the customisation layer and base image layers")
    func budget() throws {
        #expect(try LayerBudget.storeLayers(maxLayers: 100) == 99)
        #expect(try LayerBudget.storeLayers(maxLayers: 100, baseImageLayers: 3) == 96)
        #expect(throws: LayeringError.noLayersAvailable(maxLayers: 4, usedLayers: 4)) {
            try LayerBudget.storeLayers(maxLayers: 4, baseImageLayers: 3)
        }
    }

    @Test("popularity puts one path per layer when the budget allows, with no empty last layer")
    func popularityRoomy() throws {
        let layers = try planLayers(graph: graph, roots: roots, excluding: excluded, strategy: .popularity, budget: 99)
        // glibc is reached from bash and hello (popularity 4); bash and hello tie at 1.
        #expect(layers == [["/nix/store/gg-glibc"], ["/nix/store/bb-bash"], ["/nix/store/hh-hello"]])
        #expect(try planLayers(graph: graph, roots: roots, excluding: excluded, strategy: .popularity, budget: 3) == layers)
    }

    @Test("popularity merges everything past budget minus one into the last layer")
    func popularityTight() throws {
        #expect(try planLayers(graph: graph, roots: roots, excluding: excluded, strategy: .popularity, budget: 2)
            == [["/nix/store/gg-glibc"], ["/nix/store/bb-bash", "/nix/store/hh-hello"]])
        #expect(try planLayers(graph: graph, roots: roots, excluding: excluded, strategy: .popularity, budget: 1)
            == [["/nix/store/gg-glibc", "/nix/store/bb-bash", "/nix/store/hh-hello"]])
        #expect(throws: LayeringError.invalidBudget(0)) {
            try planLayers(graph: graph, roots: roots, strategy: .popularity, budget: 0)
        }
    }

    @Test("auto keeps excluded roots in the split but not in the layers")
    func auto() throws {
        let layers = try planLayers(graph: graph, roots: roots, excluding: excluded, strategy: .auto, budget: 99)
        #expect(layers == [["/nix/store/gg-glibc"], ["/nix/store/hh-hello"], ["/nix/store/bb-bash"]])
    }

    @Test("a pipeline ignores the budget and sees the graph without excluded paths")
    func pipeline() throws {
        let pipeline = LayeringPipeline(steps: [.splitPaths([.path("/nix/store/bb-bash")])])
        let layers = try planLayers(graph: graph, roots: roots, excluding: excluded, strategy: .pipeline(pipeline), budget: 1)
        #expect(layers == [["/nix/store/bb-bash"], ["/nix/store/gg-glibc"], ["/nix/store/hh-hello"]])
    }

    @Test("sizes the base JSON and customisation layer paths as their NARs")
    func imageRootSizes() throws {
        let config = JSONValue.object(JSONObject([("Cmd", .array([.string("/nix/store/hh-hello/bin/hello"), .string("a\"b\né\u{01}")]))]))
        let roots = ImageRootPaths(
            imageName: "registry/demo", storeDir: "/nix/store", architecture: "amd64", config: config,
            configReferences: ["/nix/store/hh-hello"], customisationTarSize: 10240, customisationReferences: ["/nix/store/bb-bash"]
        )
        // 105 bytes of builtins.toJSON; NAR sizes as `nix-store --dump | wc -c` gives them.
        #expect(roots.baseJSON.narSize == 224)
        #expect(roots.customisation.narSize == 10784)
        #expect(roots.baseJSON.path == "/nix/store/00000000000000000000000000000000-demo-base.json")
        #expect(roots.customisation.path == "/nix/store/00000000000000000000000000000000-demo-customisation-layer")
        let extended = try roots.extending(graph)
        #expect(extended.nodesInInputOrder.map(\.path) == extended.paths)
        #expect(Set(extended.roots) == Set(roots.paths + ["/nix/store/cc-customisation", "/nix/store/uu-unrelated"]))
    }

    @Test("auto splits with the customisation layer as a primary when it is among the largest")
    func autoWithImageRoots() throws {
        // Checked against auto-layer.py. The customisation layer (10784) outweighs
        // everything, so it is the first primary and claims bash and glibc; hello as
        // the next primary would make four layers, one over the limit. Without the
        // two image paths in the graph, every path would get its own layer.
        let nodes: [ReferenceGraph.Node] = [
            .init(path: "/nix/store/hh-hello", references: ["/nix/store/gg-glibc"], narSize: 5000),
            .init(path: "/nix/store/bb-bash", references: ["/nix/store/gg-glibc"], narSize: 70),
            .init(path: "/nix/store/gg-glibc", references: [], narSize: 300),
        ]
        let roots = ImageRootPaths(
            imageName: "demo", storeDir: "/nix/store", architecture: "amd64", config: .object(JSONObject()),
            configReferences: ["/nix/store/hh-hello"], customisationTarSize: 10240, customisationReferences: ["/nix/store/bb-bash"]
        )
        let extended = try roots.extending(try ReferenceGraph(nodes: nodes))
        let layers = try planLayers(graph: extended, roots: roots.paths, excluding: roots.paths, strategy: .auto, budget: 3)
        #expect(layers == [["/nix/store/hh-hello"], ["/nix/store/bb-bash", "/nix/store/gg-glibc"]])
        let bare = try ReferenceGraph(nodes: nodes)
        #expect(try planLayers(graph: bare, roots: ["/nix/store/hh-hello", "/nix/store/bb-bash"], strategy: .auto, budget: 3).count == 3)
    }

    @Test("no roots means no layers")
    func noRoots() throws {
        #expect(try planLayers(graph: graph, roots: [], strategy: .auto, budget: 5) == [])
    }

    @Test("plans a whole graph as it plans the graph rooted at the paths nothing references")
    func wholeGraph() throws {
        var generator = LCG(seed: 31)
        let pipeline = LayeringPipeline(steps: [.popularityContest, .limitLayers(7)])
        for _ in 0..<5 {
            let graph = try ReferenceGraph(nodes: generatedNodes(count: 150, maxReferences: 3, window: 20, generator: &generator))
            for strategy in [LayeringStrategy.popularity, .auto, .pipeline(pipeline)] {
                #expect(try planLayers(wholeGraph: graph, strategy: strategy, budget: 9)
                    == planLayers(graph: graph, roots: graph.roots, strategy: strategy, budget: 9))
            }
        }
        let empty = try ReferenceGraph(nodes: [])
        #expect(try planLayers(wholeGraph: empty, strategy: .popularity, budget: 0) == [])
    }
}
