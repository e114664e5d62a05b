/// nixpkgs' auto-layer.py (dockerAutoLayer), streamLayeredImage's default layering.
///
/// Paths are taken largest narSize first; each becomes a "primary" path anchoring
/// its own layer. Every path is labelled with the set of primaries that claim it: a
/// dependency of a new primary P drops the primaries that depend on P and gains P
/// unless a primary it keeps is itself below P. Paths with the same label share a
/// layer. Primaries are added until the next one would exceed the layer limit.
public enum AutoLayering {
    /// Layers bottom first. `ignoring` paths take part in the split but are left out
    /// of the result, and layers holding only ignored paths are dropped, as
    /// auto-layer.py does with the image's config and customisation layer paths.
    public static func layers(
        graph: ReferenceGraph,
        ignoring ignored: Set<String> = [],
        limit: Int
    ) throws(LayeringError) -> [[String]] {
        guard limit >= 1 else { throw .invalidBudget(limit) }
        let count = graph.count
        var sizes: [UInt64] = []
        for index in 0..<count {
            guard let size = graph.narSizes[index] else { throw .missingNarSize(graph.paths[index]) }
            sizes.append(size)
        }
        let successors = graph.successors
        let predecessors = GraphAlgorithms.predecessors(of: successors)

        // auto-layer.py sorts the exportReferencesGraph list by narSize (a stable sort
        // over its input order, Nix's path order) and pops from the end: largest
        // first, and among equal sizes the later entry first.
        let rank = graph.inputRank
        let bySizeDescending = (0..<count).sorted { lhs, rhs in
            sizes[lhs] != sizes[rhs] ? sizes[lhs] > sizes[rhs] : rank[lhs] > rank[rhs]
        }

        // A label is the sorted list of primary indices claiming a path; the layer
        // count is the number of distinct labels, tracked incrementally.
        var labels = [[Int]](repeating: [], count: count)
        var population: [[Int]: Int] = count > 0 ? [[]: count] : [:]
        var isDependency = [Bool](repeating: false, count: count)
        var isUser = [Bool](repeating: false, count: count)

        var walk = ReachWalk(count: count)
        for primary in bySizeDescending {
            let dependencies = walk.strictReach(from: primary, along: successors)
            let users = walk.strictReach(from: primary, along: predecessors)
            for node in dependencies { isDependency[node] = true }
            for node in users { isUser[node] = true }

            var changes: [(node: Int, label: [Int])] = [(primary, [primary])]
            for dependency in dependencies {
                var label = labels[dependency].filter { !isUser[$0] }
                if !label.contains(where: { isDependency[$0] }) {
                    label.append(primary)
                    label.sort()
                }
                changes.append((dependency, label))
            }
            for node in dependencies { isDependency[node] = false }
            for node in users { isUser[node] = false }

            var trial = population
            for change in changes {
                let old = labels[change.node]
                trial[old, default: 0] -= 1
                if trial[old] == 0 { trial[old] = nil }
                trial[change.label, default: 0] += 1
            }
            // auto-layer.py stops at the first primary that would exceed the limit,
            // even if a smaller path later could still fit.
            if trial.count > limit { break }
            population = trial
            for change in changes { labels[change.node] = change.label }
        }

        var members: [[Int]: [Int]] = [:]
        for node in 0..<count { members[labels[node], default: []].append(node) }

        struct Layer {
            var paths: [String]
            var firstKey: PathKey
            var closureSize: UInt64
        }
        var layers: [Layer] = []
        // Dictionary order is arbitrary; layers are ordered explicitly below.
        for nodes in members.values {
            // Keys made once per path, not once per comparison.
            let paths = nodes.map { (key: PathKey(graph.paths[$0]), path: graph.paths[$0]) }
                .sorted { $0.key < $1.key }.map(\.path)
            let reached = GraphAlgorithms.reachable(from: nodes, successors: successors)
            var closureSize: UInt64 = 0
            for node in 0..<count where reached[node] {
                let (sum, overflow) = closureSize.addingReportingOverflow(sizes[node])
                guard !overflow else { throw .sizeOverflow("the closure of the layer holding \(paths[0])") }
                closureSize = sum
            }
            layers.append(Layer(paths: paths, firstKey: PathKey(paths[0]), closureSize: closureSize))
        }
        // auto-layer.py sorts by closure size alone and leaves equal sizes in the
        // iteration order of a Python set of frozensets, which varies from run to run.
        // We break such ties by each layer's first path under the name-then-hash key;
        // layers are disjoint, so that key is unique.
        layers.sort { lhs, rhs in
            lhs.closureSize != rhs.closureSize ? lhs.closureSize < rhs.closureSize : lhs.firstKey < rhs.firstKey
        }
        return layers.compactMap { layer in
            let kept = layer.paths.filter { !ignored.contains($0) }
            return kept.isEmpty ? nil : kept
        }
    }
}

/// Depth-first walks that share one visited array, stamped with a new mark per walk:
/// auto layering walks up and down from every primary, and a fresh set per walk would
/// cost more than the walk on a large closure.
private struct ReachWalk {
    private var mark: [UInt32]
    private var current: UInt32 = 0
    private var stack: [Int] = []

    init(count: Int) { mark = [UInt32](repeating: 0, count: count) }

    /// Everything reachable from `start` along `edges`, `start` itself excluded, in the
    /// order a depth-first walk first meets it.
    mutating func strictReach(from start: Int, along edges: [[Int]]) -> [Int] {
        current &+= 1
        if current == 0 {
            // The marks wrapped around: start over so no old mark reads as current.
            for index in mark.indices { mark[index] = 0 }
            current = 1
        }
        mark[start] = current
        stack.removeAll(keepingCapacity: true)
        stack.append(start)
        var result: [Int] = []
        while let node = stack.popLast() {
            for next in edges[node] where mark[next] != current {
                mark[next] = current
                result.append(next)
                stack.append(next)
            }
        }
        return result
    }
}

/// auto-layer.py's `path_key`: (name, hash) from splitting "/nix/store/<hash>-<name>"
/// at the first "-", compared as Python compares tuples of strings (code points).
struct PathKey: Comparable, Sendable {
    let name: [UInt8]
    let hash: [UInt8]

    init(_ path: String) {
        let bytes = Array(path.utf8)
        // Store paths always contain "-"; auto-layer.py would fail without one, we
        // treat the whole path as the hash instead.
        if let dash = bytes.firstIndex(of: UInt8(ascii: "-")) {
            hash = Array(bytes[..<dash])
            name = Array(bytes[(dash + 1)...])
        } else {
            hash = bytes
            name = []
        }
    }

    static func < (lhs: PathKey, rhs: PathKey) -> Bool {
        lhs.name != rhs.name ? lhs.name.lexicographicallyPrecedes(rhs.name) : lhs.hash.lexicographicallyPrecedes(rhs.hash)
    }
}
