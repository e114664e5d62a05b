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
        let counts = limbCounts(successors: graph.successors)
        return order(names: graph.paths, limbs: counts.limbs, sums: counts.sums, distinctNames: true)
    }

    /// closure-graph.py's `package_name`: the text before the first "-" (the store
    /// directory and hash) moved to the end, so equally popular paths sort by name
    /// and differing hashes only break exact name ties.
    public static func sortKey(_ path: String) -> String {
        var key: [UInt8] = []
        appendSortKey(path, to: &key)
        return String(decoding: key, as: UTF8.self)
    }

    /// ``sortKey(_:)``'s bytes: what follows the first "-", a "-", what precedes it
    /// (`split("-")`, rotated, joined); a path without "-" is its own key.
    private static func appendSortKey(_ path: String, to key: inout [UInt8]) {
        let bytes = path.utf8
        guard let dash = bytes.firstIndex(of: UInt8(ascii: "-")) else {
            key.append(contentsOf: bytes)
            return
        }
        key.append(contentsOf: bytes[bytes.index(after: dash)...])
        key.append(UInt8(ascii: "-"))
        key.append(contentsOf: bytes[..<dash])
    }

    /// closure-graph.py's `order_by_popularity`: highest count first, equal counts
    /// in ascending ``sortKey(_:)`` order.
    public static func order(byCounts counts: [String: BigUInt]) -> [String] {
        // Sorted first so the result never depends on dictionary order.
        let names = counts.keys.sorted(by: ReferenceGraph.precedes)
        let values = names.map { counts[$0] ?? 0 }
        let limbs = max(1, values.map(\.words.count).max() ?? 1)
        var sums = [UInt64](repeating: 0, count: names.count * limbs)
        for (node, value) in values.enumerated() {
            for (limb, word) in value.words.enumerated() { sums[node * limbs + limb] = UInt64(word) }
        }
        return order(names: names, limbs: limbs, sums: sums, distinctNames: true)
    }

    /// Ordering shared with the pipeline, whose merged graphs may repeat a name.
    static func order(names: [String], successors: [[Int]]) -> [String] {
        let counts = limbCounts(successors: successors)
        return order(names: names, limbs: counts.limbs, sums: counts.sums, distinctNames: false)
    }

    /// Names ranked by their counts (`limbs` little-endian words per name in `sums`),
    /// then by sort key, then by position.
    private static func order(names: [String], limbs: Int, sums: [UInt64], distinctNames: Bool) -> [String] {
        var keyBytes: [UInt8] = []
        var keyStarts = [0]
        keyStarts.reserveCapacity(names.count + 1)
        for name in names {
            appendSortKey(name, to: &keyBytes)
            keyStarts.append(keyBytes.count)
        }
        let ranked = sums.withUnsafeBufferPointer { sums in
            keyBytes.withUnsafeBufferPointer { keys in
                names.indices.sorted { lhs, rhs in
                    var limb = limbs - 1
                    while limb >= 0 {
                        let left = sums[lhs * limbs + limb], right = sums[rhs * limbs + limb]
                        if left != right { return left > right }
                        limb -= 1
                    }
                    let leftStart = keyStarts[lhs], rightStart = keyStarts[rhs]
                    let order = ByteOrder.compare(
                        keys.baseAddress.map { $0 + leftStart }, keyStarts[lhs + 1] - leftStart,
                        keys.baseAddress.map { $0 + rightStart }, keyStarts[rhs + 1] - rightStart
                    )
                    if order != 0 { return order < 0 }
                    // Only reachable when a merged graph repeats a name; keep input order then.
                    return lhs < rhs
                }
            }
        }
        if distinctNames { return ranked.map { names[$0] } }
        // closure-graph.py keys its counters by path, so a repeated name is listed once.
        var seen = Set<String>()
        return ranked.map { names[$0] }.filter { seen.insert($0).inserted }
    }

    /// Popularity per node index. `successors` must be acyclic; self-references and
    /// repeated references are ignored, as closure-graph.py's dict of children does.
    /// `reachBudgetWords` bounds the reach bitsets held at once (tests shrink it to
    /// force many blocks).
    static func counts(successors: [[Int]], reachBudgetWords: Int = defaultReachBudgetWords) -> [BigUInt] {
        let (limbs, sums) = limbCounts(successors: successors, reachBudgetWords: reachBudgetWords)
        return (0..<successors.count).map { node in
            BigUInt(words: sums[(node * limbs)..<((node + 1) * limbs)].map { UInt($0) })
        }
    }

    /// ``counts(successors:reachBudgetWords:)`` as `limbs` little-endian words per node,
    /// the form the ranking compares without building a BigUInt per node.
    static func limbCounts(successors: [[Int]], reachBudgetWords: Int = defaultReachBudgetWords) -> (limbs: Int, sums: [UInt64]) {
        let count = successors.count
        guard count > 0 else { return (1, []) }
        let unique = GraphAlgorithms.uniqueSuccessors(successors)
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

        // Routes in fixed-width limbs: the sum of n values below 2^(64k) fits in k+1
        // limbs (n < 2^64), and limb additions avoid a BigUInt per (m, d) pair.
        let routeLimbCount = routes.map(\.words.count).max() ?? 1
        let limbs = routeLimbCount + 1
        var routeLimbs = [UInt64](repeating: 0, count: count * routeLimbCount)
        for (node, value) in routes.enumerated() {
            for (limb, word) in value.words.enumerated() { routeLimbs[node * routeLimbCount + limb] = UInt64(word) }
        }
        var sums = [UInt64](repeating: 0, count: count * limbs)

        // Which targets each node reaches, as bitsets over one block of targets at a
        // time: memory stays near `reachBudgetWords` words whatever the graph size
        // (n²/8 bytes at once would be 1.25 GB for 100,000 paths), and a 2,500-path
        // graph is still one block. Each row also records the span of its non-zero
        // words, so sparse rows cost little to merge and to scan.
        let totalWords = (count + 63) / 64
        let wordsPerBlock = max(1, min(totalWords, reachBudgetWords / count))
        var reach = [UInt64](repeating: 0, count: count * wordsPerBlock)
        var spanStart = [Int](repeating: 0, count: count)
        var spanEnd = [Int](repeating: 0, count: count)
        let reverseOrder = Array(order.reversed())
        reach.withUnsafeMutableBufferPointer { reach in
        sums.withUnsafeMutableBufferPointer { sums in
        routeLimbs.withUnsafeBufferPointer { routeLimbs in
            // count > 0, so every buffer has storage.
            guard let reachBase = reach.baseAddress, let sumsBase = sums.baseAddress, let routeBase = routeLimbs.baseAddress else { return }
            for firstWord in stride(from: 0, to: totalWords, by: wordsPerBlock) {
                let blockWords = min(wordsPerBlock, totalWords - firstWord)
                let firstTarget = firstWord * 64
                let endTarget = min(count, (firstWord + blockWords) * 64)
                // Children first, so every child's row is complete before its parents read it.
                for node in reverseOrder {
                    let row = reachBase + node * wordsPerBlock
                    var low = blockWords, high = 0
                    if node >= firstTarget && node < endTarget {
                        let bit = node - firstTarget
                        low = bit / 64
                        high = low + 1
                        for word in low..<high { row[word] = 0 }
                        row[low] = 1 << UInt64(bit % 64)
                    }
                    for target in unique[node] {
                        let targetLow = spanStart[target], targetHigh = spanEnd[target]
                        guard targetLow < targetHigh else { continue }
                        // Widen this row's span, clearing the words it newly covers.
                        if low >= high {
                            for word in targetLow..<targetHigh { row[word] = 0 }
                            low = targetLow
                            high = targetHigh
                        } else {
                            if targetLow < low { for word in targetLow..<low { row[word] = 0 }; low = targetLow }
                            if targetHigh > high { for word in high..<targetHigh { row[word] = 0 }; high = targetHigh }
                        }
                        let targetRow = UnsafePointer(reachBase + target * wordsPerBlock)
                        for word in targetLow..<targetHigh { row[word] |= targetRow[word] }
                    }
                    spanStart[node] = low
                    spanEnd[node] = max(low, high)
                }
                // Sum routes(m) into every target d that m reaches.
                for node in 0..<count where spanStart[node] < spanEnd[node] {
                    let route = routeBase + node * routeLimbCount
                    let row = reachBase + node * wordsPerBlock
                    for word in spanStart[node]..<spanEnd[node] {
                        var bits = row[word]
                        while bits != 0 {
                            let target = firstTarget + word * 64 + bits.trailingZeroBitCount
                            bits &= bits - 1
                            let sum = sumsBase + target * limbs
                            var carry: UInt64 = 0
                            for limb in 0..<routeLimbCount {
                                let (partial, overflow1) = sum[limb].addingReportingOverflow(route[limb])
                                let (total, overflow2) = partial.addingReportingOverflow(carry)
                                sum[limb] = total
                                carry = (overflow1 ? 1 : 0) &+ (overflow2 ? 1 : 0)
                            }
                            var limb = routeLimbCount
                            while carry != 0 {
                                let (total, overflow) = sum[limb].addingReportingOverflow(carry)
                                sum[limb] = total
                                carry = overflow ? 1 : 0
                                limb += 1
                            }
                        }
                    }
                }
            }
        }
        }
        }
        return (limbs, sums)
    }

    /// Words of reach bitsets held at once by default: 32 MiB.
    static let defaultReachBudgetWords = 4 << 20
}
