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

/// The second pass of a layer into the archive: bytes land in the hasher's chunks (a file is
/// read straight into one), and each chunk is written to `inner` whole, then hashed on the
/// hasher's thread while the next one fills. Every byte is copied once (by the read) and
/// written in chunk-sized calls, where a tee copies it into the hasher and again into the
/// output's buffer.
///
/// `inner` sees the bytes only chunk by chunk: `flush` or `finish` hands over the rest.
public struct ChunkedTeeSink<Inner: ByteSink>: ByteSink {
    public private(set) var inner: Inner
    private let hashing: PipelinedHasher

    /// `hashing` may be one reused across streams; it must not be in the middle of another.
    public init(_ inner: Inner, hashing: PipelinedHasher = PipelinedHasher()) {
        self.inner = inner
        self.hashing = hashing
    }

    public mutating func write(_ bytes: UnsafeRawBufferPointer) throws {
        let hashing = self.hashing
        try hashing.write(bytes) { try inner.write($0) }
    }

    public mutating func fill(
        atMost count: Int, scratch: UnsafeMutableRawBufferPointer, _ body: (UnsafeMutableRawBufferPointer) throws -> Int
    ) throws -> Int {
        let hashing = self.hashing
        return try hashing.fill(atMost: count, forward: { try inner.write($0) }, body)
    }

    public mutating func flush() throws {
        let hashing = self.hashing
        try hashing.forwardPending { try inner.write($0) }
        try inner.flush()
    }

    /// Hands `inner` what it has not seen yet and ends the stream: the digest and size of
    /// everything written. After an error, `discard` readies the hasher for another stream.
    public mutating func finish() throws -> (digest: Digest, size: UInt64) {
        let hashing = self.hashing
        try hashing.forwardPending { try inner.write($0) }
        return hashing.finalize()
    }

    /// Ends the stream without a result (after an error).
    public func discard() { hashing.discard() }
}
