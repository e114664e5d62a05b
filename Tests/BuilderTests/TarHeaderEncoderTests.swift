import Foundation
import Testing
@testable import Builder

/// Expected header bytes come from CPython 3.11.7:
/// `tarfile.TarInfo(...).tobuf(tarfile.PAX_FORMAT, "utf-8", "surrogateescape")`, compared by
/// length and sha256, with the fields that explain a mismatch checked on their own.
@Suite("TarHeaderEncoder")
struct TarHeaderEncoderTests {
    private static func sha256(_ bytes: [UInt8]) -> String { Digest.of(bytes).hex }

    private static func field(_ block: ArraySlice<UInt8>, _ range: (Int, Int)) -> [UInt8] {
        let start = block.startIndex + range.0
        return Array(block[start..<(start + range.1)])
    }

    private static func text(_ block: ArraySlice<UInt8>, _ range: (Int, Int)) -> String {
        String(decoding: field(block, range).prefix { $0 != 0 }, as: UTF8.self)
    }

    /// The ustar block: always the last 512 bytes of an encoded header.
    private static func ustar(_ bytes: [UInt8]) -> ArraySlice<UInt8> { bytes[(bytes.count - 512)...] }

    /// The pax records block (the second block), without its zero padding.
    private static func paxPayload(_ bytes: [UInt8]) -> [UInt8] {
        Array(bytes[512..<1024]).reversed().drop { $0 == 0 }.reversed()
    }

    private static func bytes(_ text: String) -> [UInt8] { Array(text.utf8) }

    // MARK: - Header bytes against CPython

    @Test("encodes a plain file in one ustar block")
    func plainFile() throws {
        let out = try TarHeaderEncoder.encode(TarHeader(
            name: Self.bytes("hello.txt"), mode: 0o444, size: 5, mtime: 1, uname: Self.bytes("root"), gname: Self.bytes("root")
        ))
        #expect(out.count == 512)
        let block = Self.ustar(out)
        #expect(Self.field(block, UstarField.size) == Self.bytes("00000000005\0"))
        #expect(Self.field(block, UstarField.mtime) == Self.bytes("00000000001\0"))
        #expect(Self.field(block, UstarField.mode) == Self.bytes("0000444\0"))
        #expect(Self.field(block, UstarField.checksum) == Self.bytes("011413\0 "))
        #expect(Self.field(block, UstarField.magic) == Self.bytes("ustar\000"))
        #expect(Self.sha256(out) == "40d3371e1ea84c06441b204d8f81830e47e4b80ed290b38a1b2781e338cc9531")
    }

    @Test("gives a directory name a trailing slash")
    func directory() throws {
        let out = try TarHeaderEncoder.encode(TarHeader(name: "nix/store", mode: 0o555, mtime: 1, typeflag: TarType.directory))
        #expect(out.count == 512)
        #expect(Self.text(Self.ustar(out), UstarField.name) == "nix/store/")
        #expect(Self.field(Self.ustar(out), UstarField.checksum) == Self.bytes("007676\0 "))
        #expect(Self.sha256(out) == "8c73f1f71b42b93ce31a7f91337f33a337931e183d09a4950b4ac70d6d047008")
    }

    /// The encoder appends a directory's slash in its stack block rather than by copying the
    /// name: at 98, 99 and 100 bytes the slash lands in the field, on it, or pushes the name to
    /// pax; after non-ASCII characters it follows the '?'s. Compared with this machine's CPython.
    @Test("joins a directory's slash as CPython does at the 100-byte edge and after non-ASCII characters", arguments: [
        String(repeating: "d", count: 98), String(repeating: "d", count: 99), String(repeating: "d", count: 100),
        "nix/store/ünïcödé-😀", String(repeating: "é", count: 49) + "x", String(repeating: "é", count: 50),
    ])
    func directorySlashAgainstCPython(name: String) throws {
        let script = """
            import sys, tarfile
            info = tarfile.TarInfo(sys.argv[1])
            info.type, info.mode, info.mtime, info.uname, info.gname = tarfile.DIRTYPE, 0o555, 1, "root", "root"
            sys.stdout.write(info.tobuf(tarfile.PAX_FORMAT, "utf-8", "surrogateescape").hex())
            """
        let expected = try Tools.check("python3", ["-c", script, name]).stdout
        let out = try TarHeaderEncoder.encode(TarHeader(
            name: Self.bytes(name), mode: 0o555, mtime: 1, typeflag: TarType.directory, uname: Self.bytes("root"), gname: Self.bytes("root")
        ))
        #expect(out.map { String(format: "%02x", $0) }.joined() == expected)
    }

