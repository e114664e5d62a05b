import Crypto

/// Counts and hashes every byte written, discarding them: the first pass of a layer.
public struct HashingSink: ByteSink {
    private var hasher = SHA256()
    public private(set) var count: UInt64 = 0

    public init() {}

    public mutating func write(_ bytes: UnsafeRawBufferPointer) throws {
        hasher.update(bufferPointer: bytes)
        count += UInt64(bytes.count)
    }

    public mutating func flush() throws {}

    public func finalize() -> (digest: Digest, size: UInt64) {
        (Digest(bytes: hasher.finalize()), count)
    }
}

/// Forwards bytes to another sink while hashing them (on another thread): the second pass of
/// a layer, which must reproduce the first pass's digest.
public struct TeeHashingSink<Inner: ByteSink>: ByteSink {
    public var inner: Inner
    public private(set) var hashing = PipelinedHasher()

    public init(_ inner: Inner) { self.inner = inner }

    public mutating func write(_ bytes: UnsafeRawBufferPointer) throws {
        try hashing.write(bytes)
        try inner.write(bytes)
    }

    public mutating func flush() throws { try inner.flush() }
}
