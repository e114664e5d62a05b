import Foundation

/// The references between store paths of a closure, as Nix reports them.
///
/// Paths are kept sorted (by UTF-8 bytes, which is Python's code-point order) and
/// references are stored deduplicated and without self-references: Nix lists a path
/// among its own references, and every nixpkgs layering script drops those.
public struct ReferenceGraph: Equatable, Sendable {
    public struct Node: Equatable, Sendable {
        public let path: String
        /// Referenced paths, sorted, without the path itself.
        public let references: [String]
        public let narSize: UInt64?

        public init(path: String, references: [String], narSize: UInt64? = nil) {
            self.path = path
            self.references = references
            self.narSize = narSize
        }
    }

    /// All paths, sorted.
    public let paths: [String]
    /// Successor indices per node, sorted, deduplicated, self-references removed.
    let successors: [[Int]]
    let narSizes: [UInt64?]
    /// Each input position's node index. flatten_references_graph and auto-layer.py
    /// sort by narSize with Python's stable sort, so equal sizes keep the input order.
    let inputOrder: [Int]

    /// Builds a graph from nodes, checking that every reference has a node and that
    /// no two distinct paths reach each other. The order of `nodes` is kept as the
    /// input order that breaks narSize ties.
    public init(nodes: [Node]) throws(LayeringError) {
        // Input positions in path order; a repeated path ends up next to itself.
        let order = nodes.indices.sorted { ReferenceGraph.precedes(nodes[$0].path, nodes[$1].path) }
        for (previous, position) in zip(order, order.dropFirst()) where nodes[previous].path == nodes[position].path {
            throw .duplicatePath(nodes[position].path)
        }
        let paths = order.map { nodes[$0].path }
        var successors: [[Int]] = []
        var narSizes: [UInt64?] = []
        var inputOrder = [Int](repeating: 0, count: paths.count)
        successors.reserveCapacity(paths.count)
        narSizes.reserveCapacity(paths.count)
        for (index, position) in order.enumerated() {
            let node = nodes[position]
            inputOrder[position] = index
            var targets: [Int] = []
            targets.reserveCapacity(node.references.count)
            // The smallest unknown reference, so the error names the same one every time.
            var unknown: String?
            for reference in node.references {
                if let target = Self.index(of: reference, in: paths) {
                    targets.append(target)
                } else if unknown.map({ ReferenceGraph.precedes(reference, $0) }) ?? true {
                    unknown = reference
                }
            }
            if let unknown { throw .unknownReference(from: node.path, to: unknown) }
            successors.append(GraphAlgorithms.uniqueSorted(targets, excluding: index))
            narSizes.append(node.narSize)
        }
        try self.init(paths: paths, successors: successors, narSizes: narSizes, inputOrder: inputOrder)
    }

    /// The graph from its parts, as both builders prepare them: `paths` sorted and
    /// distinct, `successors` as the stored property says. Only cycles are checked.
    init(paths: [String], successors: [[Int]], narSizes: [UInt64?], inputOrder: [Int]) throws(LayeringError) {
        self.paths = paths
        self.successors = successors
        self.narSizes = narSizes
        self.inputOrder = inputOrder
        if let (first, second) = GraphAlgorithms.findCycle(successors: successors) {
            throw .cycle(paths[first], paths[second])
        }
    }

    /// Reads either JSON shape: an exportReferencesGraph array of
    /// `{path, references, narSize?, closureSize?}` or a `nix path-info --json`
    /// object keyed by path.
    public init(json data: Data) throws(LayeringError) {
        let direct = data.withUnsafeBytes { raw in
            Result { () throws(LayeringError) in try ReferenceGraphReader.read(raw.bindMemory(to: UInt8.self)) }
        }
        if let graph = try direct.get() {
            self = graph
        } else {
            // Outside what the direct reader covers: the general parser gives the same
            // graph or the precise error.
            try self.init(json: JSONValue.decodeLayeringInput(data))
        }
    }

    /// ``init(json:)`` over bytes already in memory, without copying them.
    public init(jsonBytes bytes: [UInt8]) throws(LayeringError) {
        let direct = bytes.withUnsafeBufferPointer { buffer in
            Result { () throws(LayeringError) in try ReferenceGraphReader.read(buffer) }
        }
        if let graph = try direct.get() {
            self = graph
        } else {
            try self.init(json: JSONValue.decodeLayeringInput(bytes))
        }
    }

    /// Entries are read in file order, the order Python's `json.load` keeps for both
    /// shapes (Nix writes both sorted by path).
    public init(json: JSONValue) throws(LayeringError) {
        switch json {
        case let .array(entries):
            try self.init(nodes: entries.enumerated().map { index, entry throws(LayeringError) in
                try ReferenceGraph.exportedNode(entry, index: index)
            })
        case let .object(entries):
            try self.init(nodes: entries.entries.map { entry throws(LayeringError) in
                try ReferenceGraph.pathInfoNode(path: entry.key, entry.value)
            })
        default:
            throw .malformedGraph(reason: "the top level is \(json.kindName), not an array or an object")
        }
    }

