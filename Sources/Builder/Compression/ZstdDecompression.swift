import CZstd

/// Streaming zstd decompression on the system libzstd, for reading zstd-compressed OCI layers:
/// pushed (`UnzstdSink`) or pulled (`UnzstdSource`, what a tar reader needs), over one state.
///
/// Memory is bounded whatever the input says: zstd's own buffers, a 64 KiB output buffer, and a
/// window of at most 2^`windowLogMax` bytes; a frame that asks for a larger window is refused
/// instead of allocated. Concatenated frames (and skippable frames) are read as zstd(1) reads
/// them; anything else after a frame, damage or a stream that stops inside a frame is an error
/// naming the input, never a crash. Only zstd frames are accepted, not the pre-1.0 "legacy"
/// formats libzstd can also decode: no OCI layer is stored that way, and libzstd decodes them
/// differently depending on how the input is split (found by FuzzZstd).
final class ZstdDecompressor {
    /// 128 MiB, libzstd's own default limit: what `zstd --long` at most writes without
    /// `--memory`, far above the 2 MiB window of level 3.
    static let windowLogMax: Int32 = 27

    private let context: OpaquePointer
    let label: String
    /// Whether the last call ended a frame exactly; a stream may only stop there.
    private(set) var atFrameEnd = false
    /// Whether any frame ended; an empty stream holds no frame and is truncated.
    private(set) var sawFrame = false
    /// Whether the next byte starts a frame, whose header is gathered before zstd sees it.
    private var expectingFrame = true
    /// The next frame's header, as far as it has arrived.
    private var header: [UInt8] = []

    /// The stream may end here: right after a frame, with nothing of a next one begun.
    var isAtCleanEnd: Bool { atFrameEnd && header.isEmpty }

    init(label: String) throws {
        self.label = label
        guard let context = ZSTD_createDCtx() else {
            throw CompressionError.cannotStart(label, library: "zstd", reason: "out of memory")
        }
        self.context = context
        let rc = ZSTD_DCtx_setParameter(context, ZSTD_d_windowLogMax, Self.windowLogMax)
        if ZSTD_isError(rc) != 0 {
            // deinit frees the context.
            throw CompressionError.cannotStart(label, library: "zstd", reason: String(cString: ZSTD_getErrorName(rc)))
        }
    }

    deinit { ZSTD_freeDCtx(context) }

    /// One step: consumes from `input` and fills `output` as far as zstd can.
    ///
    /// Each frame's header is gathered and fed to zstd on its own, whatever the chunks the input
    /// comes in: libzstd decodes a frame in one pass when the header arrives together with the
    /// whole frame, and streams it otherwise, and on crafted frames the two disagree (FuzzZstd
    /// found both ways round). Fed alone, the header never comes with the frame, so every frame
    /// is streamed and the outcome does not depend on the chunks.
    func step(_ input: inout ZSTD_inBuffer, _ output: inout ZSTD_outBuffer) throws {
        if expectingFrame {
            while try header.count < headerLength(), input.pos < input.size, let base = input.src {
                header.append(base.load(fromByteOffset: input.pos, as: UInt8.self))
                input.pos += 1
            }
            guard try header.count == headerLength() else { return }
            try header.withUnsafeBytes { raw in
                var alone = ZSTD_inBuffer(src: raw.baseAddress, size: raw.count, pos: 0)
                try decompress(&alone, &output)
            }
            header = []
            expectingFrame = false
        }
        try decompress(&input, &output)
    }

    /// How long the header being gathered is, as far as its bytes so far tell (RFC 8878 3.1.1):
    /// the magic number first (a zstd frame or a skippable frame, nothing else), then the
    /// frame header descriptor, which says which optional fields follow.
    private func headerLength() throws -> Int {
        guard header.count >= 4 else { return 4 }
        let magic = Array(header[0..<4])
        if magic[0] & 0xF0 == 0x50 && Array(magic[1...]) == [0x2A, 0x4D, 0x18] { return 8 }
        guard magic == [0x28, 0xB5, 0x2F, 0xFD] else {
            throw ArchiveError.corrupt(label, "zstd data is damaged (a frame starts with \(Hex.encode(magic)), not zstd's magic number)")
        }
        guard header.count >= 5 else { return 5 }
        let descriptor = header[4]
        let singleSegment = descriptor & 0x20 != 0
        let contentSize = [singleSegment ? 1 : 0, 2, 4, 8][Int(descriptor >> 6)]
        let dictionaryID = [0, 1, 2, 4][Int(descriptor & 3)]
        return 5 + (singleSegment ? 0 : 1) + dictionaryID + contentSize
    }

