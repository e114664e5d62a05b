/// A bounded unified diff of two small text files, as diffoscope shows them: the differing lines
/// with three lines of context, never more than `maxLines` lines in all.
enum TextDiff {
    /// Files larger than this are compared by byte offset only.
    static let maxBytes = 1 << 20
    static let maxLines = 40
    static let context = 3
    /// Longer lines (minified files) are cut, so a diff stays a screenful.
    static let maxLineCharacters = 200
    /// The line-matching table stays below this many cells; a larger differing middle is shown
    /// as removed then added, which is still a correct diff.
    static let maxCells = 1 << 22

    /// Text is valid UTF-8 without NUL; anything else is binary and gets a byte offset.
    static func isText(_ bytes: [UInt8]) -> Bool {
        bytes.count <= maxBytes && !bytes.contains(0) && String(validating: bytes, as: UTF8.self) != nil
    }

    /// The unified diff of `a` and `b` (both text), or nil when they are equal.
    static func lines(_ a: [UInt8], _ b: [UInt8]) -> [DiffLine]? {
        guard a != b else { return nil }
        let linesA = split(a), linesB = split(b)
        let script = edits(linesA, linesB)
        return render(script, linesA, linesB)
    }

    /// A line with its terminator, so that a missing final newline is a difference.
    struct Line: Equatable {
        var bytes: ArraySlice<UInt8>
        var terminated: Bool
    }

    static func split(_ bytes: [UInt8]) -> [Line] {
        var out: [Line] = []
        var start = bytes.startIndex
        for index in bytes.indices where bytes[index] == 0x0A {
            out.append(Line(bytes: bytes[start..<index], terminated: true))
            start = index + 1
        }
        if start < bytes.endIndex { out.append(Line(bytes: bytes[start...], terminated: false)) }
        return out
    }

    enum Edit: Equatable {
        case same(Int, Int)
        case removed(Int)
        case added(Int)
    }

    /// A shortest edit script: common prefix and suffix first, then a longest common
    /// subsequence of the (bounded) middle.
    static func edits(_ a: [Line], _ b: [Line]) -> [Edit] {
        var prefix = 0
        while prefix < a.count, prefix < b.count, a[prefix] == b[prefix] { prefix += 1 }
        var suffix = 0
        while suffix < a.count - prefix, suffix < b.count - prefix, a[a.count - 1 - suffix] == b[b.count - 1 - suffix] { suffix += 1 }
        let middleA = Array(a[prefix..<(a.count - suffix)]), middleB = Array(b[prefix..<(b.count - suffix)])

        var script = (0..<prefix).map { Edit.same($0, $0) }
        let n = middleA.count, m = middleB.count
        if n > 0, m > 0, (n + 1) * (m + 1) <= maxCells {
            // lengths[i][j]: the LCS length of middleA[i...] and middleB[j...].
            var lengths = [Int32](repeating: 0, count: (n + 1) * (m + 1))
            for i in stride(from: n - 1, through: 0, by: -1) {
                for j in stride(from: m - 1, through: 0, by: -1) {
                    lengths[i * (m + 1) + j] = middleA[i] == middleB[j]
                        ? lengths[(i + 1) * (m + 1) + j + 1] + 1
                        : max(lengths[(i + 1) * (m + 1) + j], lengths[i * (m + 1) + j + 1])
                }
            }
            var i = 0, j = 0
            while i < n || j < m {
                if i < n, j < m, middleA[i] == middleB[j] {
                    script.append(.same(prefix + i, prefix + j))
                    i += 1
                    j += 1
                } else if j == m || (i < n && lengths[(i + 1) * (m + 1) + j] >= lengths[i * (m + 1) + j + 1]) {
                    script.append(.removed(prefix + i))
                    i += 1
                } else {
                    script.append(.added(prefix + j))
                    j += 1
                }
            }
        } else {
            script += (0..<n).map { .removed(prefix + $0) }
            script += (0..<m).map { .added(prefix + $0) }
        }
        script += (0..<suffix).map { .same(a.count - suffix + $0, b.count - suffix + $0) }
        return script
    }

    static func render(_ script: [Edit], _ a: [Line], _ b: [Line]) -> [DiffLine] {
        // Hunks: runs of changes with `context` lines around them, merged when close.
        let changed = script.indices.filter { if case .same = script[$0] { false } else { true } }
        var hunks: [ClosedRange<Int>] = []
        for index in changed {
            let range = max(0, index - context)...min(script.count - 1, index + context)
            if let last = hunks.last, range.lowerBound <= last.upperBound + 1 {
                hunks[hunks.count - 1] = last.lowerBound...range.upperBound
            } else {
                hunks.append(range)
            }
        }
        var out: [DiffLine] = []
        for hunk in hunks {
            let edits = script[hunk]
            let startA = edits.lazy.compactMap { edit -> Int? in
                switch edit { case let .same(i, _), let .removed(i): i; case .added: nil }
            }.first
            let startB = edits.lazy.compactMap { edit -> Int? in
                switch edit { case let .same(_, j), let .added(j): j; case .removed: nil }
            }.first
            let countA = edits.filter { if case .added = $0 { false } else { true } }.count
            let countB = edits.filter { if case .removed = $0 { false } else { true } }.count
            out.append(DiffLine(.hunk, "@@ -\(range(startA, countA)) +\(range(startB, countB)) @@"))
            for edit in edits {
                let (kind, line): (DiffLine.Kind, Line) = switch edit {
                case let .same(i, _): (.context, a[i])
                case let .removed(i): (.removed, a[i])
                case let .added(j): (.added, b[j])
                }
                out.append(DiffLine(kind, shortened(String(decoding: line.bytes, as: UTF8.self))))
                if !line.terminated { out.append(DiffLine(.note, "\\ No newline at end of file")) }
            }
        }
        guard out.count > maxLines else { return out }
        let rest = out.count - (maxLines - 1)
        return Array(out.prefix(maxLines - 1)) + [DiffLine(.note, "… \(rest) more diff lines")]
    }

    private static func shortened(_ line: String) -> String {
        line.count <= maxLineCharacters ? line : line.prefix(maxLineCharacters) + "…"
    }

    /// `start,count` with 1-based lines, as `diff -u` writes it. With three lines of context a
    /// hunk holds no line of one side only when that side is empty: `0,0`.
    private static func range(_ start: Int?, _ count: Int) -> String {
        guard let start else { return "0,0" }
        return count == 1 ? "\(start + 1)" : "\(start + 1),\(count)"
    }
}
