@testable import Builder
import Foundation
import Testing

/// The hashing pipeline both passes of a layer go through, and the tee that writes the second
/// pass to the archive chunk by chunk.
@Suite("Pipelined hasher")
struct PipelinedHasherTests {
    /// Seeded noise, so a failure can be replayed.
    static func noise(_ count: Int, seed: UInt64 = 0x9E37_79B9_7F4A_7C15) -> [UInt8] {
        var state = seed
        return (0..<count).map { _ in
            state = state &* 6_364_136_223_846_793_005 &+ 1_442_695_040_888_963_407
            return UInt8(truncatingIfNeeded: state >> 33)
        }
    }

    /// Feeds `bytes` in pieces of the given sizes (cycled), alternating `write` and `fill`.
    static func feed<S: ByteSink>(_ bytes: [UInt8], into sink: inout S, pieces: [Int]) throws {
        let scratch = UnsafeMutableRawBufferPointer.allocate(byteCount: 64, alignment: 8)
        defer { scratch.deallocate() }
        var offset = 0
        var turn = 0
        while offset < bytes.count {
            let size = min(pieces[turn % pieces.count], bytes.count - offset)
            if turn % 2 == 0 {
                try bytes[offset..<(offset + size)].withUnsafeBytes { try sink.write($0) }
                offset += size
            } else {
                let start = offset
                let got = try sink.fill(atMost: size, scratch: scratch) { region in
                    let take = min(region.count, size)
                    bytes[start..<(start + take)].withUnsafeBytes { region.copyMemory(from: $0) }
                    return take
                }
                offset += got
            }
            turn += 1
        }
    }

    @Test("gives the digest of the bytes however they are split", arguments: [[1], [7], [3, 11, 1, 64], [100], [13, 2, 27]])
    func splitIndependence(pieces: [Int]) throws {
        let bytes = Self.noise(1000)
        // Chunks of 10 bytes in a ring of 3, so pieces straddle chunks and the ring wraps.
        var hasher = PipelinedHasher(chunkSize: 10, chunks: 3)
        try Self.feed(bytes, into: &hasher, pieces: pieces)
        let (digest, size) = hasher.finalize()
        #expect(digest == Digest.of(bytes))
        #expect(size == 1000)
    }

    @Test("serves one stream after another, each from empty")
    func streamsInTurn() throws {
        var hasher = PipelinedHasher(chunkSize: 16, chunks: 2)
        let first = Self.noise(77, seed: 1)
        let second = Self.noise(16, seed: 2)
        try first.withUnsafeBytes { try hasher.write($0) }
        #expect(hasher.finalize() == (Digest.of(first), 77))
        #expect(hasher.finalize() == (Digest.of([UInt8]()), 0))
        try second.withUnsafeBytes { try hasher.write($0) }
        #expect(hasher.finalize() == (Digest.of(second), 16))
    }

    @Test("an abandoned stream does not leak into the next")
    func discardedStream() throws {
        var hasher = PipelinedHasher(chunkSize: 8, chunks: 2)
        try Self.noise(21).withUnsafeBytes { try hasher.write($0) }
        hasher.discard()
        let next = Self.noise(5, seed: 3)
        try next.withUnsafeBytes { try hasher.write($0) }
        #expect(hasher.finalize() == (Digest.of(next), 5))
    }

    /// Runs `body` on a fresh hasher that is dropped afterwards, and returns the probe on its
    /// thread.
    static func probe(after body: (PipelinedHasher) throws -> Void) throws -> ThreadProbe {
        let hasher = PipelinedHasher(chunkSize: 16, chunks: 2)
        try body(hasher)
        #expect(hasher.threadProbe.isRunning)
        return hasher.threadProbe
    }

    @Test("ends its thread when dropped in the middle of a stream")
    func threadEnds() throws {
        let probe = try Self.probe { hasher in
            var hasher = hasher
            try Self.noise(30).withUnsafeBytes { try hasher.write($0) }
        }
        #expect(!probe.isRunning)
    }

    @Test("the tee forwards every byte once, in order, and hashes them", arguments: [[1], [5, 9], [64]])
    func teeForwards(pieces: [Int]) throws {
        let bytes = Self.noise(500, seed: 4)
        var tee = ChunkedTeeSink(MemorySink(), hashing: PipelinedHasher(chunkSize: 32, chunks: 3))
        try Self.feed(Array(bytes[0..<200]), into: &tee, pieces: pieces)
        try tee.flush()
        // A flush hands over what is held; what follows is not handed over twice.
        #expect(tee.inner.bytes == Array(bytes[0..<200]))
        try Self.feed(Array(bytes[200...]), into: &tee, pieces: pieces)
        let (digest, size) = try tee.finish()
        #expect(tee.inner.bytes == bytes)
        #expect(digest == Digest.of(bytes))
        #expect(size == 500)
    }

