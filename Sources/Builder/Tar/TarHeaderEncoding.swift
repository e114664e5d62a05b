/// Encodes headers byte for byte as CPython 3.11's `tarfile` does in `PAX_FORMAT`
/// (`TarInfo.create_pax_header`), since nixpkgs' image digests are those bytes.
///
/// Field table (offset, length) of a ustar header block, the one place offsets live.
enum UstarField {
    static let name = (0, 100)
    static let mode = (100, 8)
    static let uid = (108, 8)
    static let gid = (116, 8)
    static let size = (124, 12)
    static let mtime = (136, 12)
    static let checksum = (148, 8)
    static let typeflag = (156, 1)
    static let linkname = (157, 100)
    static let magic = (257, 8)
    static let uname = (265, 32)
    static let gname = (297, 32)
    static let devmajor = (329, 8)
    static let devminor = (337, 8)
    static let prefix = (345, 155)
}

public enum TarEncodingError: Error, CustomStringConvertible, Equatable {
    case numberOverflow(field: String, value: Int, name: String)

    public var description: String {
        switch self {
        case let .numberOverflow(field, value, name):
            "tar member \(name): \(field) \(value) does not fit its header field"
        }
    }
}

public enum TarHeaderEncoder {
    /// The header blocks for `header`: an optional pax extended header and its records, then
    /// the ustar block. Data and padding are the writer's job.
    public static func encode(_ header: TarHeader) throws -> [UInt8] {
        var out: [UInt8] = []
        try encode(header) { out.append(contentsOf: $0) }
        return out
    }

    /// Hands the header's blocks to `emit`: the pax header with its records when one is needed,
    /// then the ustar block, built in a stack buffer. This runs for every entry of every layer
    /// pass, so the common case (no pax) allocates nothing.
    public static func encode(_ header: TarHeader, _ emit: (UnsafeRawBufferPointer) throws -> Void) throws {
        // A directory's name ends in "/" (CPython's `TarInfo` adds it); appended in place
        // rather than by copying the name.
        let slash = header.typeflag == TarType.directory && header.name.last != UInt8(ascii: "/")
        let nameLength = header.name.count + (slash ? 1 : 0)
        var uid = header.uid, gid = header.gid, size = Int(clamping: header.size), mtime = header.mtime
        let plain = header.paxRecords.isEmpty
            && nameLength <= 100 && isASCII(header.name)
            && header.linkname.count <= 100 && isASCII(header.linkname)
            && header.uname.count <= 32 && isASCII(header.uname)
            && header.gname.count <= 32 && isASCII(header.gname)
            && fitsOctal(uid, digits: 8) && fitsOctal(gid, digits: 8)
            && fitsOctal(size, digits: 12) && fitsOctal(mtime, digits: 12)
        if !plain {
            var name = header.name
            if slash { name.append(UInt8(ascii: "/")) }
            var pax = OrderedRecords(header.paxRecords)
            // CPython tests each string against its field: non-ASCII or too long goes to pax.
            // Then uid, gid, size, mtime in that order: an out-of-range number is written as 0 in
            // the ustar field with its true value in a pax record.
            func checkString(_ keyword: String, _ value: [UInt8], length: Int) {
                guard value.count > length || !isASCII(value), !pax.contains(keyword) else { return }
                pax.set(keyword, value)
            }
            func checkNumber(_ keyword: String, _ value: inout Int, digits: Int) {
                guard !fitsOctal(value, digits: digits) else { return }
                if !pax.contains(keyword) { pax.set(keyword, Array(String(value).utf8)) }
                value = 0
            }
            checkString("path", name, length: 100)
            checkString("linkpath", header.linkname, length: 100)
            checkString("uname", header.uname, length: 32)
            checkString("gname", header.gname, length: 32)
            checkNumber("uid", &uid, digits: 8)
            checkNumber("gid", &gid, digits: 8)
            checkNumber("size", &size, digits: 12)
            checkNumber("mtime", &mtime, digits: 12)
            if !pax.records.isEmpty {
                let payload = paxPayload(pax.records)
                try withBlock { block in
                    fill(block, UstarField.name, Array("././@PaxHeader".utf8))
                    fill(block, UstarField.mode, octal: 0)
                    fill(block, UstarField.uid, octal: 0)
                    fill(block, UstarField.gid, octal: 0)
                    fill(block, UstarField.size, octal: payload.count)
                    fill(block, UstarField.mtime, octal: 0)
                    block[UstarField.typeflag.0] = TarType.paxExtended
                    fill(block, UstarField.magic, ustarMagic)
                    sealChecksum(block)
                    try emit(UnsafeRawBufferPointer(block))
                }
                try (payload + [UInt8](repeating: 0, count: TarLayout.padding(for: UInt64(payload.count)))).withUnsafeBytes(emit)
            }
        }

        try withBlock { block in
            let ustarName = asciiReplacing(header.name)
            fill(block, UstarField.name, ustarName)
            if slash && ustarName.count < UstarField.name.1 { block[UstarField.name.0 + ustarName.count] = UInt8(ascii: "/") }
            fill(block, UstarField.mode, octal: Int(header.mode & 0o7777))
            fill(block, UstarField.uid, octal: uid)
            fill(block, UstarField.gid, octal: gid)
            fill(block, UstarField.size, octal: size)
            fill(block, UstarField.mtime, octal: mtime)
            block[UstarField.typeflag.0] = header.typeflag
            fill(block, UstarField.linkname, asciiReplacing(header.linkname))
            fill(block, UstarField.magic, ustarMagic)
            fill(block, UstarField.uname, asciiReplacing(header.uname))
            fill(block, UstarField.gname, asciiReplacing(header.gname))
            if header.typeflag == TarType.character || header.typeflag == TarType.block {
                // Device numbers have no pax fallback in CPython either: too large is an error.
                for (field, value, label) in [(UstarField.devmajor, header.devmajor, "devmajor"), (UstarField.devminor, header.devminor, "devminor")] {
                    guard fitsOctal(value, digits: 8) else {
                        throw TarEncodingError.numberOverflow(
                            field: label, value: value, name: String(decoding: header.name + (slash ? [UInt8(ascii: "/")] : []), as: UTF8.self)
                        )
                    }
                    fill(block, field, octal: value)
                }
            }
            sealChecksum(block)
            try emit(UnsafeRawBufferPointer(block))
        }
    }

