/// Problems with an archive that is read (a base image, or an archive being compared).
public enum ArchiveError: Error, CustomStringConvertible, Equatable {
    case truncated(String)
    case corrupt(String, String)
    case missingMember(String, String)
    case invalidMetadata(String, String)
    case endless(String)

    public var description: String {
        switch self {
        case let .truncated(file): "\(file) is truncated"
        case let .corrupt(file, reason): "\(file) is corrupt: \(reason)"
        case let .missingMember(file, member): "\(file) has no member \(member)"
        case let .invalidMetadata(file, reason): "\(file): \(reason)"
        case let .endless(file): "\(file) goes on for more than \(InputError.size(TarLayout.trailerLimit)) after its end-of-archive block, so it is not a tar that ends"
        }
    }
}

/// A streaming tar reader shaped like Go's `archive/tar.Reader`: `next()` gives a member's
/// header, then `read` gives exactly that member's bytes (unread bytes are skipped by the next
/// `next()`). Headers are interpreted as CPython does (see `TarHeaderAssembler`).
public struct TarReader<Source: ByteSource> {
    public var source: Source
    /// Offset in the (decompressed) stream up to which it has been consumed; right after
    /// `next()`, where the member's data starts.
    public private(set) var offset: UInt64 = 0
    /// How many members `next` has returned.
    public private(set) var memberCount = 0
    private var assembler: TarHeaderAssembler
    private var pendingData: UInt64 = 0
    private var pendingPadding = 0
    private var ended = false
    /// For skipping; member data handed to callers goes through `chunk`, which a skip of the
    /// padding after the last piece must not overwrite.
    private let scratch = CopyBuffer(size: 1 << 16)
    private let chunk = CopyBuffer(size: 1 << 16)

    public init(source: Source, label: String? = nil) {
        self.source = source
        assembler = TarHeaderAssembler(label: label ?? source.label)
    }

    public var label: String { assembler.label }

    /// The next member, or nil at the end of the archive.
    public mutating func next() throws -> TarHeader? {
        try skipData()
        while !ended {
            let block = try source.readUpTo(TarLayout.blockSize)
            offset += UInt64(block.count)
            if block.isEmpty {  // CPython accepts a missing end-of-archive marker.
                ended = true
                break
            }
            guard block.count == TarLayout.blockSize else { throw ArchiveError.truncated(label) }
            switch try assembler.accept(block: block) {
            case .end:
                ended = true
            case let .meta(size):
                begin(size: size)
                try assembler.acceptMeta(try readAll(limit: TarHeaderAssembler.metaLimit))
            case let .member(header):
                begin(size: header.carriesData ? header.size : 0)
                memberCount += 1
                return header
            }
        }
        return nil
    }

    /// Reads some of the current member's data; 0 once it is all read.
    public mutating func read(into buffer: UnsafeMutableRawBufferPointer) throws -> Int {
        guard pendingData > 0 else {
            try finishPadding()
            return 0
        }
        guard buffer.count > 0 else { return 0 }
        let want = Int(min(UInt64(buffer.count), pendingData))
        let got = try source.read(into: UnsafeMutableRawBufferPointer(rebasing: buffer[0..<want]))
        guard got > 0 else { throw ArchiveError.truncated(label) }
        pendingData -= UInt64(got)
        offset += UInt64(got)
        if pendingData == 0 { try finishPadding() }
        return got
    }

    /// Fills `buffer` unless the member ends first; returns how much was filled.
    public mutating func readFully(into buffer: UnsafeMutableRawBufferPointer) throws -> Int {
        var filled = 0
        while filled < buffer.count {
            let got = try read(into: UnsafeMutableRawBufferPointer(rebasing: buffer[filled...]))
            if got == 0 { break }
            filled += got
        }
        return filled
    }

    /// The current member's data in memory, for small members (JSON documents, pax records).
    public mutating func readAll(limit: UInt64 = ByteLimits.document) throws -> [UInt8] {
        guard pendingData <= limit else {
            throw ArchiveError.invalidMetadata(label, "a \(pendingData)-byte member is larger than expected")
        }
        var out: [UInt8] = []
        out.reserveCapacity(Int(pendingData))
        try forEachChunk { out.append(contentsOf: $0) }
        return out
    }

    /// Streams the rest of the current member's data to `body`.
    public mutating func forEachChunk(_ body: (UnsafeRawBufferPointer) throws -> Void) throws {
        while true {
            let got = try read(into: chunk.bytes)
            if got == 0 { break }
            try body(UnsafeRawBufferPointer(rebasing: chunk.bytes[0..<got]))
        }
    }

    /// Reads what follows the end of the archive (record padding), so a hashing source sees
    /// every byte; call it once `next()` has returned nil.
    public mutating func drainTrailer() throws {
        var trailer: UInt64 = 0
        while true {
            let got = try source.read(into: scratch.bytes)
            if got == 0 { return }
            trailer += UInt64(got)
            offset += UInt64(got)
            guard trailer <= TarLayout.trailerLimit else { throw ArchiveError.endless(label) }
        }
    }

    private mutating func begin(size: UInt64) {
        pendingData = size
        pendingPadding = TarLayout.padding(for: size)
    }

    private mutating func skipData() throws {
        if pendingData > 0 {
            try source.skip(pendingData, buffer: scratch)
            offset += pendingData
        }
        pendingData = 0
        try finishPadding()
    }

    private mutating func finishPadding() throws {
        guard pendingPadding > 0 else { return }
        try source.skip(UInt64(pendingPadding), buffer: scratch)
        offset += UInt64(pendingPadding)
        pendingPadding = 0
    }
}
