@testable import Builder
import Foundation
import Testing

/// zstd decompression (pushed and pulled) on the system libzstd, and the layer blob source that
/// decompresses what a media type says: round trips, any split of the input, and damage named.
@Suite("zstd decompression")
struct ZstdDecompressionTests {
    /// Compressible but not trivial: text lines with a counter, 300 KiB, past every buffer.
    static let text: [UInt8] = Array((0..<12_000).map { "line \($0) of a layer that is not all zeros\n" }.joined().utf8.prefix(300 << 10))

    static func zstd(_ bytes: [UInt8]) throws -> [UInt8] {
        var sink = try CompressingSink(.zstd, inner: MemorySink(), label: "test", workers: 2)
        try sink.write(bytes)
        try sink.finish()
        return sink.inner.bytes
    }

    /// Pushed through `UnzstdSink` in chunks of `chunk` bytes.
    static func push(_ bytes: [UInt8], chunk: Int) throws -> [UInt8] {
        var sink = try UnzstdSink(inner: MemorySink(), label: "blob.zst")
        var offset = 0
        while offset < bytes.count {
            let end = min(bytes.count, offset + chunk)
            try sink.write(Array(bytes[offset..<end]))
            offset = end
        }
        try sink.finish()
        return sink.inner.bytes
    }

    /// Pulled through `UnzstdSource`, reading `chunk` bytes at a time.
    static func pull(_ bytes: [UInt8], chunk: Int) throws -> [UInt8] {
        var source = try UnzstdSource(MemorySource(bytes, label: "blob.zst"))
        var out: [UInt8] = []
        var buffer = [UInt8](repeating: 0, count: chunk)
        while true {
            let got = try buffer.withUnsafeMutableBytes { try source.read(into: $0) }
            if got == 0 { return out }
            out += buffer[0..<got]
        }
    }

    @Test("decompresses what the layer compressor wrote, pushed or pulled, whatever the chunking", arguments: [1, 7, 4096, 1 << 20])
    func roundTrip(_ chunk: Int) throws {
        let compressed = try Self.zstd(Self.text)
        #expect(try Self.push(compressed, chunk: chunk) == Self.text)
        #expect(try Self.pull(compressed, chunk: chunk) == Self.text)
    }

    @Test("reads concatenated frames as one stream, as zstd(1) does")
    func concatenated() throws {
        let first = try Self.zstd(Array("first\n".utf8)), second = try Self.zstd(Array("second\n".utf8))
        #expect(try Self.push(first + second, chunk: 3) == Array("first\nsecond\n".utf8))
        #expect(try Self.pull(first + second, chunk: 5) == Array("first\nsecond\n".utf8))
    }

    @Test("a stream cut inside a frame, or empty, is truncated and named", arguments: [0, 1, 100, -4])
    func truncated(_ keep: Int) throws {
        let compressed = try Self.zstd(Self.text)
        let cut = Array(compressed.prefix(keep < 0 ? compressed.count + keep : keep))
        #expect(throws: ArchiveError.truncated("blob.zst")) { try Self.push(cut, chunk: 4096) }
        #expect(throws: ArchiveError.truncated("blob.zst")) { try Self.pull(cut, chunk: 4096) }
    }

    @Test("damaged data is an error naming the input, never a crash")
    func damaged() throws {
        var compressed = try Self.zstd(Self.text)
        compressed[compressed.count / 2] ^= 0xFF
        compressed[compressed.count - 2] ^= 0xFF
        for attempt in [{ try Self.push(compressed, chunk: 4096) }, { try Self.pull(compressed, chunk: 4096) }] {
            let error = #expect(throws: ArchiveError.self) { try attempt() }
            #expect(error.map { "\($0)" }?.hasPrefix("blob.zst is corrupt: zstd data is damaged") == true, "\(String(describing: error))")
        }
        #expect(throws: ArchiveError.self) { try Self.push(Array(compressed.prefix(20)) + Array("not zstd at all".utf8), chunk: 4096) }
    }