    private static let ustarMagic = Array("ustar\u{0}00".utf8)

    /// A zeroed header block on the stack for `body`.
    private static func withBlock(_ body: (UnsafeMutableRawBufferPointer) throws -> Void) throws {
        try withUnsafeTemporaryAllocation(byteCount: TarLayout.blockSize, alignment: 8) { block in
            block.initializeMemory(as: UInt8.self, repeating: 0)
            try body(block)
        }
    }

    static func fitsOctal(_ value: Int, digits: Int) -> Bool {
        value >= 0 && value < 1 << (3 * (digits - 1))
    }

    /// `%0*o` plus a NUL, as CPython's `itn` writes in-range numbers.
    static func octal(_ value: Int, digits: Int) -> [UInt8] {
        var out = [UInt8](repeating: UInt8(ascii: "0"), count: digits)
        out.withUnsafeMutableBytes { writeOctal(value, into: $0, at: 0, digits: digits) }
        return out
    }

    /// Writes `value` as `digits - 1` zero-padded octal digits and a NUL.
    private static func writeOctal(_ value: Int, into block: UnsafeMutableRawBufferPointer, at offset: Int, digits: Int) {
        var remaining = value
        block[offset + digits - 1] = 0
        var position = offset + digits - 2
        while position >= offset {
            block[position] = UInt8(ascii: "0") + UInt8(remaining & 7)
            remaining >>= 3
            position -= 1
        }
    }

    private static func fill(_ block: UnsafeMutableRawBufferPointer, _ field: (Int, Int), octal value: Int) {
        writeOctal(value, into: block, at: field.0, digits: field.1)
    }

    private static func fill(_ block: UnsafeMutableRawBufferPointer, _ field: (Int, Int), _ bytes: [UInt8]) {
        let count = min(bytes.count, field.1)
        guard count > 0 else { return }
        bytes.withUnsafeBytes { source in
            UnsafeMutableRawBufferPointer(rebasing: block[field.0..<(field.0 + count)])
                .copyMemory(from: UnsafeRawBufferPointer(rebasing: source[0..<count]))
        }
    }

    /// The checksum is computed with its own field as spaces and written `%06o\0`, leaving the
    /// eighth byte a space, as CPython does.
    private static func sealChecksum(_ block: UnsafeMutableRawBufferPointer) {
        for index in UstarField.checksum.0..<(UstarField.checksum.0 + 8) { block[index] = 0x20 }
        writeOctal(byteSum(UnsafeRawBufferPointer(block)), into: block, at: UstarField.checksum.0, digits: 7)
    }

    static func byteSum(_ block: [UInt8]) -> Int {
        block.withUnsafeBytes { byteSum($0) }
    }

