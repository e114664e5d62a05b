/// Reads header blocks and pax records with CPython's interpretation (ustar prefix, V7
/// directories, pax overriding the block, GNU base-256 numbers), refusing what CPython would
/// misread: negative or overflowing sizes, numbers that are not numbers, malformed records.
public enum TarHeaderDecoding {
    /// One 512-byte header block, checksum-validated.
    public static func decode(_ block: [UInt8], label: String) throws -> TarHeader {
        precondition(block.count == TarLayout.blockSize, "a header block is 512 bytes")
        func field(_ range: (Int, Int)) -> ArraySlice<UInt8> { block[range.0..<(range.0 + range.1)] }
        func string(_ range: (Int, Int)) -> [UInt8] { cString(Array(field(range))) }
        func number(_ range: (Int, Int), _ name: String) throws -> Int {
            try parseNumber(field(range), field: name, label: label)
        }
        let stored = try number(UstarField.checksum, "checksum")
        var unsigned = 0, signed = 0
        for (index, byte) in block.enumerated() {
            let value = (UstarField.checksum.0..<(UstarField.checksum.0 + 8)).contains(index) ? 0x20 : byte
            unsigned += Int(value)
            signed += Int(Int8(bitPattern: value))
        }
        guard stored == unsigned || stored == signed else {
            throw ArchiveError.corrupt(label, "a tar header has a bad checksum")
        }
        let size = try number(UstarField.size, "size")
        guard size >= 0 else { throw ArchiveError.corrupt(label, "a tar header has a negative size \(size)") }
        var header = TarHeader(
            name: string(UstarField.name), mode: UInt32(truncatingIfNeeded: try number(UstarField.mode, "mode")),
            uid: try number(UstarField.uid, "uid"), gid: try number(UstarField.gid, "gid"),
            size: UInt64(size), mtime: try number(UstarField.mtime, "mtime"),
            typeflag: block[UstarField.typeflag.0], linkname: string(UstarField.linkname),
            uname: string(UstarField.uname), gname: string(UstarField.gname),
            devmajor: try number(UstarField.devmajor, "devmajor"), devminor: try number(UstarField.devminor, "devminor")
        )
        if header.typeflag == TarType.regularOld && header.name.last == 0x2F {
            header.typeflag = TarType.directory
        }
        let prefix = string(UstarField.prefix)
        if !prefix.isEmpty && ![TarType.gnuLongName, TarType.gnuLongLink, UInt8(ascii: "S")].contains(header.typeflag) {
            if header.isDirectory { while header.name.last == 0x2F { header.name.removeLast() } }
            header.name = prefix + [0x2F] + header.name
        }
        return header
    }

    /// An octal field (NUL- or space-terminated, blank meaning 0) or a GNU base-256 field
    /// (first byte 0x80 for positive, 0xFF for negative two's complement), as Go reads them:
    /// a value that does not fit 64 bits is an error, never a silently wrapped number.
    static func parseNumber(_ bytes: ArraySlice<UInt8>, field: String, label: String) throws -> Int {
        if let first = bytes.first, first & 0x80 != 0 {
            guard first == 0x80 || first == 0xFF else {
                throw ArchiveError.corrupt(label, "a tar header's \(field) field has an unknown binary encoding")
            }
            let invert: UInt8 = first == 0xFF ? 0xFF : 0
            var value: UInt64 = 0
            for (position, raw) in bytes.enumerated() {
                var byte = raw ^ invert
                if position == 0 { byte &= 0x7F }
                guard value >> 56 == 0 else { throw overflow(field, label) }
                value = value << 8 | UInt64(byte)
            }
            guard value >> 63 == 0 else { throw overflow(field, label) }
            let magnitude = Int(value)
            return invert == 0 ? magnitude : ~magnitude
        }
        let text = bytes.prefix { $0 != 0 }
        let digits = text.drop { $0 == 0x20 }.reversed().drop { $0 == 0x20 }.reversed()
        var value = 0
        for byte in digits {
            guard byte >= UInt8(ascii: "0"), byte <= UInt8(ascii: "7") else {
                let shown = String(decoding: text, as: UTF8.self)
                throw ArchiveError.corrupt(label, "a tar header's \(field) field holds \"\(shown)\" where an octal number belongs")
            }
            let (shifted, overflowed) = value.multipliedReportingOverflow(by: 8)
            guard !overflowed else { throw overflow(field, label) }
            value = shifted + Int(byte - UInt8(ascii: "0"))
        }
        return value
    }

