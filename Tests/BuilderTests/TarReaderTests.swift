@testable import Builder
import Testing

/// Hostile archives: every one must end in an `ArchiveError` naming the file, never a trap,
/// a misread member or an endless read.
@Suite("Tar reader")
struct TarReaderTests {
    static let end = [UInt8](repeating: 0, count: 1024)

    /// A header block with `field` overwritten by `bytes` and the checksum made right again,
    /// so the field itself is what the reader meets.
    static func block(_ header: TarHeader, _ field: (Int, Int), _ bytes: [UInt8]) throws -> [UInt8] {
        var block = Array(try TarHeaderEncoder.encode(header).suffix(512))
        precondition(bytes.count <= field.1)
        block.replaceSubrange(field.0..<(field.0 + field.1), with: bytes + [UInt8](repeating: 0, count: field.1 - bytes.count))
        block.replaceSubrange(148..<156, with: [UInt8](repeating: 0x20, count: 8))
        let sum = block.reduce(0) { $0 + Int($1) }
        let digits = Array(String(sum, radix: 8).utf8)
        block.replaceSubrange(148..<156, with: [UInt8](repeating: 0x30, count: 6 - digits.count) + digits + [0, 0x20])
        return block
    }

    /// A member carrying the given pax records, then its data, then the end of the archive.
    static func paxArchive(_ records: [PaxRecord], data: [UInt8] = Array("abc".utf8)) throws -> [UInt8] {
        var writer = TarWriter(sink: MemorySink())
        try writer.add(TarHeader(name: Array("f".utf8), size: UInt64(data.count), paxRecords: records), content: data)
        try writer.finish()
        return writer.sink.bytes
    }

    static func readAll(_ bytes: [UInt8], label: String = "x.tar") throws -> [(TarHeader, [UInt8])] {
        var reader = TarReader(source: MemorySource(bytes, label: label))
        var members: [(TarHeader, [UInt8])] = []
        while let header = try reader.next() { members.append((header, try reader.readAll())) }
        try reader.drainTrailer()
        return members
    }

    static func corrupt(_ reason: String) -> ArchiveError { .corrupt("x.tar", reason) }

    @Test("refuses a pax size of -5")
    func paxNegativeSize() throws {
        let archive = try Self.paxArchive([PaxRecord("size", "-5")])
        #expect(throws: Self.corrupt("a pax size of \"-5\" is not a byte count")) { try Self.readAll(archive) }
    }

    @Test("refuses pax mtimes that are infinite, not a number, or beyond 64 bits", arguments: ["1e400", "nan", "-inf", "1e19", "soon"])
    func paxBadMtime(_ value: String) throws {
        let archive = try Self.paxArchive([PaxRecord("mtime", value)])
        #expect(throws: Self.corrupt("a pax mtime of \"\(value)\" is not a time")) { try Self.readAll(archive) }
    }

    @Test("rounds a fractional pax mtime half to even, as CPython does")
    func paxFractionalMtime() throws {
        let members = try Self.readAll(try Self.paxArchive([PaxRecord("mtime", "2.5")]))
        #expect(members.first?.0.mtime == 2)
    }

