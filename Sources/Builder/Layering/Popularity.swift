import BigInt

/// The popularity contest of nixpkgs' closure-graph.py and of
/// flatten_references_graph's `popularity_contest`.
///
/// closure-graph.py expands the graph into a tree (every shared node duplicated per
/// route) and folds counters upwards. Unrolling that fold gives a closed form: with
/// `routes(m)` the number of distinct routes from any root to `m`,
///
///     popularity(d) = Σ routes(m) over every m that reaches d (d included).
///
/// Checked against the comment example of closure-graph.py: F is reached from
/// A, B, C, D, E, F with routes 1, 1, 1, 1, 2, 3, giving 9.
/// Route counts need arbitrary precision: on realistic 2,500-path closures they
/// exceed 2^64, and a wrapped count would silently reorder paths.
public enum Popularity {
    /// Popularity of every path in `graph`; roots are paths nothing else references.
    public static func counts(in graph: ReferenceGraph) -> [String: BigUInt] {
        let values = counts(successors: graph.successors)
        var result: [String: BigUInt] = [:]
        for (index, path) in graph.paths.enumerated() { result[path] = values[index] }
        return result
    }

    /// Paths of `graph`, most popular first; equal popularity ordered by ``sortKey(_:)``.
    public static func order(_ graph: ReferenceGraph) -> [String] {
        order(names: graph.paths, successors: graph.successors)
    }

    /// closure-graph.py's `package_name`: the text before the first "-" (the store
    /// directory and hash) moved to the end, so equally popular paths sort by name
    /// and differing hashes only break exact name ties.
    public static func sortKey(_ path: String) -> String {
        var parts = path.split(separator: "-", omittingEmptySubsequences: false)
        let start = parts.removeFirst()
        parts.append(start)
        return parts.joined(separator: "-")
    }

    /// closure-graph.py's `order_by_popularity`: highest count first, equal counts
    /// in ascending ``sortKey(_:)`` order.
    public static func order(byCounts counts: [String: BigUInt]) -> [String] {
        // Sorted first so the result never depends on dictionary order.
        let names = counts.keys.sorted(by: ReferenceGraph.precedes)
        return order(names: names, values: names.map { counts[$0] ?? 0 })
    }

    /// Ordering shared with the pipeline, which works on index graphs.
    static func order(names: [String], successors: [[Int]]) -> [String] {
        order(names: names, values: counts(successors: successors))
    }

    private static func order(names: [String], values: [BigUInt]) -> [String] {
        let keys = names.map { Array(sortKey($0).utf8) }
        let ranked = names.indices.sorted { lhs, rhs in
            if values[lhs] != values[rhs] { return values[lhs] > values[rhs] }
            if keys[lhs] != keys[rhs] { return keys[lhs].lexicographicallyPrecedes(keys[rhs]) }
            // Only reachable when a merged graph repeats a name; keep input order then.
            return lhs < rhs
        }
        // closure-graph.py keys its counters by path, so a repeated name is listed once.
        var seen = Set<String>()
        return ranked.map { names[$0] }.filter { seen.insert($0).inserted }
    }

    /// Popularity per node index. `successors` must be acyclic; self-references and
    /// repeated references are ignored, as closure-graph.py's dict of children does.
    static func counts(successors: [[Int]]) -> [BigUInt] {
        let count = successors.count
        guard count > 0 else { return [] }
        let unique = successors.enumerated().map { node, targets in Set(targets).subtracting([node]).sorted() }
        // A cycle cannot reach here from ReferenceGraph; fall back to index order so
        // the function stays total (closure-graph.py would recurse forever instead).
        let order = GraphAlgorithms.topologicalOrder(successors: unique) ?? Array(0..<count)

        // Routes from the roots, pushed down in topological order.
        var indegree = [Int](repeating: 0, count: count)
        for targets in unique { for target in targets { indegree[target] += 1 } }
        var routes = [BigUInt](repeating: 0, count: count)
        for node in order {
            if indegree[node] == 0 { routes[node] = 1 }
            for target in unique[node] { routes[target] += routes[node] }
        }

        // Reach sets as bitsets, built children first: n²/64 words, under a
        // megabyte for 2,500 paths.
        let wordsPerSet = (count + 63) / 64
        var reach = [UInt64](repeating: 0, count: count * wordsPerSet)
        for node in order.reversed() {
            let base = node * wordsPerSet
            reach[base + node / 64] |= 1 << UInt64(node % 64)
            for target in unique[node] {
                let targetBase = target * wordsPerSet
                for word in 0..<wordsPerSet { reach[base + word] |= reach[targetBase + word] }
            }
        }

        // Sum routes(m) into every d that m reaches, in fixed-width limbs: the sum of
        // n values below 2^(64k) fits in k+1 limbs, and limb additions avoid
        // allocating a BigUInt per (m, d) pair.
        let routeLimbs = routes.map { Array($0.words).map(UInt64.init) }
        let limbs = (routeLimbs.map(\.count).max() ?? 1) + 1
        var sums = [UInt64](repeating: 0, count: count * limbs)
        for node in 0..<count {
            let value = routeLimbs[node]
            let base = node * wordsPerSet
            for word in 0..<wordsPerSet {
                var bits = reach[base + word]
                while bits != 0 {
                    let target = word * 64 + bits.trailingZeroBitCount
                    bits &= bits - 1
                    var carry: UInt64 = 0
                    let sumBase = target * limbs
                    for limb in 0..<limbs {
                        let addend = limb < value.count ? value[limb] : 0
                        if addend == 0 && carry == 0 { if limb >= value.count { break } else { continue } }
                        let (partial, overflow1) = sums[sumBase + limb].addingReportingOverflow(addend)
                        let (total, overflow2) = partial.addingReportingOverflow(carry)
                        sums[sumBase + limb] = total
                        carry = (overflow1 ? 1 : 0) + (overflow2 ? 1 : 0)
                    }
                }
            }
        }
        return (0..<count).map { node in
            BigUInt(words: sums[(node * limbs)..<((node + 1) * limbs)].map { UInt($0) })
        }
    }
}