    @Test("refuses a pre-1.0 legacy frame and a crafted frame however the input is split (FuzzZstd findings), and reads past a skippable frame")
    func legacyAndSkippable() throws {
        // zstd v0.7's magic number, then what FuzzZstd mutated: libzstd decoded it whole but not byte by byte.
        let legacy = Array(Data(base64Encoded: "J7Uv/YEAAARjewEAAAA=") ?? Data())
        for chunk in [1, 4096] {
            #expect(throws: ArchiveError.corrupt("blob.zst", "zstd data is damaged (a frame starts with 27b52ffd, not zstd's magic number)")) {
                try Self.push(legacy, chunk: chunk)
            }
            #expect(throws: ArchiveError.corrupt("blob.zst", "zstd data is damaged (a frame starts with 27b52ffd, not zstd's magic number)")) {
                try Self.pull(legacy, chunk: chunk)
            }
        }
        let skippable: [UInt8] = [0x5A, 0x2A, 0x4D, 0x18, 3, 0, 0, 0, 0x61, 0x62, 0x63] + (try Self.zstd(Array("after\n".utf8)))
        #expect(try Self.push(skippable, chunk: 1) == Array("after\n".utf8))
        #expect(try Self.pull(skippable, chunk: 3) == Array("after\n".utf8))
        // Crafted frames whose content size disagrees with their one empty block: libzstd's
        // single-pass decoding and its streaming judged them differently (FuzzZstd, both ways
        // round). Every frame is streamed now, so every chunking gives the same outcome.
        for crafted in ["KLUv/VAqTRgDAAAAMP97", "KLUv/XD//gEAAA=="] {
            let bytes = Array(Data(base64Encoded: crafted) ?? Data())
            var outcomes = Set<String>()
            for chunk in [1, 2, 3, 5, 4096] {
                for decode in [Self.push, Self.pull] {
                    outcomes.insert((try? decode(bytes, chunk)).map { "\($0)" } ?? "error")
                }
            }
            #expect(outcomes.count == 1, "\(crafted): \(outcomes)")
        }
        // A next frame begun but cut short is truncated, not a clean end.
        let begun = try Self.zstd(Array("one\n".utf8)) + [0x28, 0xB5]
        #expect(throws: ArchiveError.truncated("blob.zst")) { try Self.push(begun, chunk: 1) }
        #expect(throws: ArchiveError.truncated("blob.zst")) { try Self.pull(begun, chunk: 2) }
    }

    @Test("refuses a frame whose window is larger than 128 MiB instead of allocating it")
    func hugeWindow() throws {
        // Magic, a frame header with no content size and a window of 2^30, then one last raw block of one byte.
        let frame: [UInt8] = [0x28, 0xB5, 0x2F, 0xFD, 0x00, 20 << 3, 0x09, 0x00, 0x00, 0x41]
        let error = #expect(throws: ArchiveError.self) { try Self.pull(frame, chunk: 64) }
        #expect(error.map { "\($0)" }?.hasPrefix("blob.zst is corrupt: zstd data is damaged") == true, "\(String(describing: error))")
        // The same frame with a 1 KiB window decodes.
        #expect(try Self.pull([0x28, 0xB5, 0x2F, 0xFD, 0x00, 0x00, 0x09, 0x00, 0x00, 0x41], chunk: 64) == [0x41])
    }

    @Test("a layer blob source decompresses by media type and refuses bytes that are not what it says")
    func layerBlobSource() throws {
        let tar = Self.text
        for compression in LayerCompression.allCases {
            var sink = try CompressingSink(compression, inner: MemorySink(), label: "test")
            try sink.write(tar)
            try sink.finish()
            var source = try LayerBlobSource(MemorySource(sink.inner.bytes, label: "layer"), compression: compression)
            #expect(try source.readAll(limit: 1 << 20) == tar, "\(compression)")
        }
        #expect(throws: ArchiveError.corrupt("layer", "its media type says gzip, but it does not start with gzip's magic bytes")) {
            try LayerBlobSource(MemorySource(tar, label: "layer"), compression: .gzip)
        }
        #expect(throws: ArchiveError.corrupt("layer", "its media type says zstd, but it starts as gzip does")) {
            try LayerBlobSource(MemorySource(try TestGzip.compress(tar), label: "layer"), compression: .zstd)
        }
        #expect(throws: ArchiveError.corrupt("layer", "its media type says uncompressed, but it starts as gzip does")) {
            try LayerBlobSource(MemorySource(try TestGzip.compress(tar), label: "layer"), compression: .none)
        }
        // What is not zstd at all is refused by libzstd on the first read.
        var notZstd = try LayerBlobSource(MemorySource(tar, label: "layer"), compression: .zstd)
        let error = #expect(throws: ArchiveError.self) { try notZstd.readAll(limit: 1 << 20) }
        #expect(error.map { "\($0)" }?.hasPrefix("layer is corrupt: zstd data is damaged") == true, "\(String(describing: error))")
    }
}

/// gzip through the layer compressor, for inputs that must be gzip and not zstd.
enum TestGzip {
    static func compress(_ bytes: [UInt8]) throws -> [UInt8] {
        var sink = try CompressingSink(.gzip, inner: MemorySink(), label: "test")
        try sink.write(bytes)
        try sink.finish()
        return sink.inner.bytes
    }
}
