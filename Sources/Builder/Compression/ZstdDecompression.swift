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
    /// Whether the next byte starts a frame, whose magic number is checked before zstd sees it.
    private var expectingFrame = true
    /// The next frame's magic number, as far as it has arrived.
    private var magic: [UInt8] = []

    /// The stream may end here: right after a frame, with nothing of a next one begun.
    var isAtCleanEnd: Bool { atFrameEnd && magic.isEmpty }

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
    func step(_ input: inout ZSTD_inBuffer, _ output: inout ZSTD_outBuffer) throws {
        if expectingFrame, magic.isEmpty, input.size - input.pos >= 4, let base = input.src {
            // The whole magic number is here: checked in place, so zstd sees the frame's start
            // together with what follows. (Fed apart, libzstd's single-pass shortcut reads a
            // crafted frame differently from how it streams it: a FuzzZstd finding.)
            let bytes = (0..<4).map { base.load(fromByteOffset: input.pos + $0, as: UInt8.self) }
            guard Self.isFrameMagic(bytes) else {
                throw ArchiveError.corrupt(label, "zstd data is damaged (a frame starts with \(Hex.encode(bytes)), not zstd's magic number)")
            }
            expectingFrame = false
        } else if expectingFrame {
            // The magic number arrives in pieces: gathered, checked, then fed on its own.
            while magic.count < 4, input.pos < input.size, let base = input.src {
                magic.append(base.load(fromByteOffset: input.pos, as: UInt8.self))
                input.pos += 1
            }
            guard magic.count == 4 else { return }
            guard Self.isFrameMagic(magic) else {
                throw ArchiveError.corrupt(label, "zstd data is damaged (a frame starts with \(Hex.encode(magic)), not zstd's magic number)")
            }
            try magic.withUnsafeBytes { raw in
                var header = ZSTD_inBuffer(src: raw.baseAddress, size: raw.count, pos: 0)
                try decompress(&header, &output)
            }
            magic = []
            expectingFrame = false
        }
        try decompress(&input, &output)
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

    /// A zstd frame (0xFD2FB528) or a skippable frame (0x184D2A50 to 0x184D2A5F), little-endian.
    static func isFrameMagic(_ bytes: [UInt8]) -> Bool {
        bytes == [0x28, 0xB5, 0x2F, 0xFD] || (bytes[0] & 0xF0 == 0x50 && Array(bytes[1...]) == [0x2A, 0x4D, 0x18])
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
