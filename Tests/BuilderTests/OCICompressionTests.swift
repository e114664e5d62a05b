import Builder
import Foundation
import Testing

/// Deterministic layer compression: the compressed bytes depend on the input alone, not on how
/// the writes were chunked, how many threads zstd uses, or the host.
@Suite("OCI compression")
struct OCICompressionTests {
    /// 9 MiB of text-like, compressible bytes: several of zstd's 1 MiB jobs.
    static let input: [UInt8] = {
        var bytes: [UInt8] = []
        var state: UInt32 = 12345
        while bytes.count < 9 << 20 {
            state = state &* 1_103_515_245 &+ 12345
            bytes += Array("line \(state >> 20) of a layer, \(state % 977)\n".utf8)
        }
        return bytes
    }()

    static func compress(_ input: [UInt8], _ compression: LayerCompression, chunk: Int, workers: Int = 1) throws -> [UInt8] {
        var sink = try CompressingSink(compression, inner: MemorySink(), label: "test", workers: workers)
        var offset = 0
        while offset < input.count {
            let end = min(offset + chunk, input.count)
            try input[offset..<end].withUnsafeBytes { try sink.write($0) }
            offset = end
        }
        try sink.finish()
        return sink.inner.bytes
    }

    /// Decompresses with the command-line tool, an independent reader.
    static func decompress(_ bytes: [UInt8], tool: String) throws -> [UInt8] {
        let directory = try FixtureStore.temporaryDirectory("compression")
        defer { FixtureStore.remove(directory) }
        let file = directory + "/blob"
        try Data(bytes).write(to: URL(fileURLWithPath: file))
        let process = Process()
        process.executableURL = URL(fileURLWithPath: try Tools.locate(tool))
        process.arguments = ["-d", "-c", file]
        let out = Pipe()
        process.standardOutput = out
        try process.run()
        let data = out.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        #expect(process.terminationStatus == 0, "\(tool) -d failed")
        return Array(data)
    }

    @Test("gzip has a fixed header: no name, mtime 0, OS byte 255")
    func gzipHeader() throws {
        let bytes = try Self.compress(Array("hello\n".utf8), .gzip, chunk: 1)
        #expect(Array(bytes.prefix(10)) == [0x1F, 0x8B, 0x08, 0x00, 0, 0, 0, 0, 0x00, 0xFF])
    }

    @Test("gzip bytes do not depend on how the input was chunked, and gunzip restores them", arguments: [1, 4096, 1 << 20])
    func gzipChunking(_ chunk: Int) throws {
        let input = Array(Self.input.prefix(chunk == 1 ? 200_000 : Self.input.count))
        let whole = try Self.compress(input, .gzip, chunk: input.count)
        #expect(try Self.compress(input, .gzip, chunk: chunk) == whole)
        #expect(try Self.decompress(whole, tool: "gzip") == input)
    }

    @Test("gzip bytes are the same with 1, 2 or 4 threads, at and around the block size", arguments: [0, 1, (1 << 20) - 1, 1 << 20, (1 << 20) + 1, 3 << 20])
    func gzipWorkers(_ count: Int) throws {
        let input = Array(Self.input.prefix(count))
        let reference = try Self.compress(input, .gzip, chunk: 65536, workers: 1)
        for workers in [2, 4] {
            #expect(try Self.compress(input, .gzip, chunk: 100_000, workers: workers) == reference, "\(workers) workers")
        }
        #expect(try Self.decompress(reference, tool: "gzip") == input)
    }

    @Test("zstd bytes are the same with 1, 2 or 4 workers and any chunking, and zstd -d restores them")
    func zstdWorkers() throws {
        let reference = try Self.compress(Self.input, .zstd, chunk: 1 << 20, workers: 1)
        #expect(Array(reference.prefix(4)) == [0x28, 0xB5, 0x2F, 0xFD])
        for (workers, chunk) in [(2, 65536), (4, 1 << 20), (3, 777_777)] {
            #expect(try Self.compress(Self.input, .zstd, chunk: chunk, workers: workers) == reference, "\(workers) workers, chunks of \(chunk)")
        }
        #expect(try Self.decompress(reference, tool: "zstd") == Self.input)
    }

    @Test("a small stream is framed the same as when it comes in one write or many")
    func zstdSmallStream() throws {
        let small = Array("a tiny layer".utf8)
        let one = try Self.compress(small, .zstd, chunk: small.count)
        #expect(try Self.compress(small, .zstd, chunk: 1, workers: 2) == one)
        #expect(try Self.decompress(one, tool: "zstd") == small)
    }

    @Test("none passes bytes through untouched")
    func none() throws {
        #expect(try Self.compress(Array(Self.input.prefix(5000)), .none, chunk: 333) == Array(Self.input.prefix(5000)))
    }

    @Test("the linked library versions are reported")
    func versions() {
        let versions = CompressorVersions.linked
        #expect(versions.zlib.first?.isNumber == true && versions.zstd.first?.isNumber == true)
        #expect(versions.description == "zlib \(versions.zlib), zstd \(versions.zstd)")
    }

    @Test("media types name the compression")
    func mediaTypes() {
        #expect(LayerCompression.none.layerMediaType == "application/vnd.oci.image.layer.v1.tar")
        #expect(LayerCompression.gzip.layerMediaType == "application/vnd.oci.image.layer.v1.tar+gzip")
        #expect(LayerCompression.zstd.layerMediaType == "application/vnd.oci.image.layer.v1.tar+zstd")
    }
}
