import Foundation

/// Reads a reference graph's JSON straight into the graph: path strings are interned
/// to integer ids as they are scanned, references become id arrays, and no generic
/// JSON value tree is built. A 2,500-path graph is most of a plan's work otherwise.
///
/// It covers the input Nix writes: both shapes, plain ASCII strings, integer numbers,
/// each field once. Anything else (an escape, a non-ASCII byte, a float, NaN, a repeated
/// field or path, deep nesting in an ignored field, a syntax error, a reference without
/// an entry) makes it give up, and the caller reads the input with ``JSONParser``, which
/// yields the same graph or the precise one-line error. Strictness therefore stays with
/// one parser, and the fuzz target checks that both routes agree.
struct ReferenceGraphReader {
    /// The input left the covered subset; read it the general way.
    struct Unsupported: Error {}

    private let bytes: UnsafeBufferPointer<UInt8>
    private var index = 0
    private var strings = ByteStringTable()
    /// Per node, in input order.
    private var nodePaths: [Int32] = []
    private var nodeSizes: [UInt64?] = []
    /// Per string id: the node whose path it is, -1 while it is only a reference.
    private var nodeOfString: [Int32] = []
    private var referenceStarts: [Int32] = [0]
    /// String ids of every node's references, node after node.
    private var references: [Int32] = []
    /// Reference spans of the entry being read; kept across entries to reuse its storage.
    private var pending: [Range<Int>] = []
    private var resolved: [UInt8] = []

    /// The graph, or nil when the input is outside the covered subset.
    static func read(_ bytes: UnsafeBufferPointer<UInt8>) throws(LayeringError) -> ReferenceGraph? {
        var reader = ReferenceGraphReader(bytes: bytes)
        do { try reader.readDocument() } catch { return nil }
        return try reader.graph()
    }

    private init(bytes: UnsafeBufferPointer<UInt8>) {
        self.bytes = bytes
        strings.reserve(expected: bytes.count / 64)
    }

    // MARK: Document

    private mutating func readDocument() throws(Unsupported) {
        skipWhitespace()
        guard index < bytes.count else { throw Unsupported() }
        switch bytes[index] {
        case Byte.openBracket:
            index += 1
            try readSequence(close: Byte.closeBracket) { reader throws(Unsupported) in
                try reader.readEntry(path: nil)
            }
        case Byte.openBrace:
            index += 1
            try readSequence(close: Byte.closeBrace) { reader throws(Unsupported) in
                let path = try reader.plainString()
                try reader.colon()
                try reader.readEntry(path: path)
            }
        default:
            throw Unsupported()
        }
        skipWhitespace()
        guard index == bytes.count else { throw Unsupported() }
    }

    /// Items separated by commas up to `close`, the opening bracket already consumed.
    private mutating func readSequence(
        close: UInt8, _ item: (inout ReferenceGraphReader) throws(Unsupported) -> Void
    ) throws(Unsupported) {
        skipWhitespace()
        if index < bytes.count && bytes[index] == close { index += 1; return }
        while true {
            skipWhitespace()
            try item(&self)
            skipWhitespace()
            guard index < bytes.count else { throw Unsupported() }
            let byte = bytes[index]
            index += 1
            if byte == close { return }
            guard byte == Byte.comma else { throw Unsupported() }
        }
    }

    /// One `{path, references, narSize?, …}` object; `path` is the key in the path-info
    /// shape, where a `path` field is ignored as the general reader ignores it.
    private mutating func readEntry(path key: Range<Int>?) throws(Unsupported) {
        guard index < bytes.count, bytes[index] == Byte.openBrace else { throw Unsupported() }
        index += 1
        var path = key
        var sawReferences = false, sawSize = false
        var narSize: UInt64?
        pending.removeAll(keepingCapacity: true)
        try readSequence(close: Byte.closeBrace) { reader throws(Unsupported) in
            let field = try reader.plainString()
            try reader.colon()
            switch reader.field(field) {
            case .path where key == nil:
                guard path == nil else { throw Unsupported() }
                path = try reader.plainString()
            case .references:
                guard !sawReferences else { throw Unsupported() }
                sawReferences = true
                guard reader.index < reader.bytes.count, reader.bytes[reader.index] == Byte.openBracket else { throw Unsupported() }
                reader.index += 1
                try reader.readSequence(close: Byte.closeBracket) { reader throws(Unsupported) in
                    reader.pending.append(try reader.plainString())
                }
            case .narSize:
                guard !sawSize else { throw Unsupported() }
                sawSize = true
                narSize = try reader.sizeOrNull()
            default:
                try reader.skipValue(depth: 0)
            }
        }
        guard let path, sawReferences else { throw Unsupported() }
        try addNode(path: path, narSize: narSize)
    }