    @Test("the tee hands its output whole chunks, not each write")
    func teeChunks() throws {
        var tee = ChunkedTeeSink(CountingSink(), hashing: PipelinedHasher(chunkSize: 100, chunks: 2))
        for _ in 0..<50 { try [UInt8](repeating: 7, count: 10).withUnsafeBytes { try tee.write($0) } }
        _ = try tee.finish()
        #expect(tee.inner.writes == [100, 100, 100, 100, 100])
    }

    @Test("a failing output stops the tee with its error, and the hasher serves the next stream")
    func teeError() throws {
        let hasher = PipelinedHasher(chunkSize: 16, chunks: 2)
        var tee = ChunkedTeeSink(FailingSink(failOnWrite: 2), hashing: hasher)
        #expect(throws: IOError.write("the failing sink", errno: 28)) {
            try Self.feed(Self.noise(100), into: &tee, pieces: [10])
        }
        tee.discard()
        var next = ChunkedTeeSink(MemorySink(), hashing: hasher)
        let bytes = Self.noise(40, seed: 5)
        try bytes.withUnsafeBytes { try next.write($0) }
        #expect(try next.finish() == (Digest.of(bytes), 40))
        #expect(next.inner.bytes == bytes)
    }

    @Test("a failing output does not keep the hashing thread alive")
    func teeErrorThreadEnds() throws {
        let probe = try Self.probe { hasher in
            var tee = ChunkedTeeSink(FailingSink(failOnWrite: 1), hashing: hasher)
            #expect(throws: IOError.self) { try Self.feed(Self.noise(100), into: &tee, pieces: [10]) }
        }
        #expect(!probe.isRunning)
    }

    @Test("a file copied into a tar member is read straight into the hasher's chunks")
    func fileIntoChunks() throws {
        let bytes = Self.noise(3000, seed: 6)
        let root = try FixtureStore.temporaryDirectory("hasher-file")
        defer { FixtureStore.remove(root) }
        let path = root + "/f"
        #expect(FileManager.default.createFile(atPath: path, contents: Data(bytes)))
        let file = try ReadableFile(path: Array(path.utf8))
        let hasher = PipelinedHasher(chunkSize: 256, chunks: 2)
        var tar = TarWriter(sink: hasher)
        try tar.writeHeader(TarHeader(name: "f", size: 3000, mtime: 1))
        let scratch = CopyBuffer(size: 64)
        try tar.writeData(from: file, size: 3000, scratch: scratch.bytes)
        try tar.finish()
        var expected = TarWriter(sink: MemorySink())
        try expected.add(TarHeader(name: "f", mtime: 1), content: bytes)
        try expected.finish()
        #expect(hasher.finalize() == (Digest.of(expected.sink.bytes), UInt64(expected.sink.bytes.count)))
    }

    @Test("a file longer than its member fails naming the file")
    func fileGrew() throws {
        let root = try FixtureStore.temporaryDirectory("hasher-grown")
        defer { FixtureStore.remove(root) }
        let path = root + "/grown"
        #expect(FileManager.default.createFile(atPath: path, contents: Data(Self.noise(100))))
        let file = try ReadableFile(path: Array(path.utf8))
        var tar = TarWriter(sink: PipelinedHasher(chunkSize: 64, chunks: 2))
        try tar.writeHeader(TarHeader(name: "grown", size: 99, mtime: 1))
        #expect(throws: IOError.shortRead(path, expected: 99, got: 100)) {
            try tar.writeData(from: file, size: 99, scratch: CopyBuffer(size: 64).bytes)
        }
    }
}

/// Records the size of each write.
struct CountingSink: ByteSink {
    var writes: [Int] = []
    mutating func write(_ bytes: UnsafeRawBufferPointer) throws { writes.append(bytes.count) }
    mutating func flush() throws {}
}

/// Fails its n-th write as a full disk would.
struct FailingSink: ByteSink {
    let failOnWrite: Int
    var writes = 0
    mutating func write(_ bytes: UnsafeRawBufferPointer) throws {
        writes += 1
        if writes == failOnWrite { throw IOError.write("the failing sink", errno: 28) }
    }
    mutating func flush() throws {}
}
