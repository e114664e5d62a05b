import Builder
import Foundation
@testable import Harness
import Testing

@Suite("Archive hasher")
struct ArchiveHasherTests {
    static func hash(
        _ bytes: [UInt8], format: ImageFormat = .dockerArchive, chunkSizes: (inout SplitMix64) -> Int = { _ in 1 << 20 },
        seed: UInt64 = 1
    ) throws -> ArchiveHashResult {
        var hasher = ArchiveHasher(label: "test stream", format: format)
        var generator = SplitMix64(state: seed)
        var offset = 0
        while offset < bytes.count {
            let end = min(bytes.count, offset + max(1, chunkSizes(&generator)))
            try bytes[offset..<end].withUnsafeBytes { try hasher.write($0) }
            offset = end
        }
        return try hasher.finish()
    }

    @Test("digests the stream, config, manifest and each layer in manifest order")
    func digestsEverything() throws {
        let built = try TestArchive.basic.build()
        let result = try Self.hash(built.bytes)
        #expect(result.archiveDigest == Digest.of(built.bytes))
        #expect(result.size == UInt64(built.bytes.count))
        #expect(result.configDigest == Digest.of(built.configBytes))
        #expect(result.manifestDigest == Digest.of(built.manifestBytes))
        #expect(result.repoTags == ["hello:latest"])
        #expect(result.layers == [
            LayerResult(index: 1, diffID: built.diffIDs[0], size: UInt64(built.layerTars[0].count), paths: [TestArchive.glibc]),
            LayerResult(index: 2, diffID: built.diffIDs[1], size: UInt64(built.layerTars[1].count), paths: [TestArchive.hello]),
        ])
    }

    @Test("gives the same result fed byte by byte")
    func byteByByte() throws {
        var archive = TestArchive.basic
        archive.extraMember = (String(repeating: "long-member-name-", count: 10) + ".txt", Array("x".utf8))
        let built = try archive.build()
        #expect(try Self.hash(built.bytes, chunkSizes: { _ in 1 }) == Self.hash(built.bytes))
    }

    @Test("gives the same result fed in random chunk sizes", arguments: [UInt64(1), 2, 3, 4, 5])
    func randomChunks(seed: UInt64) throws {
        var archive = TestArchive.basic
        archive.extraMember = (String(repeating: "long-member-name-", count: 10) + ".txt", Array("x".utf8))
        let built = try archive.build()
        let whole = try Self.hash(built.bytes)
        let chunked = try Self.hash(built.bytes, chunkSizes: { Int.random(in: 1...1500, using: &$0) }, seed: seed)
        #expect(chunked == whole)
    }

    @Test("orders layers as the manifest lists them, not as they are stored")
    func manifestOrder() throws {
        var archive = TestArchive.basic
        archive.storageOrder = [1, 0]
        let built = try archive.build()
        let result = try Self.hash(built.bytes)
        #expect(result.layers.map(\.diffID) == built.diffIDs)
        #expect(result.layers.map(\.paths) == [[TestArchive.glibc], [TestArchive.hello]])
    }

    @Test("reads back history paths that need Python's other quote and escapes")
    func historyPathQuoting() throws {
        let paths = ["/nix/store/abc-it's", "/nix/store/def-tab\there", "/nix/store/\u{e9}t\u{e9}", "/nix/store/x-\"both'"]
        #expect(PythonStringList.parse(PythonRepr.list(paths)) == paths)
        #expect(PythonStringList.parse("[]") == [])
        #expect(PythonStringList.parse("['unterminated]") == nil)
    }

    @Test("reports a stream cut inside a layer as truncated")
    func truncatedInData() throws {
        let built = try TestArchive.basic.build()
        #expect(throws: ArchiveError.truncated("test stream")) {
            try Self.hash(Array(built.bytes.prefix(512 + 700)))
        }
    }

    @Test("reports a stream cut inside a header block as truncated")
    func truncatedInHeader() throws {
        let built = try TestArchive.basic.build()
        #expect(throws: ArchiveError.truncated("test stream")) {
            try Self.hash(Array(built.bytes.prefix(300)))
        }
    }

    @Test("reports a damaged header at once and on every later write")
    func corruptHeader() throws {
        var bytes = try TestArchive.basic.build().bytes
        bytes[10] ^= 0xFF
        var hasher = ArchiveHasher(label: "test stream")
        let expected = ArchiveError.corrupt("test stream", "a tar header has a bad checksum")
        #expect(throws: expected) { try bytes.withUnsafeBytes { try hasher.write($0) } }
        #expect(throws: expected) { try hasher.write([0]) }
        #expect(throws: expected) { try hasher.finish() }
        #expect(expected.description == "test stream is corrupt: a tar header has a bad checksum")
    }

    @Test("names a missing manifest")
    func missingManifest() throws {
        var tar = TarWriter(sink: MemorySink())
        try tar.add(TarHeader(name: "something.txt"), content: Array("hi".utf8))
        try tar.finish()
        #expect(throws: ArchiveError.missingMember("test stream", "manifest.json")) { try Self.hash(tar.sink.bytes) }
    }

    @Test("refuses a gzip-compressed stream with a reason")
    func gzipStream() throws {
        var bytes = [UInt8](repeating: 0, count: 1024)
        bytes[0] = 0x1F
        bytes[1] = 0x8B
        #expect(throws: ArchiveError.corrupt("test stream", "it is gzip-compressed, but a build streams an uncompressed docker-archive")) {
            try Self.hash(bytes)
        }
    }

    @Test("refuses a stream that goes on for more than 1 MiB after the end of the archive")
    func endlessTrailer() throws {
        let built = try TestArchive.basic.build()
        let trailer = [UInt8](repeating: 0, count: Int(TarLayout.trailerLimit))
        // Record padding beyond CPython's is accepted, and hashed.
        #expect(try Self.hash(built.bytes + trailer.prefix(20 * 512)).archiveDigest != Digest.of(built.bytes))
        #expect(throws: ArchiveError.endless("test stream")) { try Self.hash(built.bytes + trailer, chunkSizes: { _ in 4096 }) }
    }
}