    private enum Field { case path, references, narSize, other }

    private func field(_ span: Range<Int>) -> Field {
        switch span.count {
        case 4 where matches(span, "path"): .path
        case 10 where matches(span, "references"): .references
        case 7 where matches(span, "narSize"): .narSize
        default: .other
        }
    }

    private func matches(_ span: Range<Int>, _ word: StaticString) -> Bool {
        guard let base = bytes.baseAddress else { return span.isEmpty }
        return memcmp(base + span.lowerBound, word.utf8Start, span.count) == 0
    }

    private mutating func addNode(path: Range<Int>, narSize: UInt64?) throws(Unsupported) {
        let pathSlice = UnsafeBufferPointer(rebasing: bytes[path])
        let id = strings.intern(pathSlice)
        if id == nodeOfString.count { nodeOfString.append(-1) }
        // A second entry for a path: the general reader reports it (or, in the
        // path-info shape, keeps the last value), so leave the choice to it.
        guard nodeOfString[id] < 0 else { throw Unsupported() }
        nodeOfString[id] = Int32(nodePaths.count)
        nodePaths.append(Int32(id))
        nodeSizes.append(narSize)
        // Newer `nix path-info --json` gives references as base names, resolved
        // against the directory of the entry's own path.
        let slash = pathSlice.first == Byte.slash ? pathSlice.lastIndex(of: Byte.slash) : nil
        for reference in pending {
            let referenceSlice = UnsafeBufferPointer(rebasing: bytes[reference])
            if let slash, referenceSlice.first != Byte.slash {
                resolved.removeAll(keepingCapacity: true)
                resolved.append(contentsOf: pathSlice[..<slash])
                resolved.append(Byte.slash)
                resolved.append(contentsOf: referenceSlice)
                references.append(Int32(resolved.withUnsafeBufferPointer { strings.intern($0) }))
            } else {
                references.append(Int32(strings.intern(referenceSlice)))
            }
        }
        while nodeOfString.count < strings.count { nodeOfString.append(-1) }
        referenceStarts.append(Int32(references.count))
    }

    // MARK: Values

    private mutating func skipWhitespace() {
        while index < bytes.count {
            switch bytes[index] {
            case 0x20, 0x0A, 0x0D, 0x09: index += 1
            default: return
            }
        }
    }

    private mutating func colon() throws(Unsupported) {
        skipWhitespace()
        guard index < bytes.count, bytes[index] == Byte.colon else { throw Unsupported() }
        index += 1
        skipWhitespace()
    }

    /// The bytes between the quotes of a string holding printable ASCII only.
    private mutating func plainString() throws(Unsupported) -> Range<Int> {
        guard index < bytes.count, bytes[index] == Byte.quote else { throw Unsupported() }
        index += 1
        let start = index
        while index < bytes.count {
            let byte = bytes[index]
            if byte == Byte.quote {
                index += 1
                return start..<(index - 1)
            }
            // Control characters, escapes and non-ASCII bytes need the general reader.
            guard byte >= 0x20 && byte < 0x80 && byte != Byte.backslash else { throw Unsupported() }
            index += 1
        }
        throw Unsupported()
    }

    /// An integer literal's bytes; fractions and exponents are left to the general reader.
    private mutating func integer() throws(Unsupported) -> Range<Int> {
        let start = index
        if index < bytes.count && bytes[index] == Byte.minus { index += 1 }
        guard index < bytes.count, Byte.isDigit(bytes[index]) else { throw Unsupported() }
        if bytes[index] == Byte.zero {
            index += 1
        } else {
            while index < bytes.count && Byte.isDigit(bytes[index]) { index += 1 }
        }
        if index < bytes.count {
            switch bytes[index] {
            case Byte.dot, Byte.lowerE, Byte.upperE: throw Unsupported()
            default: break
            }
        }
        return start..<index
    }