    @Test("fits a 100-character name in the ustar field without pax")
    func name100() throws {
        let out = try TarHeaderEncoder.encode(TarHeader(name: String(repeating: "a", count: 100), size: 1))
        #expect(out.count == 512)
        #expect(Self.field(Self.ustar(out), UstarField.checksum) == Self.bytes("030702\0 "))
        #expect(Self.sha256(out) == "e5c2f525d404079645f339be71fd40ee54bfa6bd65784b1efba8b6d19844980b")
    }

    @Test("moves a 101-character name to a pax path record and truncates the ustar field")
    func name101() throws {
        let name = String(repeating: "b", count: 101)
        let out = try TarHeaderEncoder.encode(TarHeader(name: name, size: 1))
        #expect(out.count == 1536)
        #expect(Self.text(out[0..<512], UstarField.name) == "././@PaxHeader")
        #expect(out[156] == UInt8(ascii: "x"))
        #expect(Self.paxPayload(out) == Self.bytes("111 path=\(name)\n"))
        #expect(Self.text(Self.ustar(out), UstarField.name) == String(repeating: "b", count: 100))
        #expect(Self.sha256(out) == "4ab24eb1503218b143f6d5e1ea9722d73e3a020432f272a69b12dab2cc4a8a8c")
    }

    @Test("puts a non-ASCII name in pax and one '?' per character in the ustar field")
    func nonASCIIName() throws {
        let out = try TarHeaderEncoder.encode(TarHeader(name: "café/日本.txt", size: 3))
        #expect(out.count == 1536)
        #expect(Self.paxPayload(out) == Self.bytes("25 path=café/日本.txt\n"))
        #expect(Self.text(Self.ustar(out), UstarField.name) == "caf?/??.txt")
        #expect(Self.sha256(out) == "d1e80222b7c6fd1174b4b5e6aa91b44867304309d414aae52e8d2c31b4e6ece2")
    }

    @Test("marks a name that is not UTF-8 with hdrcharset=BINARY and keeps its raw bytes")
    func undecodableName() throws {
        let name = Self.bytes("bad") + [0xFF, 0xFE] + Self.bytes(".bin")
        let out = try TarHeaderEncoder.encode(TarHeader(name: name))
        #expect(out.count == 1536)
        #expect(Self.paxPayload(out) == Self.bytes("21 hdrcharset=BINARY\n18 path=bad") + [0xFF, 0xFE] + Self.bytes(".bin\n"))
        #expect(Self.text(Self.ustar(out), UstarField.name) == "bad??.bin")
        #expect(Self.sha256(out) == "ee0cadefbd6978ae2c0e0375534ba62561e56045073a9503c2a617a413eba108")
    }

    @Test("moves a linkname longer than 100 bytes to a pax linkpath record")
    func longLinkname() throws {
        let target = "/nix/store/" + String(repeating: "x", count: 120)
        let out = try TarHeaderEncoder.encode(TarHeader(name: Self.bytes("link"), typeflag: TarType.symlink, linkname: Self.bytes(target)))
        #expect(out.count == 1536)
        #expect(Self.paxPayload(out) == Self.bytes("145 linkpath=\(target)\n"))
        #expect(Self.text(Self.ustar(out), UstarField.linkname) == String(target.prefix(100)))
        #expect(Self.sha256(out) == "0a6cdf08ac035686c5960649c9ffaf79bda404479db24f2807db7a59d4b6aa54")
    }

    @Test("moves a 33-character uname to pax but keeps a 32-character gname in ustar")
    func longUname() throws {
        let out = try TarHeaderEncoder.encode(TarHeader(
            name: Self.bytes("f"), uname: Array(repeating: UInt8(ascii: "u"), count: 33), gname: Array(repeating: UInt8(ascii: "g"), count: 32)
        ))
        #expect(out.count == 1536)
        #expect(Self.paxPayload(out) == Self.bytes("43 uname=\(String(repeating: "u", count: 33))\n"))
        #expect(Self.text(Self.ustar(out), UstarField.gname) == String(repeating: "g", count: 32))
        #expect(Self.sha256(out) == "878713c3c6d1098c05ee318afdccc71cd301e4ee38fc43d32514b258a861fa44")
    }

