import Builder
import FuzzSupport

/// The gzip reader (pulled through the sniffing source, bounded) over arbitrary bytes, fed
/// both at once and one byte per read, which must agree.
@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzGzip(_ data: UnsafePointer<UInt8>, _ size: Int) -> CInt {
    let bytes = Array(UnsafeBufferPointer(start: data, count: size))
    func inflate<S: ByteSource>(_ source: S) -> Outcome {
        outcome {
            var sniffing = try GunzipSniffingSource(source)
            return try sniffing.readAll(limit: 1 << 22)
        }
    }
    requireAgreement([inflate(MemorySource(bytes, label: "fuzz.gz")), inflate(OneByteSource(bytes: bytes, label: "fuzz.gz"))], decoder: "gzip")
    return 0
}