    private mutating func sizeOrNull() throws(Unsupported) -> UInt64? {
        if index < bytes.count && bytes[index] == Byte.lowerN {
            try literal("null")
            return nil
        }
        let digits = try integer()
        guard bytes[digits.lowerBound] != Byte.minus else { throw Unsupported() }
        var value: UInt64 = 0
        for position in digits {
            let (times10, overflow1) = value.multipliedReportingOverflow(by: 10)
            let (sum, overflow2) = times10.addingReportingOverflow(UInt64(bytes[position] - Byte.zero))
            guard !overflow1 && !overflow2 else { throw Unsupported() }
            value = sum
        }
        return value
    }

    private mutating func literal(_ word: StaticString) throws(Unsupported) {
        let length = word.utf8CodeUnitCount
        guard index + length <= bytes.count, matches(index..<(index + length), word) else { throw Unsupported() }
        index += length
    }

    /// Checks and passes over a value of a field the graph does not use.
    private mutating func skipValue(depth: Int) throws(Unsupported) {
        guard depth < 32, index < bytes.count else { throw Unsupported() }
        switch bytes[index] {
        case Byte.quote:
            _ = try plainString()
        case Byte.openBrace:
            index += 1
            try readSequence(close: Byte.closeBrace) { reader throws(Unsupported) in
                _ = try reader.plainString()
                try reader.colon()
                try reader.skipValue(depth: depth + 1)
            }
        case Byte.openBracket:
            index += 1
            try readSequence(close: Byte.closeBracket) { reader throws(Unsupported) in
                try reader.skipValue(depth: depth + 1)
            }
        case Byte.lowerT: try literal("true")
        case Byte.lowerF: try literal("false")
        case Byte.lowerN: try literal("null")
        default: _ = try integer()
        }
    }

    // MARK: Graph

    /// Paths sorted by bytes, references mapped to sorted indices: what
    /// ``ReferenceGraph/init(nodes:)`` builds from the same entries.
    private func graph() throws(LayeringError) -> ReferenceGraph? {
        let count = nodePaths.count
        // A string interned but never given an entry is a reference to a missing path.
        guard strings.count == count else { return nil }
        // Input positions in path order. Nix writes both shapes sorted by path; only
        // other writers pay for the sort.
        var order = Array(0..<count)
        let paths = nodePaths
        let sorted = strings.withKeys { keys in
            (0..<max(count - 1, 0)).allSatisfy { keys.precedes(Int(paths[$0]), Int(paths[$0 + 1])) }
        }
        if !sorted {
            strings.withKeys { keys in order.sort { keys.precedes(Int(paths[$0]), Int(paths[$1])) } }
        }
        var rank = [Int](repeating: 0, count: count)
        for (index, node) in order.enumerated() { rank[node] = index }
        let names = strings.withKeys { keys in order.map { keys.string(Int(paths[$0])) } }
        var successors: [[Int]] = []
        successors.reserveCapacity(count)
        var targets: [Int] = []
        for node in order {
            targets.removeAll(keepingCapacity: true)
            for slot in Int(referenceStarts[node])..<Int(referenceStarts[node + 1]) {
                targets.append(rank[Int(nodeOfString[Int(references[slot])])])
            }
            successors.append(GraphAlgorithms.uniqueSorted(targets, excluding: rank[node]))
        }
        return try ReferenceGraph(
            paths: names, successors: successors, narSizes: order.map { nodeSizes[$0] }, inputOrder: rank
        )
    }
}

/// Byte strings numbered in first-seen order: an open-addressing hash table over a
/// single byte arena, so interning a path costs no allocation once the arena has grown.
struct ByteStringTable {
    private var arena: [UInt8] = []
    private var offsets: [Int] = [0]
    private var hashes: [UInt64] = []
    /// String id + 1 per slot, 0 for an empty slot; the count is a power of two.
    private var slots = [Int32](repeating: 0, count: 16)

    var count: Int { hashes.count }

    mutating func reserve(expected: Int) {
        arena.reserveCapacity(expected * 64)
        offsets.reserveCapacity(expected + 1)
        hashes.reserveCapacity(expected)
        var size = 16
        while size < expected * 2 { size <<= 1 }
        if size > slots.count { rehash(size) }
    }