    public var count: Int { paths.count }

    /// Paths no other path references, sorted: closure-graph.py's `find_roots`.
    public var roots: [String] {
        var referenced = [Bool](repeating: false, count: count)
        for targets in successors { for target in targets { referenced[target] = true } }
        return paths.indices.filter { !referenced[$0] }.map { paths[$0] }
    }

    public func contains(_ path: String) -> Bool { index(of: path) != nil }

    public func node(_ path: String) -> Node? {
        guard let index = index(of: path) else { return nil }
        return node(at: index)
    }

    /// The node index of `path`: a binary search of the sorted paths, which costs less
    /// than building a dictionary for the few lookups a plan makes.
    func index(of path: String) -> Int? { Self.index(of: path, in: paths) }

    private static func index(of path: String, in sorted: [String]) -> Int? {
        var low = 0, high = sorted.count
        while low < high {
            let middle = (low + high) / 2
            if precedes(sorted[middle], path) { low = middle + 1 } else { high = middle }
        }
        // Equal bytes, as Python compares paths (String's == would also match canonically equivalent ones).
        return low < sorted.count && !precedes(path, sorted[low]) ? low : nil
    }

    /// Every node, in path order.
    public var nodes: [Node] { paths.indices.map(node(at:)) }

    /// Each node's position in the input order.
    var inputRank: [Int] {
        var rank = [Int](repeating: 0, count: count)
        for (position, index) in inputOrder.enumerated() { rank[index] = position }
        return rank
    }

    /// Every node, in the order the graph was built from.
    public var nodesInInputOrder: [Node] { inputOrder.map(node(at:)) }

    func node(at index: Int) -> Node {
        Node(path: paths[index], references: successors[index].map { paths[$0] }, narSize: narSizes[index])
    }

    /// The roots and everything they reach, sorted.
    public func closure(of roots: [String]) throws(LayeringError) -> [String] {
        try closureIndices(of: roots).map { paths[$0] }
    }

    func closureIndices(of roots: [String]) throws(LayeringError) -> [Int] {
        var start: [Int] = []
        for root in roots {
            guard let index = index(of: root) else { throw .unknownRoot(root) }
            start.append(index)
        }
        let reached = GraphAlgorithms.reachable(from: start, successors: successors)
        return paths.indices.filter { reached[$0] }
    }

    /// The subgraph on `kept` paths, with references to dropped paths removed — what
    /// flatten_references_graph does with `exclude_paths`.
    /// The input order of the kept paths is preserved.
    public func restricted(to kept: [String]) throws(LayeringError) -> ReferenceGraph {
        let keep = Set(kept)
        if keep.count == count && kept.allSatisfy(contains) { return self }
        return try ReferenceGraph(nodes: nodesInInputOrder.compactMap { node in
            guard keep.contains(node.path) else { return nil }
            return Node(path: node.path, references: node.references.filter(keep.contains), narSize: node.narSize)
        })
    }

    /// Python's string order (code points), which equals UTF-8 byte order.
    static func precedes(_ lhs: String, _ rhs: String) -> Bool {
        // Native strings hold contiguous UTF-8; comparing it with memcmp is several
        // times faster than walking the UTF8View, and sorting paths is hot.
        var lhs = lhs, rhs = rhs
        return lhs.withUTF8 { left in
            rhs.withUTF8 { right in ByteOrder.compare(left.baseAddress, left.count, right.baseAddress, right.count) < 0 }
        }
    }

    private static func exportedNode(_ entry: JSONValue, index: Int) throws(LayeringError) -> Node {
        guard case let .object(fields) = entry else {
            throw .malformedEntry(entry: "#\(index)", reason: "it is \(entry.kindName), not an object")
        }
        guard case let .string(path) = fields["path"] ?? .null else {
            throw .malformedEntry(entry: "#\(index)", reason: "it has no string \"path\"")
        }
        return try node(path: path, fields: fields)
    }

    private static func pathInfoNode(path: String, _ entry: JSONValue) throws(LayeringError) -> Node {
        guard case let .object(fields) = entry else {
            throw .malformedEntry(entry: path, reason: "it is \(entry.kindName), not an object")
        }
        return try node(path: path, fields: fields)
    }

    private static func node(path: String, fields: JSONObject) throws(LayeringError) -> Node {
        guard case let .array(rawReferences) = fields["references"] ?? .null else {
            throw .malformedEntry(entry: path, reason: "it has no \"references\" array")
        }
        var references: [String] = []
        for raw in rawReferences {
            guard case let .string(reference) = raw else {
                throw .malformedEntry(entry: path, reason: "a reference is \(raw.kindName), not a string")
            }
            references.append(resolve(reference, relativeTo: path))
        }
        var narSize: UInt64?
        if let raw = fields["narSize"], raw != .null {
            guard let size = raw.sizeValue else {
                throw .malformedEntry(entry: path, reason: "\"narSize\" is not a non-negative integer")
            }
            narSize = size
        }
        return Node(path: path, references: references, narSize: narSize)
    }