    private func decompress(_ input: inout ZSTD_inBuffer, _ output: inout ZSTD_outBuffer) throws {
        let rc = ZSTD_decompressStream(context, &output, &input)
        if ZSTD_isError(rc) != 0 {
            throw ArchiveError.corrupt(label, "zstd data is damaged (\(String(cString: ZSTD_getErrorName(rc))))")
        }
        // 0 means a frame was fully decoded and flushed; any other value, more is expected.
        atFrameEnd = rc == 0
        if atFrameEnd {
            sawFrame = true
            expectingFrame = true
        }
    }

    /// Throws unless the stream stopped at the end of a frame.
    func finish() throws {
        guard isAtCleanEnd, sawFrame else { throw ArchiveError.truncated(label) }
    }
}

/// Decompresses zstd bytes written to it and forwards the result; `finish()` checks that the
/// stream ended at a frame's end.
public struct UnzstdSink<Inner: ByteSink>: ByteSink {
    public var inner: Inner
    private let state: ZstdDecompressor
    private let output: OutputBuffer

    public init(inner: Inner, label: String) throws {
        self.inner = inner
        state = try ZstdDecompressor(label: label)
        output = OutputBuffer()
    }

    public mutating func write(_ bytes: UnsafeRawBufferPointer) throws {
        guard bytes.count > 0 else { return }
        var input = ZSTD_inBuffer(src: bytes.baseAddress, size: bytes.count, pos: 0)
        while true {
            var target = ZSTD_outBuffer(dst: output.bytes.baseAddress, size: output.bytes.count, pos: 0)
            let consumedBefore = input.pos
            try state.step(&input, &target)
            if target.pos > 0 { try inner.write(UnsafeRawBufferPointer(rebasing: output.bytes[0..<target.pos])) }
            // A full output buffer may leave more to flush even with all input consumed (unless
            // the frame ended: another call with no input would start waiting for a next frame).
            if input.pos == input.size && (target.pos < target.size || state.isAtCleanEnd) { return }
            if target.pos == 0 && input.pos == consumedBefore {
                throw ArchiveError.corrupt(state.label, "zstd data is damaged (no progress)")
            }
        }
    }

    public mutating func flush() throws { try inner.flush() }

    public func finish() throws { try state.finish() }
}

/// Pull-style zstd decompression of another source, for a tar reader walking a layer blob.
public struct UnzstdSource<Inner: ByteSource>: ByteSource {
    public var inner: Inner
    private let puller: ZstdPuller

    public init(_ inner: Inner) throws {
        self.inner = inner
        puller = try ZstdPuller(label: inner.label)
    }

    public var label: String { inner.label }

    public mutating func read(into buffer: UnsafeMutableRawBufferPointer) throws -> Int {
        try puller.read(into: buffer) { raw in try self.inner.read(into: raw) }
    }
}

/// The input side of a pulled zstd stream: a buffer refilled from the source as zstd consumes it.
final class ZstdPuller {
    private let state: ZstdDecompressor
    private let input = OutputBuffer()
    private var start = 0
    private var end = 0
    private var inputEnded = false

    init(label: String) throws {
        state = try ZstdDecompressor(label: label)
    }

    func read(into buffer: UnsafeMutableRawBufferPointer, refill source: (UnsafeMutableRawBufferPointer) throws -> Int) throws -> Int {
        guard buffer.count > 0 else { return 0 }
        while true {
            if start == end && !inputEnded {
                let got = try source(input.bytes)
                start = 0
                end = got
                if got == 0 { inputEnded = true }
            }
            // At a frame's end with no input left there is nothing to flush; another call would
            // only start waiting for a next frame.
            if start == end && inputEnded && state.isAtCleanEnd { return 0 }
            var source = ZSTD_inBuffer(src: input.bytes.baseAddress.map { UnsafeRawPointer($0 + start) }, size: end - start, pos: 0)
            var target = ZSTD_outBuffer(dst: buffer.baseAddress, size: buffer.count, pos: 0)
            try state.step(&source, &target)
            start += source.pos
            if target.pos > 0 { return target.pos }
            if start == end && inputEnded {
                // Nothing more will come: the stream must have stopped at a frame's end.
                try state.finish()
                return 0
            }
            if source.pos == 0 && start < end {
                throw ArchiveError.corrupt(state.label, "zstd data is damaged (no progress)")
            }
        }
    }
}

/// A fixed 64 KiB buffer, freed with its owner.
final class OutputBuffer {
    let bytes = UnsafeMutableRawBufferPointer.allocate(byteCount: 1 << 16, alignment: 16)
    deinit { bytes.deallocate() }
}