    /// The id of `key`, a new one if it was not seen before.
    mutating func intern(_ key: UnsafeBufferPointer<UInt8>) -> Int {
        let hash = Self.hash(UnsafeRawBufferPointer(key))
        let mask = slots.count - 1
        var slot = Int(truncatingIfNeeded: hash) & mask
        while true {
            let entry = Int(slots[slot])
            if entry == 0 { break }
            let id = entry - 1
            if hashes[id] == hash && equals(id, key) { return id }
            slot = (slot + 1) & mask
        }
        let id = hashes.count
        hashes.append(hash)
        arena.append(contentsOf: key)
        offsets.append(arena.count)
        slots[slot] = Int32(id + 1)
        if hashes.count * 2 > slots.count { rehash(slots.count * 2) }
        return id
    }

    private func equals(_ id: Int, _ key: UnsafeBufferPointer<UInt8>) -> Bool {
        let start = offsets[id], length = offsets[id + 1] - start
        guard length == key.count else { return false }
        guard length > 0, let keyBase = key.baseAddress else { return true }
        return arena.withUnsafeBufferPointer { arena in
            arena.baseAddress.map { memcmp($0 + start, keyBase, length) == 0 } ?? false
        }
    }

    private mutating func rehash(_ size: Int) {
        slots = [Int32](repeating: 0, count: size)
        let mask = size - 1
        for (id, hash) in hashes.enumerated() {
            var slot = Int(truncatingIfNeeded: hash) & mask
            while slots[slot] != 0 { slot = (slot + 1) & mask }
            slots[slot] = Int32(id + 1)
        }
    }

    /// A multiply-xorshift hash a word at a time; only the table's layout depends on it.
    private static func hash(_ key: UnsafeRawBufferPointer) -> UInt64 {
        var hash: UInt64 = 0x9E37_79B9_7F4A_7C15 ^ UInt64(key.count)
        var offset = 0
        while offset + 8 <= key.count {
            hash = (hash ^ key.loadUnaligned(fromByteOffset: offset, as: UInt64.self)) &* 0xFF51_AFD7_ED55_8CCD
            hash ^= hash >> 32
            offset += 8
        }
        var tail: UInt64 = 0
        var shift: UInt64 = 0
        while offset < key.count {
            tail |= UInt64(key[offset]) << shift
            shift += 8
            offset += 1
        }
        hash = (hash ^ tail) &* 0xC4CE_B9FE_1A85_EC53
        return hash ^ (hash >> 29)
    }

    /// Read access to the stored strings without copying the arena.
    struct Keys {
        let arena: UnsafeBufferPointer<UInt8>
        let offsets: UnsafeBufferPointer<Int>

        /// Byte order, which is Python's code-point order.
        func precedes(_ lhs: Int, _ rhs: Int) -> Bool {
            let lhsStart = offsets[lhs], rhsStart = offsets[rhs]
            let base = arena.baseAddress
            return ByteOrder.compare(
                base.map { $0 + lhsStart }, offsets[lhs + 1] - lhsStart, base.map { $0 + rhsStart }, offsets[rhs + 1] - rhsStart
            ) < 0
        }

        func string(_ id: Int) -> String {
            String(decoding: UnsafeBufferPointer(rebasing: arena[offsets[id]..<offsets[id + 1]]), as: UTF8.self)
        }
    }

    func withKeys<Result>(_ body: (Keys) throws -> Result) rethrows -> Result {
        try arena.withUnsafeBufferPointer { arena in
            try offsets.withUnsafeBufferPointer { offsets in try body(Keys(arena: arena, offsets: offsets)) }
        }
    }
}

private enum Byte {
    static let quote = UInt8(ascii: "\"")
    static let backslash = UInt8(ascii: "\\")
    static let slash = UInt8(ascii: "/")
    static let colon = UInt8(ascii: ":")
    static let comma = UInt8(ascii: ",")
    static let minus = UInt8(ascii: "-")
    static let dot = UInt8(ascii: ".")
    static let zero = UInt8(ascii: "0")
    static let lowerE = UInt8(ascii: "e")
    static let upperE = UInt8(ascii: "E")
    static let lowerN = UInt8(ascii: "n")
    static let lowerT = UInt8(ascii: "t")
    static let lowerF = UInt8(ascii: "f")
    static let openBracket = UInt8(ascii: "[")
    static let closeBracket = UInt8(ascii: "]")
    static let openBrace = UInt8(ascii: "{")
    static let closeBrace = UInt8(ascii: "}")

    static func isDigit(_ byte: UInt8) -> Bool { byte &- zero < 10 }
}
