import Builder

/// The gzip reader (pulled through the sniffing source, bounded) over arbitrary bytes, fed
/// both at once and one byte per read, which must agree.
@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzGzip(_ data: UnsafePointer<UInt8>, _ size: Int) -> CInt {
    let bytes = Array(UnsafeBufferPointer(start: data, count: size))
    func inflate<S: ByteSource>(_ source: S) -> Result<[UInt8], ArchiveErrorOrOther> {
        do {
            var sniffing = try GunzipSniffingSource(source)
            return .success(try sniffing.readAll(limit: 1 << 22))
        } catch {
            return .failure(ArchiveErrorOrOther(description: "\(error)"))
        }
    }
    let whole = inflate(MemorySource(bytes, label: "fuzz.gz"))
    let trickled = inflate(OneByteSource(bytes: bytes))
    switch (whole, trickled) {
    case let (.success(a), .success(b)) where a != b:
        fatalError("gzip output depends on how the input is split")
    case (.success, .failure), (.failure, .success):
        fatalError("gzip success depends on how the input is split")
    default:
        break
    }
    return 0
}

struct ArchiveErrorOrOther: Error { var description: String }

/// Hands out one byte per read, as a slow pipe may.
struct OneByteSource: ByteSource {
    var bytes: [UInt8]
    var offset = 0
    var label: String { "fuzz.gz" }

    mutating func read(into buffer: UnsafeMutableRawBufferPointer) throws -> Int {
        guard offset < bytes.count, buffer.count > 0 else { return 0 }
        buffer[0] = bytes[offset]
        offset += 1
        return 1
    }
}