    @Test("writes a uid of 8**7 as 0 in ustar and its value in pax, and keeps gid 8**7-1 in octal")
    func uidOverflow() throws {
        let out = try TarHeaderEncoder.encode(TarHeader(name: Self.bytes("f"), uid: 2_097_152, gid: 2_097_151))
        #expect(out.count == 1536)
        #expect(Self.paxPayload(out) == Self.bytes("15 uid=2097152\n"))
        #expect(Self.field(Self.ustar(out), UstarField.uid) == Self.bytes("0000000\0"))
        #expect(Self.field(Self.ustar(out), UstarField.gid) == Self.bytes("7777777\0"))
        #expect(Self.sha256(out) == "e93a90051b834864b22c5f9391adbafbc9d4f8e6308f927d6c7bb74c43972c55")
    }

    @Test("writes a size of 8 GiB as a pax size record")
    func hugeSize() throws {
        let out = try TarHeaderEncoder.encode(TarHeader(name: "big", size: 8 << 30))
        #expect(out.count == 1536)
        #expect(Self.text(out[0..<512], UstarField.size) == "00000000023")
        #expect(Self.paxPayload(out) == Self.bytes("19 size=8589934592\n"))
        #expect(Self.field(Self.ustar(out), UstarField.size) == Self.bytes("00000000000\0"))
        #expect(Self.sha256(out) == "2d58f02d64a1e15841af60eb07f4292dafafda0a4501d798d2194a1f2948e247")
    }

    @Test("writes a negative mtime as a pax mtime record")
    func negativeMtime() throws {
        let out = try TarHeaderEncoder.encode(TarHeader(name: "old", mtime: -5))
        #expect(out.count == 1536)
        #expect(Self.paxPayload(out) == Self.bytes("12 mtime=-5\n"))
        #expect(Self.sha256(out) == "9dfccfaa343a8c22cb6d663a41d8e0d1c24e0f7b7818b0264cd864cd82d413eb")
    }

    @Test("writes device numbers only for character and block devices")
    func characterDevice() throws {
        let out = try TarHeaderEncoder.encode(TarHeader(name: Self.bytes("dev/null"), mode: 0o666, typeflag: TarType.character, devmajor: 1, devminor: 3))
        #expect(out.count == 512)
        #expect(Self.field(Self.ustar(out), UstarField.devmajor) == Self.bytes("0000001\0"))
        #expect(Self.sha256(out) == "cf3350ba8c2fff669dd6f0a48adbfd0f3011c9a7ea4dff6901decadfc67cfe5c")
        let file = try TarHeaderEncoder.encode(TarHeader(name: Self.bytes("f"), devmajor: 1, devminor: 3))
        #expect(Self.field(Self.ustar(file), UstarField.devmajor) == [UInt8](repeating: 0, count: 8))
    }

