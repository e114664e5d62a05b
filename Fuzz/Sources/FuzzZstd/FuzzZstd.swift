import Builder
import FuzzSupport

/// The zstd decompressor over arbitrary bytes, pushed whole, pushed one byte per write and
/// pulled one byte per read: all three must agree (the same bytes, or all an error), and the
/// output is bounded so a decompression bomb ends as an error rather than filling memory.
@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzZstd(_ data: UnsafePointer<UInt8>, _ size: Int) -> CInt {
    let bytes = Array(UnsafeBufferPointer(start: data, count: size))
    let whole = outcome {
        var sink = try UnzstdSink(inner: BoundedSink(), label: "fuzz.zst")
        try sink.write(bytes)
        try sink.finish()
        return sink.inner.bytes
    }
    let trickled = outcome {
        var sink = try UnzstdSink(inner: BoundedSink(), label: "fuzz.zst")
        for byte in bytes { try sink.write([byte]) }
        try sink.finish()
        return sink.inner.bytes
    }
    let pulled = outcome {
        var source = try UnzstdSource(OneByteSource(bytes: bytes, label: "fuzz.zst"))
        return try source.readAll(limit: BoundedSink.limit)
    }
    requireAgreement([whole, trickled, pulled], decoder: "zstd")
    return 0
}

/// Collects at most `limit` bytes and refuses more, as `readAll(limit:)` does.
struct BoundedSink: ByteSink {
    static let limit: UInt64 = 1 << 22
    var bytes: [UInt8] = []

    mutating func write(_ chunk: UnsafeRawBufferPointer) throws {
        guard UInt64(bytes.count + chunk.count) <= Self.limit else { throw FuzzFailure(description: "too large") }
        bytes.append(contentsOf: chunk)
    }

    mutating func flush() throws {}
}
