import Builder

/// A tar reader whose member data is pulled piecewise, so two archives, or a layer inside an
/// archive, can be read in lockstep. TarReader pushes a member's data to a closure in one go,
/// which cannot interleave two streams.
struct TarWalker<Source: ByteSource> {
    var source: Source
    private var assembler: TarHeaderAssembler
    private var pendingData: UInt64 = 0
    private var pendingPadding = 0
    /// For skipping; member data handed to callers goes through `chunk`, which a skip of
    /// the padding after the last piece must not overwrite.
    private let scratch = CopyBuffer(size: 1 << 16)
    private let chunk = CopyBuffer(size: 1 << 16)
    /// How many members `next` has returned.
    private(set) var memberCount = 0

    init(source: Source, label: String) {
        self.source = source
        assembler = TarHeaderAssembler(label: label)
    }

    var label: String { assembler.label }

    /// The next member, or nil at the end of the archive; unread data of the previous member
    /// is skipped.
    mutating func next() throws -> TarHeader? {
        try skipData()
        while true {
            let block = try source.readUpTo(TarLayout.blockSize)
            if block.isEmpty { return nil }  // CPython accepts a missing end-of-archive marker.
            guard block.count == TarLayout.blockSize else { throw ArchiveError.truncated(label) }
            switch try assembler.accept(block: block) {
            case .end:
                return nil
            case let .meta(size):
                begin(size: size)
                try assembler.acceptMeta(try readAllData(limit: TarHeaderAssembler.metaLimit))
            case let .member(header):
                begin(size: header.carriesData ? header.size : 0)
                memberCount += 1
                return header
            }
        }
    }

    /// Reads some of the current member's data; 0 once it is all read.
    mutating func readData(into buffer: UnsafeMutableRawBufferPointer) throws -> Int {
        guard pendingData > 0 else {
            try finishPadding()
            return 0
        }
        guard buffer.count > 0 else { return 0 }
        let want = Int(min(UInt64(buffer.count), pendingData))
        let got = try source.read(into: UnsafeMutableRawBufferPointer(rebasing: buffer[0..<want]))
        guard got > 0 else { throw ArchiveError.truncated(label) }
        pendingData -= UInt64(got)
        if pendingData == 0 { try finishPadding() }
        return got
    }

    /// Fills `buffer` unless the member ends first; returns how much was filled.
    mutating func readDataFully(into buffer: UnsafeMutableRawBufferPointer) throws -> Int {
        var filled = 0
        while filled < buffer.count {
            let got = try readData(into: UnsafeMutableRawBufferPointer(rebasing: buffer[filled...]))
            if got == 0 { break }
            filled += got
        }
        return filled
    }

    /// The current member's data in memory, for small members (JSON documents, pax records).
    mutating func readAllData(limit: UInt64) throws -> [UInt8] {
        guard pendingData <= limit else {
            throw ArchiveError.invalidMetadata(label, "a \(pendingData)-byte member is larger than expected")
        }
        var out: [UInt8] = []
        out.reserveCapacity(Int(pendingData))
        while true {
            let got = try readData(into: chunk.bytes)
            if got == 0 { break }
            out.append(contentsOf: UnsafeRawBufferPointer(rebasing: chunk.bytes[0..<got]))
        }
        return out
    }

    /// Streams the rest of the current member's data to `body`.
    mutating func forEachChunk(_ body: (UnsafeRawBufferPointer) throws -> Void) throws {
        while true {
            let got = try readData(into: chunk.bytes)
            if got == 0 { break }
            try body(UnsafeRawBufferPointer(rebasing: chunk.bytes[0..<got]))
        }
    }

    /// Reads whatever follows the end of the archive (record padding), so a hashing source
    /// sees every byte.
    mutating func drainSource() throws {
        while try source.read(into: scratch.bytes) > 0 {}
    }

    private mutating func begin(size: UInt64) {
        pendingData = size
        pendingPadding = TarLayout.padding(for: size)
    }

    private mutating func skipData() throws {
        if pendingData > 0 { try source.skip(pendingData, buffer: scratch) }
        pendingData = 0
        try finishPadding()
    }

    private mutating func finishPadding() throws {
        guard pendingPadding > 0 else { return }
        try source.skip(UInt64(pendingPadding), buffer: scratch)
        pendingPadding = 0
    }
}

/// Hashes every byte read through it.
struct HashingSource<Inner: ByteSource>: ByteSource {
    var inner: Inner
    private(set) var hashing = HashingSink()

    init(_ inner: Inner) { self.inner = inner }

    var label: String { inner.label }

    mutating func read(into buffer: UnsafeMutableRawBufferPointer) throws -> Int {
        let got = try inner.read(into: buffer)
        try hashing.write(UnsafeRawBufferPointer(rebasing: buffer[0..<got]))
        return got
    }
}

/// The data of an outer archive's current member as a stream of its own, so a layer tar can be
/// walked while it is read out of the archive. The outer walker is moved in and handed back
/// afterwards (the same pattern as `TarMemberDataSink`).
struct MemberDataSource<Outer: ByteSource>: ByteSource {
    var outer: TarWalker<Outer>

    var label: String { outer.label }

    mutating func read(into buffer: UnsafeMutableRawBufferPointer) throws -> Int {
        try outer.readData(into: buffer)
    }
}