    /// Newer `nix path-info --json` formats give references as base names; resolve
    /// them against the store directory of the entry's own path.
    private static func resolve(_ reference: String, relativeTo path: String) -> String {
        guard !reference.hasPrefix("/"), path.hasPrefix("/"),
              let slash = path.utf8.lastIndex(of: UInt8(ascii: "/"))
        else { return reference }
        return String(path[..<slash]) + "/" + reference
    }
}

/// Python's string order over raw UTF-8 runs, which is byte order.
enum ByteOrder {
    /// Negative when `lhs` sorts first, zero when the runs are equal, positive otherwise.
    static func compare(_ lhs: UnsafePointer<UInt8>?, _ lhsCount: Int, _ rhs: UnsafePointer<UInt8>?, _ rhsCount: Int) -> Int {
        let common = min(lhsCount, rhsCount)
        if common > 0, let lhs, let rhs {
            let order = memcmp(lhs, rhs, common)
            if order != 0 { return Int(order) }
        }
        return lhsCount - rhsCount
    }
}

/// Index-based graph routines shared by the reference graph and the pipeline's graphs.
enum GraphAlgorithms {
    /// Marks every node reachable from `start`, the start nodes included.
    static func reachable(from start: [Int], successors: [[Int]]) -> [Bool] {
        var seen = [Bool](repeating: false, count: successors.count)
        var stack: [Int] = []
        for node in start where !seen[node] {
            seen[node] = true
            stack.append(node)
        }
        while let node = stack.popLast() {
            for next in successors[node] where !seen[next] {
                seen[next] = true
                stack.append(next)
            }
        }
        return seen
    }

    /// `targets` sorted, without repeats and without `node` itself.
    static func uniqueSorted(_ targets: [Int], excluding node: Int) -> [Int] {
        var result = targets.sorted()
        var kept = 0
        for target in result where target != node && (kept == 0 || result[kept - 1] != target) {
            result[kept] = target
            kept += 1
        }
        result.removeLast(result.count - kept)
        return result
    }

    /// Every node's successors as ``uniqueSorted(_:excluding:)`` gives them.
    static func uniqueSuccessors(_ successors: [[Int]]) -> [[Int]] {
        successors.enumerated().map { node, targets in uniqueSorted(targets, excluding: node) }
    }

    /// Predecessor lists, deduplicated, in ascending index order.
    static func predecessors(of successors: [[Int]]) -> [[Int]] {
        var result = [[Int]](repeating: [], count: successors.count)
        for (node, targets) in uniqueSuccessors(successors).enumerated() {
            for target in targets { result[target].append(node) }
        }
        return result
    }

    /// Kahn's order (every node before all the nodes it references), or nil on a cycle.
    /// Ready nodes are taken smallest index first so the order is reproducible.
    static func topologicalOrder(successors: [[Int]]) -> [Int]? {
        let unique = uniqueSuccessors(successors)
        var indegree = [Int](repeating: 0, count: unique.count)
        for targets in unique { for target in targets { indegree[target] += 1 } }
        var ready = unique.indices.filter { indegree[$0] == 0 }.reversed() as [Int]
        var order: [Int] = []
        order.reserveCapacity(unique.count)
        while let node = ready.popLast() {
            order.append(node)
            for target in unique[node] {
                indegree[target] -= 1
                if indegree[target] == 0 { ready.append(target) }
            }
        }
        return order.count == unique.count ? order : nil
    }

    /// Two distinct nodes on a cycle, or nil when the graph is acyclic.
    static func findCycle(successors: [[Int]]) -> (Int, Int)? {
        guard topologicalOrder(successors: successors) == nil else { return nil }
        // Nodes left after peeling off everything without a remaining predecessor
        // or successor all lie on, or lead into, a cycle.
        var remaining = Set(successors.indices)
        var changed = true
        while changed {
            changed = false
            let predecessors = predecessors(of: successors)
            for node in remaining.sorted() {
                let hasOut = successors[node].contains { $0 != node && remaining.contains($0) }
                let hasIn = predecessors[node].contains { remaining.contains($0) }
                if !hasOut || !hasIn {
                    remaining.remove(node)
                    changed = true
                }
            }
        }
        guard let start = remaining.min() else { return nil }
        // Walk forward inside the remaining set until a node repeats; the repeat closes a cycle.
        var position: [Int: Int] = [:]
        var walk: [Int] = []
        var node = start
        while position[node] == nil {
            position[node] = walk.count
            walk.append(node)
            guard let next = successors[node].first(where: { $0 != node && remaining.contains($0) }) else { return nil }
            node = next
        }
        let cycleStart = position[node] ?? 0
        let cycle = walk[cycleStart...]
        guard let first = cycle.min(), let second = cycle.filter({ $0 != first }).min() else { return nil }
        return (first, second)
    }
}
