import Builder

/// Compares two layer tars entry by entry while both are streamed out of their archives.
///
/// While entry names agree the layers are read in lockstep. Small files (at most
/// `TextDiff.maxBytes`) are read whole so that text can be shown as a unified diff; larger ones
/// are compared chunk by chunk, so the first differing byte is known without holding either.
/// From the first disagreement on, the rest of each layer is indexed (headers, content digests,
/// and the content of small files while a budget lasts) and matched by name.
enum LayerDiff {
    /// Content kept per side while indexing an unaligned rest, for text diffs there.
    static let indexContentBudget = 16 << 20

    private struct EntryKey: Hashable {
        var name: [UInt8]
        /// A tar may hold one name twice; the second copy matches the other's second copy.
        var occurrence: Int
    }

    private struct IndexedEntry {
        var key: EntryKey
        var header: TarHeader
        var contentDigest: Digest?
        /// The content, when small enough and within the budget.
        var content: [UInt8]?
        /// 0-based position among all entries of the layer.
        var position: Int
    }

    static func compare<A: ByteSource, B: ByteSource>(
        _ control: inout TarReader<A>, _ experiment: inout TarReader<B>, into collector: inout DifferenceCollector
    ) throws {
        let bufferA = CopyBuffer(size: 1 << 16)
        let bufferB = CopyBuffer(size: 1 << 16)
        var position = 0
        while true {
            let a = try control.next()
            let b = try experiment.next()
            if a == nil && b == nil { return }
            if let a, let b, a.name == b.name {
                let path = a.nameString
                addFields(a, b, path: path, into: &collector)
                if a.carriesData, b.carriesData {
                    if a.size <= TextDiff.maxBytes, b.size <= TextDiff.maxBytes {
                        let contentA = try readAll(&control), contentB = try readAll(&experiment)
                        if let difference = contentDifference(path: path, contentA, contentB) { collector.add(difference) }
                    } else if let difference = try firstContentDifference(path: path, &control, &experiment, bufferA, bufferB) {
                        collector.add(difference)
                    }
                }
                position += 1
                continue
            }
            let restA = try index(first: a, rest: &control, from: position)
            let restB = try index(first: b, rest: &experiment, from: position)
            compareUnaligned(restA, restB, into: &collector)
            return
        }
    }

    private static func addFields(_ a: TarHeader, _ b: TarHeader, path: String, into collector: inout DifferenceCollector) {
        for difference in EntryFields.differences(a, b) {
            collector.add(.entryField, path: path, field: difference.field, control: difference.control, experiment: difference.experiment)
        }
    }

    private static func readAll<S: ByteSource>(_ reader: inout TarReader<S>) throws -> [UInt8] {
        var bytes: [UInt8] = []
        try reader.forEachChunk { bytes.append(contentsOf: $0) }
        return bytes
    }

    /// How two whole contents differ: a unified diff when both are text, else the first
    /// differing byte; nil when they agree.
    static func contentDifference(path: String, _ a: [UInt8], _ b: [UInt8]) -> Difference? {
        guard a != b else { return nil }
        if TextDiff.isText(a), TextDiff.isText(b), let lines = TextDiff.lines(a, b) {
            return Difference(kind: .entryContent, layer: nil, path: path, field: "content", lines: lines)
        }
        let common = min(a.count, b.count)
        let at = (0..<common).first { a[$0] != b[$0] } ?? common
        return offsetDifference(path: path, offset: UInt64(at), at < a.count ? a[at] : nil, at < b.count ? b[at] : nil)
    }

    private static func offsetDifference(path: String, offset: UInt64, _ a: UInt8?, _ b: UInt8?) -> Difference {
        func show(_ byte: UInt8?) -> String { byte.map { "0x" + Hex.encode([$0]) } ?? "end of data" }
        return Difference(kind: .entryContent, layer: nil, path: path, field: "content", control: show(a), experiment: show(b), offset: offset)
    }

