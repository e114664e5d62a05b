/// The graph value flatten_references_graph passes between pipeline steps (an igraph
/// graph there): named vertices in a fixed order plus directed edges.
///
/// Vertex order is what becomes the order of paths inside a layer, so every
/// operation here mirrors igraph's: induced subgraphs and vertex deletion keep the
/// surviving vertices in their old relative order, and merging concatenates.
struct PipelineGraph: Equatable, Sendable {
    var names: [String]
    /// Successor indices per vertex, in edge order.
    var successors: [[Int]]

    static let empty = PipelineGraph(names: [], successors: [])

    var isEmpty: Bool { names.isEmpty }

    /// igraph's `vs.find(name)`: the first vertex with that name.
    func index(of name: String) -> Int? { names.firstIndex(of: name) }

    /// Keeps the vertices in `kept` (any order, repeats allowed) and the edges between them.
    func induced(_ kept: some Sequence<Int>) -> PipelineGraph {
        var keep = [Bool](repeating: false, count: names.count)
        for index in kept { keep[index] = true }
        var newIndex = [Int](repeating: -1, count: names.count)
        var result = PipelineGraph.empty
        for index in names.indices where keep[index] {
            newIndex[index] = result.names.count
            result.names.append(names[index])
        }
        for index in names.indices where keep[index] {
            result.successors.append(successors[index].compactMap { keep[$0] ? newIndex[$0] : nil })
        }
        return result
    }

    /// igraph's `graph - indices`.
    func removing(_ removed: some Sequence<Int>) -> PipelineGraph {
        let drop = Set(removed)
        return induced(names.indices.filter { !drop.contains($0) })
    }

    /// lib.py's `merge_graphs`, igraph's `a + b + …`: a disjoint union, vertices in
    /// the order of the graphs. Built in one pass; merging pairwise is quadratic.
    static func union(_ graphs: [PipelineGraph]) -> PipelineGraph {
        var result = PipelineGraph.empty
        result.names.reserveCapacity(graphs.reduce(0) { $0 + $1.names.count })
        result.successors.reserveCapacity(result.names.capacity)
        for graph in graphs {
            let offset = result.names.count
            result.names.append(contentsOf: graph.names)
            result.successors.append(contentsOf: graph.successors.map { $0.map { $0 + offset } })
        }
        return result
    }

    /// igraph's `subcomponent(vertex, mode)`: everything reachable along (out) or
    /// against (in) the edges, the start vertices included.
    func subcomponent(of start: [Int], against: Bool) -> [Bool] {
        GraphAlgorithms.reachable(from: start, successors: against ? GraphAlgorithms.predecessors(of: successors) : successors)
    }
}

extension PipelineGraph {
    /// flatten_references_graph's `references_graph_to_igraph`: vertices ordered by
    /// narSize, ascending, with Python's stable sort, so equal sizes keep the order of
    /// the graph's input (Nix lists exportReferencesGraph by store path).
    init(graph: ReferenceGraph) throws(LayeringError) {
        var sizes: [UInt64] = []
        for (index, size) in graph.narSizes.enumerated() {
            guard let size else { throw .missingNarSize(graph.paths[index]) }
            sizes.append(size)
        }
        let rank = graph.inputRank
        let order = graph.inputOrder.sorted { lhs, rhs in
            sizes[lhs] != sizes[rhs] ? sizes[lhs] < sizes[rhs] : rank[lhs] < rank[rhs]
        }
        var position = [Int](repeating: 0, count: order.count)
        for (newIndex, oldIndex) in order.enumerated() { position[oldIndex] = newIndex }
        self.names = order.map { graph.paths[$0] }
        self.successors = order.map { oldIndex in graph.successors[oldIndex].map { position[$0] } }
    }
}
