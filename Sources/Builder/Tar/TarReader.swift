/// Problems with an archive that is read (a base image, or an archive being compared).
public enum ArchiveError: Error, CustomStringConvertible, Equatable {
    case truncated(String)
    case corrupt(String, String)
    case missingMember(String, String)
    case invalidMetadata(String, String)

    public var description: String {
        switch self {
        case let .truncated(file): "\(file) is truncated"
        case let .corrupt(file, reason): "\(file) is corrupt: \(reason)"
        case let .missingMember(file, member): "\(file) has no member \(member)"
        case let .invalidMetadata(file, reason): "\(file): \(reason)"
        }
    }
}

/// A streaming tar reader with CPython's interpretation of headers: ustar prefix, pax extended
/// and global headers, GNU long names, checksum validation, V7 directories.
public struct TarReader<Source: ByteSource> {
    public var source: Source
    /// Offset in the (decompressed) stream where the next header starts.
    public private(set) var offset: UInt64 = 0
    private var pendingData: UInt64 = 0
    private var globalRecords: [PaxRecord] = []
    private let scratch = CopyBuffer(size: 1 << 16)

    public init(source: Source) { self.source = source }

    /// The next member, or nil at the end of the archive. Its data must be read with
    /// `readData` or is skipped by the next call.
    public mutating func next() throws -> TarHeader? {
        try skipPendingData()
        var records: [PaxRecord]? = nil
        var longName: [UInt8]? = nil
        var longLink: [UInt8]? = nil
        while true {
            let block = try source.readUpTo(TarLayout.blockSize)
            offset += UInt64(block.count)
            if block.isEmpty { return nil }  // CPython accepts a missing end-of-archive marker.
            guard block.count == TarLayout.blockSize else { throw ArchiveError.truncated(source.label) }
            if block.allSatisfy({ $0 == 0 }) { return nil }
            var header = try Self.decode(block, label: source.label)
            switch header.typeflag {
            case TarType.paxExtended, TarType.paxGlobal:
                let payload = try readWhole(size: header.size)
                let parsed = try Self.parsePax(payload, label: source.label)
                if header.typeflag == TarType.paxGlobal {
                    globalRecords = Self.merged(globalRecords, parsed)
                } else {
                    records = Self.merged(records ?? globalRecords, parsed)
                }
                continue
            case TarType.gnuLongName:
                longName = Self.cString(try readWhole(size: header.size))
                continue
            case TarType.gnuLongLink:
                longLink = Self.cString(try readWhole(size: header.size))
                continue
            default:
                break
            }
            if let longName { header.name = longName }
            if let longLink { header.linkname = longLink }
            try Self.apply(records ?? globalRecords, to: &header, label: source.label)
            if header.isDirectory { while header.name.count > 1, header.name.last == 0x2F { header.name.removeLast() } }
            pendingData = header.carriesData ? header.size : 0
            return header
        }
    }

    /// Streams the current member's data to `body` in chunks.
    public mutating func readData(buffer: CopyBuffer, _ body: (UnsafeRawBufferPointer) throws -> Void) throws {
        let total = pendingData
        var remaining = total
        while remaining > 0 {
            let want = Int(min(UInt64(buffer.bytes.count), remaining))
            let got = try source.read(into: UnsafeMutableRawBufferPointer(rebasing: buffer.bytes[0..<want]))
            guard got > 0 else { throw ArchiveError.truncated(source.label) }
            try body(UnsafeRawBufferPointer(rebasing: buffer.bytes[0..<got]))
            remaining -= UInt64(got)
        }
        pendingData = 0
        offset += total
        let padding = TarLayout.padding(for: total)
        try source.skip(UInt64(padding), buffer: scratch)
        offset += UInt64(padding)
    }

    /// The current member's data in memory (for small members such as JSON documents).
    public mutating func readAll(limit: UInt64 = 64 << 20) throws -> [UInt8] {
        guard pendingData <= limit else {
            throw ArchiveError.invalidMetadata(source.label, "a \(pendingData)-byte member is larger than expected")
        }
        var out: [UInt8] = []
        out.reserveCapacity(Int(pendingData))
        try readData(buffer: scratch) { out.append(contentsOf: $0) }
        return out
    }

