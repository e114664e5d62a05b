/// Turns raw header blocks into members (pax extended and global headers, GNU long names,
/// V7 directories). `TarReader` drives it from a stream it pulls; the streaming hasher drives
/// it from bytes pushed in pieces it does not choose. One assembler, so both agree on every
/// archive.
public struct TarHeaderAssembler {
    /// What the caller must do after handing over a block.
    public enum Step: Equatable {
        /// A zero block: the archive ends here (CPython stops reading at the first one).
        case end
        /// A pax or GNU long-name header: read `size` payload bytes and pass them to `acceptMeta`.
        case meta(size: UInt64)
        /// A real member; `size` data bytes follow when it carries data.
        case member(TarHeader)
    }

    /// Metadata members hold names and records, never file content; a larger one is damage.
    public static let metaLimit: UInt64 = 1 << 20

    public let label: String
    private var globalRecords: [PaxRecord] = []
    private var records: [PaxRecord]?
    private var longName: [UInt8]?
    private var longLink: [UInt8]?
    private var pendingMeta: UInt8?

    public init(label: String) { self.label = label }

    public mutating func accept(block: [UInt8]) throws -> Step {
        if block.allSatisfy({ $0 == 0 }) { return .end }
        var header = try TarHeaderDecoding.decode(block, label: label)
        switch header.typeflag {
        case TarType.paxExtended, TarType.paxGlobal, TarType.gnuLongName, TarType.gnuLongLink:
            guard header.size <= Self.metaLimit else {
                throw ArchiveError.corrupt(label, "a \(header.size)-byte extended header is larger than any name or record set")
            }
            pendingMeta = header.typeflag
            return .meta(size: header.size)
        default:
            break
        }
        if let longName { header.name = longName }
        if let longLink { header.linkname = longLink }
        try TarHeaderDecoding.apply(records ?? globalRecords, to: &header, label: label)
        if header.isDirectory { while header.name.count > 1, header.name.last == 0x2F { header.name.removeLast() } }
        records = nil
        longName = nil
        longLink = nil
        return .member(header)
    }

    public mutating func acceptMeta(_ payload: [UInt8]) throws {
        defer { pendingMeta = nil }
        switch pendingMeta {
        case TarType.paxGlobal?:
            globalRecords = TarHeaderDecoding.merged(globalRecords, try TarHeaderDecoding.parsePax(payload, label: label))
        case TarType.paxExtended?:
            let parsed = try TarHeaderDecoding.parsePax(payload, label: label)
            records = TarHeaderDecoding.merged(records ?? globalRecords, parsed)
        case TarType.gnuLongName?:
            longName = TarHeaderDecoding.cString(payload)
        case TarType.gnuLongLink?:
            longLink = TarHeaderDecoding.cString(payload)
        default:
            break
        }
    }
}