    /// Where two large entries' contents first differ; nil when they agree.
    private static func firstContentDifference<A: ByteSource, B: ByteSource>(
        path: String, _ control: inout TarReader<A>, _ experiment: inout TarReader<B>, _ bufferA: CopyBuffer, _ bufferB: CopyBuffer
    ) throws -> Difference? {
        var offset: UInt64 = 0
        while true {
            let countA = try control.readFully(into: bufferA.bytes)
            let countB = try experiment.readFully(into: bufferB.bytes)
            let common = min(countA, countB)
            var mismatch: Int?
            if memcmpDiffers(bufferA.bytes, bufferB.bytes, common) {
                mismatch = (0..<common).first { bufferA.bytes[$0] != bufferB.bytes[$0] }
            } else if countA != countB {
                mismatch = common
            }
            if let mismatch {
                // The readers skip the unread rest when asked for the next entry.
                return offsetDifference(
                    path: path, offset: offset + UInt64(mismatch),
                    mismatch < countA ? bufferA.bytes[mismatch] : nil, mismatch < countB ? bufferB.bytes[mismatch] : nil)
            }
            if countA == 0 { return nil }
            offset += UInt64(common)
        }
    }

    private static func memcmpDiffers(_ a: UnsafeMutableRawBufferPointer, _ b: UnsafeMutableRawBufferPointer, _ count: Int) -> Bool {
        guard count > 0, let baseA = a.baseAddress, let baseB = b.baseAddress else { return false }
        return memcmp(baseA, baseB, count) != 0
    }

    private static func index<S: ByteSource>(first: TarHeader?, rest reader: inout TarReader<S>, from position: Int) throws -> [IndexedEntry] {
        var entries: [IndexedEntry] = []
        var seen: [[UInt8]: Int] = [:]
        var next = first
        var position = position
        var budget = indexContentBudget
        while let header = next {
            let occurrence = seen[header.name, default: 0]
            seen[header.name] = occurrence + 1
            var digest: Digest?
            var content: [UInt8]?
            if header.carriesData {
                let keep = header.size <= TextDiff.maxBytes && header.size <= budget
                var hashing = HashingSink()
                var bytes: [UInt8] = []
                try reader.forEachChunk { chunk in
                    try hashing.write(chunk)
                    if keep { bytes.append(contentsOf: chunk) }
                }
                digest = hashing.finalize().digest
                if keep {
                    budget -= bytes.count
                    content = bytes
                }
            }
            entries.append(IndexedEntry(
                key: EntryKey(name: header.name, occurrence: occurrence), header: header, contentDigest: digest, content: content,
                position: position))
            position += 1
            next = try reader.next()
        }
        return entries
    }

    private static func compareUnaligned(_ control: [IndexedEntry], _ experiment: [IndexedEntry], into collector: inout DifferenceCollector) {
        let byKeyA = Dictionary(control.map { ($0.key, $0) }, uniquingKeysWith: { first, _ in first })
        let byKeyB = Dictionary(experiment.map { ($0.key, $0) }, uniquingKeysWith: { first, _ in first })

        // One difference for a reordering, however many entries moved: the first entry whose
        // place among the shared entries differs.
        let sharedA = control.filter { byKeyB[$0.key] != nil }
        let sharedB = experiment.filter { byKeyA[$0.key] != nil }
        if let moved = zip(sharedA, sharedB).first(where: { $0.key != $1.key })?.0, let other = byKeyB[moved.key] {
            let sameEntries = sharedA.count == control.count && sharedB.count == experiment.count
            collector.add(
                .entryOrder, path: moved.header.nameString, field: sameEntries ? "same entries, different order" : "order",
                control: "entry \(moved.position + 1)", experiment: "entry \(other.position + 1)"
            )
        }

        for entry in control {
            let path = entry.header.nameString
            guard let other = byKeyB[entry.key] else {
                collector.add(.entryOnlyIn, path: path, field: "only in control", control: EntryFields.describe(entry.header), side: .control)
                continue
            }
            addFields(entry.header, other.header, path: path, into: &collector)
            if let x = entry.contentDigest, let y = other.contentDigest, x != y {
                if let a = entry.content, let b = other.content, let difference = contentDifference(path: path, a, b) {
                    collector.add(difference)
                } else {
                    collector.add(.entryContent, path: path, field: "content", control: x.description, experiment: y.description)
                }
            }
        }
        for entry in experiment where byKeyA[entry.key] == nil {
            collector.add(
                .entryOnlyIn, path: entry.header.nameString, field: "only in experiment", experiment: EntryFields.describe(entry.header),
                side: .experiment)
        }
    }
}

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