    @Test("refuses pax records whose length is wrong, huge, or leaves no room", arguments: [
        "1 a=b\n", "99999999999999999999 a=b\n", "4 a=\n", "7 ab=c\n\n", "x a=b\n", "7 abcd\n", "7 a=bc\u{0}",
    ])
    func paxMalformedRecord(_ record: String) throws {
        #expect(throws: Self.corrupt("a pax header record is malformed")) {
            try TarHeaderDecoding.parsePax(Array(record.utf8), label: "x.tar")
        }
    }

    @Test("reads pax records followed by NUL padding")
    func paxPadding() throws {
        let records = try TarHeaderDecoding.parsePax(Array("7 a=bc\n".utf8) + [0, 0, 0], label: "x.tar")
        #expect(records == [PaxRecord("a", "bc")])
    }

    @Test("refuses a negative octal size instead of reading it as 0")
    func octalNegativeSize() throws {
        let block = try Self.block(TarHeader(name: "f", size: 3), UstarField.size, Array("-5".utf8))
        #expect(throws: Self.corrupt("a tar header's size field holds \"-5\" where an octal number belongs")) {
            try Self.readAll(block + Self.end)
        }
    }

    @Test("refuses a negative base-256 size instead of reading it as 0")
    func base256NegativeSize() throws {
        let block = try Self.block(TarHeader(name: "f", size: 3), UstarField.size, [UInt8](repeating: 0xFF, count: 11) + [0xFB])
        #expect(throws: Self.corrupt("a tar header has a negative size -5")) { try Self.readAll(block + Self.end) }
    }

    @Test("refuses base-256 sizes and mtimes beyond 64 bits", arguments: [("size", UstarField.size), ("mtime", UstarField.mtime)])
    func base256Overflow(_ name: String, _ field: (Int, Int)) throws {
        let block = try Self.block(TarHeader(name: "f", size: 3), field, [0x80, 0x01] + [UInt8](repeating: 0, count: 10))
        #expect(throws: Self.corrupt("a tar header's \(name) field does not fit 64 bits")) { try Self.readAll(block + Self.end) }
        let top = try Self.block(TarHeader(name: "f", size: 3), field, [0x80, 0, 0, 0, 0x80] + [UInt8](repeating: 0, count: 7))
        #expect(throws: Self.corrupt("a tar header's \(name) field does not fit 64 bits")) { try Self.readAll(top + Self.end) }
    }

    @Test("reads the largest base-256 mtime and the most negative one")
    func base256Extremes() throws {
        let largest = try Self.block(TarHeader(name: "f"), UstarField.mtime, [0x80, 0, 0, 0, 0x7F] + [UInt8](repeating: 0xFF, count: 7))
        #expect(try TarHeaderDecoding.decode(largest, label: "x.tar").mtime == Int.max)
        let smallest = try Self.block(TarHeader(name: "f"), UstarField.mtime, [0xFF, 0xFF, 0xFF, 0xFF, 0x80] + [UInt8](repeating: 0, count: 7))
        #expect(try TarHeaderDecoding.decode(smallest, label: "x.tar").mtime == Int.min)
    }

    @Test("refuses a header field with an unknown binary marker")
    func unknownBinaryMarker() throws {
        let block = try Self.block(TarHeader(name: "f"), UstarField.uid, [0xC0, 1])
        #expect(throws: Self.corrupt("a tar header's uid field has an unknown binary encoding")) {
            try TarHeaderDecoding.decode(block, label: "x.tar")
        }
    }

    @Test("reads a finite run of zero blocks as an empty archive")
    func zeroBlocksEnd() throws {
        #expect(try Self.readAll([UInt8](repeating: 0, count: TarLayout.recordSize)).isEmpty)
    }

    @Test("refuses an archive that goes on past its end-of-archive block, as /dev/zero does")
    func endlessTrailer() throws {
        let archive = [UInt8](repeating: 0, count: Int(TarLayout.trailerLimit) + 1024)
        #expect(throws: ArchiveError.endless("x.tar")) { try Self.readAll(archive) }
    }

    @Test("refuses an oversized extended header before reading it")
    func oversizedMeta() throws {
        let block = try Self.block(TarHeader(name: "././@LongLink", size: 1 << 21, typeflag: TarType.gnuLongName), (0, 0), [])
        #expect(throws: Self.corrupt("a 2097152-byte extended header is larger than any name or record set")) {
            try Self.readAll(block)
        }
    }

    @Test("gives exactly a member's bytes, then 0, and skips what was left unread")
    func readShape() throws {
        var writer = TarWriter(sink: MemorySink())
        try writer.add(TarHeader(name: "a", size: 700), content: [UInt8](repeating: 1, count: 700))
        try writer.add(TarHeader(name: "b", size: 3), content: [7, 8, 9])
        try writer.finish()
        var reader = TarReader(source: MemorySource(writer.sink.bytes))
        #expect(try reader.next()?.nameString == "a")
        var buffer = [UInt8](repeating: 0, count: 10)
        #expect(try buffer.withUnsafeMutableBytes { try reader.read(into: $0) } == 10)
        #expect(try reader.next()?.nameString == "b")
        #expect(reader.offset == 2048)
        #expect(try reader.readAll() == [7, 8, 9])
        #expect(try buffer.withUnsafeMutableBytes { try reader.read(into: $0) } == 0)
        #expect(try reader.next() == nil)
        #expect(try reader.next() == nil)
        #expect(reader.memberCount == 2)
    }

    @Test("sniffs gzip from a source that yields one byte at a time, losing nothing")
    func sniffTrickle() throws {
        let text = Array("not compressed at all".utf8)
        var plain = try GunzipSniffingSource(TrickleSource(bytes: text))
        #expect(!plain.isCompressed)
        #expect(try plain.readAll() == text)

        // gzip.compress(b"not compressed at all", mtime=0) from CPython.
        let gzipped: [UInt8] = [
            0x1F, 0x8B, 0x08, 0x00, 0x00, 0x00, 0x00, 0x00, 0x02, 0x03, 0xCB, 0xCB, 0x2F, 0x51, 0x48, 0xCE, 0xCF, 0x2D, 0x28, 0x4A,
            0x2D, 0x2E, 0x4E, 0x4D, 0x51, 0x48, 0x2C, 0x51, 0x48, 0xCC, 0xC9, 0x01, 0x00, 0xDE, 0x41, 0x8C, 0x9B, 0x15, 0x00, 0x00, 0x00,
        ]
        var inflating = try GunzipSniffingSource(TrickleSource(bytes: gzipped))
        #expect(inflating.isCompressed)
        #expect(try inflating.readAll() == text)

        var single = try GunzipSniffingSource(TrickleSource(bytes: [0x1F]))
        #expect(try single.readAll() == [0x1F])
    }

    @Test("bounds how much of a stream readAll holds")
    func boundedReadAll() throws {
        var source = MemorySource([UInt8](repeating: 0, count: 100), label: "conf.json")
        #expect(throws: InputError.tooLarge("conf.json", limit: 99)) { try source.readAll(limit: 99) }
        #expect(InputError.tooLarge("conf.json", limit: 64 << 20).description == "conf.json is larger than 64 MiB, more than such a file can be")
    }
}

/// A source that hands out one byte per read, as a slow pipe may.
struct TrickleSource: ByteSource {
    var bytes: [UInt8]
    var label: String { "trickle" }

    mutating func read(into buffer: UnsafeMutableRawBufferPointer) throws -> Int {
        guard let first = bytes.first, buffer.count > 0 else { return 0 }
        buffer[0] = first
        bytes.removeFirst()
        return 1
    }
}
