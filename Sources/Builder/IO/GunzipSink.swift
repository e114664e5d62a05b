import CZlib

/// Decompresses gzip bytes written to it and forwards the result.
struct GunzipSink<Inner: ByteSink>: ByteSink {
    var inner: Inner
    private let state: InflateState
    private let label: String

    init(inner: Inner, label: String) throws {
        self.inner = inner
        self.label = label
        state = try InflateState(label: label)
    }

    mutating func write(_ bytes: UnsafeRawBufferPointer) throws {
        guard let base = bytes.baseAddress, bytes.count > 0 else { return }
        state.stream.next_in = UnsafeMutablePointer(mutating: base.assumingMemoryBound(to: Bytef.self))
        state.stream.avail_in = uInt(bytes.count)
        while state.stream.avail_in > 0 {
            state.stream.next_out = state.output.baseAddress?.assumingMemoryBound(to: Bytef.self)
            state.stream.avail_out = uInt(state.output.count)
            let rc = inflate(&state.stream, Z_NO_FLUSH)
            let produced = state.output.count - Int(state.stream.avail_out)
            if produced > 0 { try inner.write(UnsafeRawBufferPointer(rebasing: state.output[0..<produced])) }
            if rc == Z_STREAM_END {
                if state.stream.avail_in > 0 { inflateReset(&state.stream) } else { state.ended = true }
            } else if rc != Z_OK && rc != Z_BUF_ERROR {
                throw ArchiveError.corrupt(label, "gzip data is damaged")
            }
        }
    }

    mutating func flush() throws { try inner.flush() }

    func finish() throws {
        guard state.ended else { throw ArchiveError.truncated(label) }
    }
}

final class InflateState {
    var stream = z_stream()
    let output = UnsafeMutableRawBufferPointer.allocate(byteCount: 1 << 16, alignment: 16)
    var ended = false

    init(label: String) throws {
        let rc = inflateInit2_(&stream, 16 + MAX_WBITS, ZLIB_VERSION, Int32(MemoryLayout<z_stream>.size))
        guard rc == Z_OK else { throw ArchiveError.corrupt(label, "zlib could not start (\(rc))") }
    }

    deinit {
        inflateEnd(&stream)
        output.deallocate()
    }
}

/// Pull-style gzip decompression (a reader asks for bytes), over the same zlib stream state
/// that `GunzipSink` pushes through; concatenated members are accepted as gzip(1) does.
final class Inflater {
    private let state: InflateState
    private var input: UnsafeMutableRawBufferPointer
    private var inputEnd = false
    private var finished = false
    private let label: String

    init(label: String) throws {
        self.label = label
        state = try InflateState(label: label)
        input = UnsafeMutableRawBufferPointer.allocate(byteCount: 1 << 16, alignment: 16)
    }

    deinit { input.deallocate() }

    private func refill(_ source: (UnsafeMutableRawBufferPointer) throws -> Int) throws {
        guard state.stream.avail_in == 0, !inputEnd else { return }
        let got = try source(input)
        if got == 0 {
            inputEnd = true
        } else {
            state.stream.next_in = input.baseAddress?.assumingMemoryBound(to: Bytef.self)
            state.stream.avail_in = uInt(got)
        }
    }

    func read(into buffer: UnsafeMutableRawBufferPointer, refill source: (UnsafeMutableRawBufferPointer) throws -> Int) throws -> Int {
        guard buffer.count > 0 else { return 0 }
        while !finished {
            try refill(source)
            state.stream.next_out = buffer.baseAddress?.assumingMemoryBound(to: Bytef.self)
            state.stream.avail_out = uInt(min(buffer.count, Int(UInt32.max)))
            let before = Int(state.stream.avail_out)
            let rc = inflate(&state.stream, Z_NO_FLUSH)
            let produced = before - Int(state.stream.avail_out)
            switch rc {
            case Z_STREAM_END:
                // Another gzip member may follow; anything else after the end is ignored.
                try refill(source)
                if state.stream.avail_in > 0, state.stream.next_in.pointee == 0x1F {
                    inflateReset(&state.stream)
                } else {
                    finished = true
                }
            case Z_OK, Z_BUF_ERROR:
                if produced == 0 && inputEnd && state.stream.avail_in == 0 {
                    throw ArchiveError.truncated(label)
                }
            default:
                throw ArchiveError.corrupt(label, "gzip data is damaged")
            }
            if produced > 0 { return produced }
        }
        return 0
    }
}
