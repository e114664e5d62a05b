import Builder

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
/// walked while it is read out of the archive. The outer reader is moved in and handed back
/// afterwards (the same pattern as `TarMemberDataSink`).
struct MemberDataSource<Outer: ByteSource>: ByteSource {
    var outer: TarReader<Outer>

    var label: String { outer.label }

    mutating func read(into buffer: UnsafeMutableRawBufferPointer) throws -> Int {
        try outer.read(into: buffer)
    }
}