    private static func overflow(_ field: String, _ label: String) -> ArchiveError {
        ArchiveError.corrupt(label, "a tar header's \(field) field does not fit 64 bits")
    }

    public static func cString(_ bytes: [UInt8]) -> [UInt8] {
        Array(bytes.prefix { $0 != 0 })
    }

    /// Later records replace earlier ones of the same keyword, keeping the first position.
    public static func merged(_ base: [PaxRecord], _ overrides: [PaxRecord]) -> [PaxRecord] {
        var result = base
        for record in overrides {
            if let index = result.firstIndex(where: { $0.keyword == record.keyword }) {
                result[index].value = record.value
            } else {
                result.append(record)
            }
        }
        return result
    }

    /// `"%d %s=%s\n"` records; trailing NUL padding is tolerated, as CPython does.
    public static func parsePax(_ payload: [UInt8], label: String) throws -> [PaxRecord] {
        var records: [PaxRecord] = []
        var index = 0
        while index < payload.count {
            let rest = payload[index...]
            if rest.allSatisfy({ $0 == 0 }) { break }
            // The length counts the whole record: its digits, the space, keyword, '=', value, '\n'.
            guard let space = rest.prefix(20).firstIndex(of: 0x20), space > index,
                  payload[index..<space].allSatisfy({ $0 >= UInt8(ascii: "0") && $0 <= UInt8(ascii: "9") }),
                  let length = Int(String(decoding: payload[index..<space], as: UTF8.self)),
                  length <= payload.count - index, space + 1 < index + length,
                  payload[index + length - 1] == 0x0A,
                  let equals = payload[(space + 1)..<(index + length - 1)].firstIndex(of: UInt8(ascii: "="))
            else {
                throw ArchiveError.corrupt(label, "a pax header record is malformed")
            }
            let keyword = String(decoding: payload[(space + 1)..<equals], as: UTF8.self)
            let value = Array(payload[(equals + 1)..<(index + length - 1)])
            records = merged(records, [PaxRecord(keyword, value)])
            index += length
        }
        return records
    }

    /// CPython's `_apply_pax_info`: the records override header fields; a uid or gid that does
    /// not parse becomes 0; `mtime` is a float, rounded half-to-even when written back. A size
    /// or mtime CPython would crash on or misread (negative, not a number, infinite, beyond 64
    /// bits) is refused.
    public static func apply(_ records: [PaxRecord], to header: inout TarHeader, label: String) throws {
        for record in records {
            let text = String(decoding: record.value, as: UTF8.self)
            switch record.keyword {
            case "path":
                var name = record.value
                while name.count > 1, name.last == 0x2F { name.removeLast() }
                header.name = name
            case "linkpath": header.linkname = record.value
            case "uname": header.uname = record.value
            case "gname": header.gname = record.value
            case "uid": header.uid = Int(text) ?? 0
            case "gid": header.gid = Int(text) ?? 0
            case "size", "GNU.sparse.size", "GNU.sparse.realsize":
                guard let size = UInt64(text), size <= UInt64(Int.max) else {
                    throw ArchiveError.corrupt(label, "a pax \(record.keyword) of \"\(text.prefix(40))\" is not a byte count")
                }
                header.size = size
            case "mtime":
                guard let seconds = Double(text).flatMap({ Int(exactly: $0.rounded(.toNearestOrEven)) }) else {
                    throw ArchiveError.corrupt(label, "a pax mtime of \"\(text.prefix(40))\" is not a time")
                }
                header.mtime = seconds
            default: break
            }
        }
        header.paxRecords = records
    }
}
