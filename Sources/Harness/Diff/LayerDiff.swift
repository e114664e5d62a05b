import Builder

/// Compares two layer tars entry by entry while both are streamed out of their archives.
///
/// While entry names agree the layers are read in lockstep, content compared chunk by chunk,
/// so the first differing byte is known without holding either file. From the first
/// disagreement on, the rest of each layer is indexed (headers and content digests, never
/// content) and matched by name.
enum LayerDiff {
    private struct EntryKey: Hashable {
        var name: [UInt8]
        /// A tar may hold one name twice; the second copy matches the other's second copy.
        var occurrence: Int
    }

    private struct IndexedEntry {
        var key: EntryKey
        var header: TarHeader
        var contentDigest: Digest?
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
                for difference in EntryFields.differences(a, b) {
                    collector.add(path: path, field: difference.field, control: difference.control, experiment: difference.experiment)
                }
                if a.carriesData, b.carriesData, let (control, experiment) = try firstContentDifference(&control, &experiment, bufferA, bufferB) {
                    collector.add(path: path, field: "content", control: control, experiment: experiment)
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

    /// Where two entries' contents first differ, as `byte N: 0xHH` on each side (or `end of
    /// data` for the side that is shorter); nil when they agree.
    private static func firstContentDifference<A: ByteSource, B: ByteSource>(
        _ control: inout TarReader<A>, _ experiment: inout TarReader<B>, _ bufferA: CopyBuffer, _ bufferB: CopyBuffer
    ) throws -> (String, String)? {
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
                let at = offset + UInt64(mismatch)
                func show(_ buffer: CopyBuffer, _ count: Int) -> String {
                    mismatch < count ? "byte \(at): 0x\(Hex.encode([buffer.bytes[mismatch]]))" : "byte \(at): end of data"
                }
                // The readers skip the unread rest when asked for the next entry.
                return (show(bufferA, countA), show(bufferB, countB))
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
        while let header = next {
            let occurrence = seen[header.name, default: 0]
            seen[header.name] = occurrence + 1
            var digest: Digest?
            if header.carriesData {
                var hashing = HashingSink()
                try reader.forEachChunk { try hashing.write($0) }
                digest = hashing.finalize().digest
            }
            entries.append(IndexedEntry(key: EntryKey(name: header.name, occurrence: occurrence), header: header, contentDigest: digest, position: position))
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
            collector.add(
                path: moved.header.nameString, field: "order",
                control: "entry \(moved.position + 1)", experiment: "entry \(other.position + 1)"
            )
        }

        for entry in control {
            let path = entry.header.nameString
            guard let other = byKeyB[entry.key] else {
                collector.add(path: path, field: "only-in-control", control: EntryFields.describe(entry.header), experiment: nil)
                continue
            }
            for difference in EntryFields.differences(entry.header, other.header) {
                collector.add(path: path, field: difference.field, control: difference.control, experiment: difference.experiment)
            }
            if let x = entry.contentDigest, let y = other.contentDigest, x != y {
                collector.add(path: path, field: "content", control: x.description, experiment: y.description)
            }
        }
        for entry in experiment where byKeyA[entry.key] == nil {
            collector.add(path: entry.header.nameString, field: "only-in-experiment", control: nil, experiment: EntryFields.describe(entry.header))
        }
    }
}

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