    @Test("rejects a device number too large for its field")
    func deviceOverflow() {
        #expect(throws: TarEncodingError.numberOverflow(field: "devmajor", value: 1 << 21, name: "dev/x")) {
            try TarHeaderEncoder.encode(TarHeader(name: Self.bytes("dev/x"), typeflag: TarType.block, devmajor: 1 << 21))
        }
    }

    @Test("lets records a member already carries win over derived ones, in their own order")
    func existingPaxRecords() throws {
        let name = String(repeating: "c", count: 120)
        let out = try TarHeaderEncoder.encode(TarHeader(
            name: Self.bytes(name), uid: 1 << 30,
            paxRecords: [PaxRecord("uid", "7"), PaxRecord("path", "kept")]
        ))
        #expect(Self.paxPayload(out) == Self.bytes("8 uid=7\n13 path=kept\n"))
        #expect(Self.field(Self.ustar(out), UstarField.uid) == Self.bytes("0000000\0"))
        #expect(Self.sha256(out) == "69755601a6f77a6799aa37f02ebdea7fdec58573fc22df383d0ee2dd82430fb1")
    }

    @Test("counts a pax record's own length digits, skipping 100 when crossing to 3 digits")
    func paxRecordLength() {
        // CPython 3.11.7 `_create_pax_generic_header({"k": "v" * n}, ...)` gives 98, 99, 101.
        for (count, length) in [(92, "98"), (93, "99"), (94, "101")] {
            let payload = TarHeaderEncoder.paxPayload([PaxRecord("k", String(repeating: "v", count: count))])
            #expect(payload == Self.bytes("\(length) k=" + String(repeating: "v", count: count) + "\n"))
            #expect(payload.count == Int(length))
        }
    }

    // MARK: - Writer

    @Test("streams members as CPython's w| mode does, padded to a 10240-byte record")
    func writerMatchesCPythonStream() throws {
        var writer = TarWriter(sink: MemorySink())
        try writer.writeHeader(TarHeader(name: "nix", mode: 0o755, mtime: 1, typeflag: TarType.directory))
        try writer.add(TarHeader(name: "nix/a.txt", mtime: 1), content: Self.bytes("hello"))
        #expect(writer.offset == 512 + 512 + 5)
        try writer.add(TarHeader(name: "nix/b", mtime: 1), content: Array(repeating: UInt8(ascii: "x"), count: 512))
        #expect(writer.offset == 512 + 1024 + 512 + 512)
        try writer.writeHeader(TarHeader(name: Self.bytes("nix/lé"), mtime: 1, typeflag: TarType.symlink, linkname: Self.bytes("a.txt")))
        try writer.finish()
        #expect(writer.offset == 10240)
        #expect(writer.sink.bytes.count == 10240)
        #expect(Self.sha256(writer.sink.bytes) == "a119474dfbd17c2067ca7dc5f9082445f833d42a4670e07284c3867337a4a767")
    }

    @Test("pads a stream longer than one record up to the next whole record")
    func writerRecordPadding() throws {
        var writer = TarWriter(sink: MemorySink())
        for index in 0..<20 {
            try writer.add(TarHeader(name: "f\(index)"), content: Array(repeating: 1, count: 512))
        }
        #expect(writer.offset == 20 * 1024)
        try writer.finish()
        #expect(writer.sink.bytes.count == 30720)
        #expect(writer.sink.bytes[(20 * 1024)...].allSatisfy { $0 == 0 })
    }

    @Test("an empty archive is one record of zeros")
    func emptyArchive() throws {
        var writer = TarWriter(sink: MemorySink())
        try writer.finish()
        #expect(writer.sink.bytes == [UInt8](repeating: 0, count: 10240))
    }

    @Test("fails on too many data bytes and stays failed")
    func writerOverflow() throws {
        var writer = TarWriter(sink: MemorySink())
        try writer.writeHeader(TarHeader(name: "a", size: 3))
        try writer.writeData(Self.bytes("ab"))
        #expect(throws: TarWriterError.dataOverflow(member: "a", declared: 3)) { try writer.writeData(Self.bytes("cd")) }
        #expect(writer.sink.bytes.count == 512 + 2)
        #expect(throws: TarWriterError.alreadyFailed) { try writer.writeData(Self.bytes("c")) }
        #expect(throws: TarWriterError.alreadyFailed) { try writer.writeHeader(TarHeader(name: "b")) }
        #expect(throws: TarWriterError.alreadyFailed) { try writer.finish() }
        #expect(writer.sink.bytes.count == 512 + 2)
    }

    @Test("fails on too few data bytes at the next header or at the end, and stays failed")
    func writerUnderflow() throws {
        var writer = TarWriter(sink: MemorySink())
        try writer.writeHeader(TarHeader(name: "a", size: 3))
        try writer.writeData(Self.bytes("ab"))
        #expect(throws: TarWriterError.dataUnderflow(member: "a", declared: 3, written: 2)) { try writer.writeHeader(TarHeader(name: "b")) }
        #expect(throws: TarWriterError.alreadyFailed) { try writer.writeData(Self.bytes("c")) }
        #expect(throws: TarWriterError.alreadyFailed) { try writer.finish() }
        #expect(writer.sink.bytes.count == 512 + 2)

        var ending = TarWriter(sink: MemorySink())
        try ending.writeHeader(TarHeader(name: "z", size: 1))
        #expect(throws: TarWriterError.dataUnderflow(member: "z", declared: 1, written: 0)) { try ending.finish() }
        #expect(throws: TarWriterError.alreadyFailed) { try ending.finish() }
    }

    @Test("takes no data bytes for a directory, whatever size it declares")
    func directoryCarriesNoData() throws {
        var writer = TarWriter(sink: MemorySink())
        try writer.writeHeader(TarHeader(name: "d", size: 9, typeflag: TarType.directory))
        #expect(throws: TarWriterError.dataOverflow(member: "d", declared: 0)) { try writer.writeData([1]) }
    }

    // MARK: - Reader

    private static func readAll(_ bytes: [UInt8]) throws -> [(TarHeader, [UInt8])] {
        var reader = TarReader(source: MemorySource(bytes))
        var members: [(TarHeader, [UInt8])] = []
        while let header = try reader.next() {
            members.append((header, try reader.readAll()))
        }
        return members
    }

    @Test("reads back what the writer wrote: names, link targets, numbers, pax records, data")
    func readerRoundTrip() throws {
        let longName = "nix/store/" + String(repeating: "n", count: 140) + "/file"
        let longTarget = "/nix/store/" + String(repeating: "t", count: 110)
        var writer = TarWriter(sink: MemorySink())
        try writer.writeHeader(TarHeader(name: "nix/store", mode: 0o555, mtime: 1, typeflag: TarType.directory))
        try writer.add(TarHeader(name: Self.bytes(longName), mode: 0o444, uid: 1 << 22, gid: 100, mtime: -5, uname: Self.bytes("nobody"), gname: Self.bytes("nogroup")), content: Self.bytes("data\n"))
        try writer.add(TarHeader(name: "nix/café"), content: [])
        try writer.writeHeader(TarHeader(name: Self.bytes("nix/link"), mode: 0o777, typeflag: TarType.symlink, linkname: Self.bytes(longTarget)))
        try writer.add(TarHeader(name: Self.bytes("raw") + [0xFF], mode: 0o600), content: Array(repeating: 7, count: 513))
        try writer.finish()

        let members = try Self.readAll(writer.sink.bytes)
        #expect(members.count == 5)
        guard members.count == 5 else { return }
        #expect(members[0].0 == TarHeader(name: Self.bytes("nix/store"), mode: 0o555, mtime: 1, typeflag: TarType.directory))

        let file = members[1].0
        #expect(file.nameString == longName)
        #expect(file.uid == 1 << 22)
        #expect(file.gid == 100)
        #expect(file.mtime == -5)
        #expect(file.size == 5)
        #expect(file.mode == 0o444)
        #expect(file.uname == Self.bytes("nobody"))
        #expect(file.gname == Self.bytes("nogroup"))
        #expect(file.paxRecords == [PaxRecord("path", longName), PaxRecord("uid", "4194304"), PaxRecord("mtime", "-5")])
        #expect(members[1].1 == Self.bytes("data\n"))

        #expect(members[2].0.nameString == "nix/café")
        #expect(members[2].0.paxRecords == [PaxRecord("path", "nix/café")])
        #expect(members[3].0.isSymlink)
        #expect(members[3].0.linknameString == longTarget)
        #expect(members[4].0.name == Self.bytes("raw") + [0xFF])
        #expect(members[4].0.paxRecords == [PaxRecord("hdrcharset", "BINARY"), PaxRecord("path", Self.bytes("raw") + [0xFF])])
        #expect(members[4].1 == Array(repeating: 7, count: 513))
    }

    @Test("reads a pax size of 8 GiB from a header alone")
    func readerHugeSize() throws {
        var reader = TarReader(source: MemorySource(try TarHeaderEncoder.encode(TarHeader(name: "big", size: 8 << 30))))
        let header = try #require(try reader.next())
        #expect(header.size == 8_589_934_592)
        #expect(header.nameString == "big")
        #expect(reader.offset == 1536)
    }

    /// Rebuilds blocks from their non-zero runs (offset, hex), as printed from CPython.
    private static func blocks(_ count: Int, _ runs: [(Int, String)]) -> [UInt8] {
        var out = [UInt8](repeating: 0, count: count * 512)
        for (offset, hex) in runs {
            let digits = Array(hex.utf8)
            for index in stride(from: 0, to: digits.count, by: 2) {
                out[offset + index / 2] = UInt8(String(decoding: digits[index..<(index + 2)], as: UTF8.self), radix: 16)!
            }
        }
        return out
    }

    @Test("reads GNU base-256 numbers, positive and negative")
    func readerGNUBase256() throws {
        // TarInfo("gnu.bin", uid=8**8, gid=5, mtime=-1, size=3).tobuf(GNU_FORMAT, ...)
        let header = Self.blocks(1, [
            (0, "676e752e62696e"), (100, "303030303634340080"), (112, "01"),
            (116, "3030303030303500303030303030303030303300ffffffffffffffffffffffff303133363133002030"),
            (257, "75737461722020"),
        ])
        let archive = header + Self.bytes("abc") + [UInt8](repeating: 0, count: 509 + 1024)
        let members = try Self.readAll(archive)
        #expect(members.count == 1)
        let member = try #require(members.first)
        #expect(member.0.nameString == "gnu.bin")
        #expect(member.0.uid == 16_777_216)
        #expect(member.0.gid == 5)
        #expect(member.0.mtime == -1)
        #expect(member.0.size == 3)
        #expect(member.1 == Self.bytes("abc"))
    }

    @Test("joins the ustar prefix field and the name")
    func readerUstarPrefix() throws {
        // TarInfo("p" * 120 + "/file.txt", mtime=7).tobuf(USTAR_FORMAT, ...)
        let header = Self.blocks(1, [
            (0, "66696c652e747874"),
            (100, "303030303634340030303030303030003030303030303000303030303030303030303000303030303030303030303700303431363232002030"),
            (257, "7573746172003030"), (345, String(repeating: "70", count: 120)),
        ])
        let decoded = try TarHeaderDecoding.decode(header, label: "t")
        #expect(decoded.nameString == String(repeating: "p", count: 120) + "/file.txt")
        #expect(decoded.mtime == 7)
        #expect(decoded.typeflag == TarType.regular)
    }

    @Test("reads a GNU long name member")
    func readerGNULongName() throws {
        // TarInfo("L" * 150).tobuf(GNU_FORMAT, ...)
        let archive = Self.blocks(3, [
            (0, "2e2f2e2f404c6f6e674c696e6b"),
            (100, "30303030303030003030303030303000303030303030300030303030303030303232370030303030303030303030300030303737353600204c"),
            (257, "75737461722020"), (512, String(repeating: "4c", count: 150)),
            (1024, String(repeating: "4c", count: 100) + "303030303634340030303030303030003030303030303000303030303030303030303000303030303030303030303000303234353535002030"),
            (1281, "75737461722020"),
        ]) + [UInt8](repeating: 0, count: 1024)
        let members = try Self.readAll(archive)
        #expect(members.map(\.0.nameString) == [String(repeating: "L", count: 150)])
    }

    @Test("detects a header whose checksum does not match")
    func readerChecksum() throws {
        var block = try TarHeaderEncoder.encode(TarHeader(name: "hello.txt", size: 0))
        _ = try TarHeaderDecoding.decode(block, label: "t")
        block[0] = UInt8(ascii: "H")
        #expect(throws: ArchiveError.corrupt("t", "a tar header has a bad checksum")) {
            try TarHeaderDecoding.decode(block, label: "t")
        }
        var reader = TarReader(source: MemorySource(block + [UInt8](repeating: 0, count: 1024), label: "x.tar"))
        #expect(throws: ArchiveError.corrupt("x.tar", "a tar header has a bad checksum")) { try reader.next() }
    }

    @Test("reports a header cut short as truncated")
    func readerTruncated() throws {
        let block = try TarHeaderEncoder.encode(TarHeader(name: "hello.txt"))
        var reader = TarReader(source: MemorySource(Array(block.prefix(300)), label: "x.tar"))
        #expect(throws: ArchiveError.truncated("x.tar")) { try reader.next() }
    }

    @Test("sums a header block's bytes as a byte-by-byte sum does, all-0xFF blocks and odd lengths too")
    func byteSum() {
        var state: UInt64 = 7
        var blocks: [[UInt8]] = [[UInt8](repeating: 0xFF, count: 512), [UInt8](repeating: 0, count: 512), [1, 2, 3], []]
        for length in [512, 1024, 513, 9] {
            blocks.append((0..<length).map { _ in
                state = state &* 6_364_136_223_846_793_005 &+ 1_442_695_040_888_963_407
                return UInt8(truncatingIfNeeded: state >> 40)
            })
        }
        for block in blocks {
            #expect(TarHeaderEncoder.byteSum(block) == block.reduce(0) { $0 + Int($1) }, "length \(block.count)")
        }
    }

    @Test("tells ASCII names from names with any byte above 0x7F")
    func asciiCheck() {
        #expect(TarHeaderEncoder.isASCII(Array("nix/store/abc-hello/bin/hello".utf8)))
        #expect(TarHeaderEncoder.isASCII([]))
        #expect(!TarHeaderEncoder.isASCII(Array("ünï".utf8)))
        #expect(!TarHeaderEncoder.isASCII([0x41, 0x80]))
    }
}