    private mutating func skipPendingData() throws {
        guard pendingData > 0 else { return }
        let total = pendingData + UInt64(TarLayout.padding(for: pendingData))
        try source.skip(total, buffer: scratch)
        offset += total
        pendingData = 0
    }

    private mutating func readWhole(size: UInt64) throws -> [UInt8] {
        pendingData = size
        return try readAll()
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

    /// One 512-byte header block, checksum-validated; shared with incremental readers.
    public static func decode(_ block: [UInt8], label: String) throws -> TarHeader {
        func field(_ range: (Int, Int)) -> ArraySlice<UInt8> { block[range.0..<(range.0 + range.1)] }
        func string(_ range: (Int, Int)) -> [UInt8] { cString(Array(field(range))) }
        func number(_ range: (Int, Int)) throws -> Int {
            let bytes = field(range)
            if let first = bytes.first, first == 0x80 || first == 0xFF {
                // GNU base-256.
                var value = 0
                for byte in bytes.dropFirst() { value = value << 8 | Int(byte) }
                if first == 0xFF { value -= 1 << (8 * (range.1 - 1)) }
                return value
            }
            let text = String(decoding: cString(Array(bytes)), as: UTF8.self).trimmingCharacters(in: .whitespaces)
            if text.isEmpty { return 0 }
            guard let value = Int(text, radix: 8) else {
                throw ArchiveError.corrupt(label, "a header field holds \"\(text)\" where an octal number belongs")
            }
            return value
        }
        let stored = try number(UstarField.checksum)
        var unsigned = 0, signed = 0
        for (index, byte) in block.enumerated() {
            let value = (UstarField.checksum.0..<(UstarField.checksum.0 + 8)).contains(index) ? 0x20 : byte
            unsigned += Int(value)
            signed += Int(Int8(bitPattern: value))
        }
        guard stored == unsigned || stored == signed else {
            throw ArchiveError.corrupt(label, "a tar header has a bad checksum at its \(stored == 0 ? "start" : "block")")
        }
        var header = TarHeader(
            name: string(UstarField.name), mode: UInt32(truncatingIfNeeded: try number(UstarField.mode)),
            uid: try number(UstarField.uid), gid: try number(UstarField.gid),
            size: UInt64(max(0, try number(UstarField.size))), mtime: try number(UstarField.mtime),
            typeflag: block[UstarField.typeflag.0], linkname: string(UstarField.linkname),
            uname: string(UstarField.uname), gname: string(UstarField.gname),
            devmajor: try number(UstarField.devmajor), devminor: try number(UstarField.devminor)
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

    public static func parsePax(_ payload: [UInt8], label: String) throws -> [PaxRecord] {
        var records: [PaxRecord] = []
        var index = 0
        while index < payload.count {
            guard let space = payload[index...].firstIndex(of: 0x20),
                  let length = Int(String(decoding: payload[index..<space], as: UTF8.self)),
                  length > 0, index + length <= payload.count,
                  let equals = payload[(space + 1)..<(index + length)].firstIndex(of: UInt8(ascii: "="))
            else {
                if payload[index...].allSatisfy({ $0 == 0 }) { break }
                throw ArchiveError.corrupt(label, "a pax header record is malformed")
            }
            let keyword = String(decoding: payload[(space + 1)..<equals], as: UTF8.self)
            let value = Array(payload[(equals + 1)..<(index + length - 1)])
            records = merged(records, [PaxRecord(keyword, value)])
            index += length
        }
        return records
    }

    /// CPython's `_apply_pax_info`: the records override header fields; numbers that do not
    /// parse become 0; `mtime` is a float, rounded half-to-even when written back.
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
            case "size", "GNU.sparse.size", "GNU.sparse.realsize": header.size = UInt64(Int(text) ?? 0)
            case "mtime": header.mtime = Int((Double(text) ?? 0).rounded(.toNearestOrEven))
            default: break
            }
        }
        header.paxRecords = records
    }
}

import Foundation
