import BigInt
import Testing
@testable import Builder

@Suite("Popularity")
struct PopularityTests {
    @Test("counts popularity as closure-graph.py's graph_popularity_contest test")
    func contestVector() throws {
        let graph = try ReferenceGraph(nodes: [
            .init(path: "/nix/store/foo", references: ["/nix/store/bar", "/nix/store/baz"]),
            .init(path: "/nix/store/bar", references: ["/nix/store/baz"]),
            .init(path: "/nix/store/baz", references: ["/nix/store/tux"]),
            .init(path: "/nix/store/tux", references: []),
        ])
        #expect(Popularity.counts(in: graph) == [
            "/nix/store/foo": 1, "/nix/store/bar": 2, "/nix/store/baz": 4, "/nix/store/tux": 6,
        ])
        #expect(Popularity.order(graph) == ["/nix/store/tux", "/nix/store/baz", "/nix/store/bar", "/nix/store/foo"])
    }

    @Test("reproduces the worked example in closure-graph.py's header comment")
    func headerExample() throws {
        let graph = try ReferenceGraph(nodes: [
            .init(path: "A", references: ["B", "G"]),
            .init(path: "B", references: ["C", "E"]),
            .init(path: "C", references: ["D", "E"]),
            .init(path: "D", references: ["F"]),
            .init(path: "E", references: ["F"]),
            .init(path: "F", references: []),
            .init(path: "G", references: []),
        ])
        #expect(Popularity.counts(in: graph) == ["A": 1, "B": 2, "C": 3, "D": 4, "E": 5, "F": 9, "G": 2])
        #expect(Popularity.order(graph) == ["F", "E", "D", "C", "B", "G", "A"])
    }

    @Test("orders by count, then ascending sort key, as order_by_popularity's test")
    func orderVector() {
        let ordered = Popularity.order(byCounts: [
            "/nix/store/foo": 1, "/nix/store/bar": 1, "/nix/store/baz": 2, "/nix/store/tux": 2,
        ])
        #expect(ordered == ["/nix/store/baz", "/nix/store/tux", "/nix/store/bar", "/nix/store/foo"])
    }

    @Test("sort key moves the hash part to the end like package_name")
    func sortKey() {
        #expect(Popularity.sortKey("/nix/store/abc123-hello-2.12") == "hello-2.12-/nix/store/abc123")
        #expect(Popularity.sortKey("/nix/store/nodash") == "/nix/store/nodash")
        // Equal counts: name decides, not hash.
        let ordered = Popularity.order(byCounts: ["/nix/store/aaa-zlib": 1, "/nix/store/zzz-bash": 1])
        #expect(ordered == ["/nix/store/zzz-bash", "/nix/store/aaa-zlib"])
    }

    @Test("matches closure-graph.py's recursive contest on generated graphs")
    func matchesReference() throws {
        var generator = LCG(seed: 7)
        for _ in 0..<20 {
            let nodes = generatedNodes(count: 40, maxReferences: 4, window: 12, generator: &generator)
            let graph = try ReferenceGraph(nodes: nodes)
            #expect(Popularity.counts(in: graph) == referenceContest(nodes))
        }
    }

    @Test("gives the same counts when the reach bitsets are split into many blocks")
    func blocked() throws {
        var generator = LCG(seed: 99)
        let nodes = generatedNodes(count: 300, maxReferences: 4, window: 30, generator: &generator)
        let graph = try ReferenceGraph(nodes: nodes)
        let whole = Popularity.counts(successors: graph.successors)
        // 300 words hold one 64-target word per node: five blocks of targets.
        #expect(Popularity.counts(successors: graph.successors, reachBudgetWords: 300) == whole)
        // Two words per node: three blocks, the last one short.
        #expect(Popularity.counts(successors: graph.successors, reachBudgetWords: 600) == whole)
        #expect(Popularity.counts(successors: graph.successors, reachBudgetWords: 1) == whole)
    }

    @Test("counts beyond UInt64 on a generated 2,500-path graph and still plans layers")
    func largeGraph() throws {
        var generator = LCG(seed: 2500)
        let nodes = generatedNodes(count: 2500, maxReferences: 5, window: 40, generator: &generator)
        let graph = try ReferenceGraph(nodes: nodes)
        let counts = Popularity.counts(in: graph)
        let largest = counts.values.max() ?? 0
        #expect(largest > BigUInt(UInt64.max))
        let roots = graph.roots
        let layers = try planLayers(graph: graph, roots: roots, strategy: .popularity, budget: 99)
        #expect(layers.count == 99)
        #expect(layers.flatMap { $0 }.sorted() == graph.paths)
        // The most popular path is the bottom layer on its own.
        let top = counts.filter { $0.value == largest }.keys.sorted { Popularity.sortKey($0) < Popularity.sortKey($1) }
        #expect(layers[0] == [top[0]])
        let auto = try planLayers(graph: graph, roots: roots, strategy: .auto, budget: 99)
        #expect(auto.count <= 99 && auto.count > 1)
        #expect(auto.flatMap { $0 }.sorted() == graph.paths)
    }
}

/// closure-graph.py's algorithm as written: expand every route into a tree, then
/// fold counters upwards. Exponential, so only for small graphs.
func referenceContest(_ nodes: [ReferenceGraph.Node]) -> [String: BigUInt] {
    let lookup = Dictionary(uniqueKeysWithValues: nodes.map { node in (node.path, node.references.filter { $0 != node.path }) })
    let referenced = Set(nodes.flatMap { node in node.references.filter { $0 != node.path } })
    let roots = nodes.map(\.path).filter { !referenced.contains($0) }
    var cache: [String: [String: BigUInt]] = [:]
    func contest(_ children: [String]) -> [String: BigUInt] {
        var popularity: [String: BigUInt] = [:]
        for child in Set(children) {
            popularity[child, default: 0] += 1
            let sub: [String: BigUInt]
            if let cached = cache[child] {
                sub = cached
            } else {
                sub = contest(lookup[child] ?? [])
                cache[child] = sub
            }
            for (path, value) in sub { popularity[path, default: 0] += value + 1 }
        }
        return popularity
    }
    return contest(roots)
}

struct LCG {
    var state: UInt64
    init(seed: UInt64) { state = seed }
    mutating func next(_ bound: Int) -> Int {
        state = state &* 6364136223846793005 &+ 1442695040888963407
        return Int((state >> 33) % UInt64(bound))
    }
}

/// A DAG where node i references up to `maxReferences` of the next `window` nodes,
/// named like store paths so sort keys matter.
func generatedNodes(count: Int, maxReferences: Int, window: Int, generator: inout LCG) -> [ReferenceGraph.Node] {
    func name(_ index: Int) -> String {
        let hash = String(UInt64(index) &* 2654435761 % 1_000_000_007, radix: 36)
        return "/nix/store/\(hash)-pkg\(index % 97)-\(index)"
    }
    return (0..<count).map { index in
        var references: [String] = []
        let available = count - index - 1
        if available > 0 {
            for _ in 0..<generator.next(maxReferences + 1) {
                references.append(name(index + 1 + generator.next(min(window, available))))
            }
        }
        return .init(path: name(index), references: references, narSize: UInt64(generator.next(1_000_000)))
    }
}
