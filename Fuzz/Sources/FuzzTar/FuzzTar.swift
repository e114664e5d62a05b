import Builder

/// The tar reader over arbitrary bytes: every member's data read to the end (bounded, as the
/// callers read), then the trailer. Any outcome but a trap is fine; errors are expected.
@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzTar(_ data: UnsafePointer<UInt8>, _ size: Int) -> CInt {
    let bytes = Array(UnsafeBufferPointer(start: data, count: size))
    var reader = TarReader(source: MemorySource(bytes, label: "fuzz.tar"))
    do {
        while let header = try reader.next() {
            _ = header.nameString
            if header.size <= 1 << 16 { _ = try reader.readAll(limit: 1 << 16) }
        }
        try reader.drainTrailer()
    } catch {
        _ = "\(error)"
    }
    return 0
}