    /// The sum of a block's bytes, eight at a time: each word's bytes are added in 16-bit lanes
    /// (a 512-byte block sums to at most 64 × 2 × 255 per lane, far below 65,536).
    static func byteSum(_ raw: UnsafeRawBufferPointer) -> Int {
        let mask: UInt64 = 0x00FF_00FF_00FF_00FF
        var lanes: UInt64 = 0
        var index = 0
        while index + 8 <= raw.count {
            let word = raw.loadUnaligned(fromByteOffset: index, as: UInt64.self)
            lanes &+= (word & mask) &+ ((word >> 8) & mask)
            index += 8
        }
        var sum = Int(lanes & 0xFFFF) + Int((lanes >> 16) & 0xFFFF) + Int((lanes >> 32) & 0xFFFF) + Int(lanes >> 48)
        while index < raw.count {
            sum += Int(raw[index])
            index += 1
        }
        return sum
    }

    /// CPython writes ustar string fields with `encode("ascii", "replace")` of the decoded name:
    /// every non-ASCII character (or undecodable byte) becomes one `?`.
    static func asciiReplacing(_ bytes: [UInt8]) -> [UInt8] {
        guard !isASCII(bytes) else { return bytes }
        var out: [UInt8] = []
        var index = 0
        while index < bytes.count {
            if bytes[index] < 0x80 {
                out.append(bytes[index])
                index += 1
            } else {
                out.append(UInt8(ascii: "?"))
                index += UTF8Scan.validSequenceLength(bytes, at: index) ?? 1
            }
        }
        return out
    }

    /// Whether every byte is below 0x80, by OR-ing them together (no early exit to branch on:
    /// names are short and almost always ASCII).
    static func isASCII(_ bytes: [UInt8]) -> Bool {
        bytes.withUnsafeBufferPointer { buffer in buffer.reduce(UInt8(0)) { $0 | $1 } } < 0x80
    }

    /// Pax records, each `"%d %s=%s\n"` where the length counts itself.
    static func paxPayload(_ records: [PaxRecord]) -> [UInt8] {
        var out: [UInt8] = []
        if records.contains(where: { !UTF8Scan.isValid($0.value) }) {
            out += Array("21 hdrcharset=BINARY\n".utf8)
        }
        for record in records {
            let body = Array(record.keyword.utf8).count + record.value.count + 3
            var length = 0
            while true {
                let next = body + String(length).utf8.count
                if next == length { break }
                length = next
            }
            out += Array("\(length) \(record.keyword)=".utf8) + record.value + [UInt8(ascii: "\n")]
        }
        return out
    }
}

/// Pax records as an insertion-ordered dictionary, like the Python dict CPython uses.
struct OrderedRecords {
    private(set) var records: [PaxRecord]

    init(_ records: [PaxRecord]) {
        self.records = records
    }

    func contains(_ keyword: String) -> Bool { records.contains { $0.keyword == keyword } }

    mutating func set(_ keyword: String, _ value: [UInt8]) {
        if let index = records.firstIndex(where: { $0.keyword == keyword }) {
            records[index].value = value
        } else {
            records.append(PaxRecord(keyword, value))
        }
    }
}

public enum UTF8Scan {
    /// Length of the well-formed UTF-8 sequence starting at `index` (Python's strict decoder
    /// rules: no overlongs, no surrogates, at most U+10FFFF), or nil.
    public static func validSequenceLength(_ bytes: [UInt8], at index: Int) -> Int? {
        let lead = bytes[index]
        let (length, minimum): (Int, UInt32)
        switch lead {
        case 0x00...0x7F: return 1
        case 0xC2...0xDF: (length, minimum) = (2, 0x80)
        case 0xE0...0xEF: (length, minimum) = (3, 0x800)
        case 0xF0...0xF4: (length, minimum) = (4, 0x10000)
        default: return nil
        }
        guard index + length <= bytes.count else { return nil }
        var scalar = UInt32(lead) & (0xFF >> (length + 1))
        for offset in 1..<length {
            let byte = bytes[index + offset]
            guard byte & 0xC0 == 0x80 else { return nil }
            scalar = scalar << 6 | UInt32(byte & 0x3F)
        }
        guard scalar >= minimum, scalar <= 0x10FFFF, !(0xD800...0xDFFF).contains(scalar) else { return nil }
        return length
    }

    public static func isValid(_ bytes: [UInt8]) -> Bool {
        var index = 0
        while index < bytes.count {
            guard let length = validSequenceLength(bytes, at: index) else { return false }
            index += length
        }
        return true
    }
}
