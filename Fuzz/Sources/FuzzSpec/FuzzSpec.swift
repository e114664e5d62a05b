import Builder

/// The image spec and nixpkgs conf decoders over arbitrary bytes (the first byte picks which),
/// which must end in a value or a typed error, never a trap.
@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzSpec(_ data: UnsafePointer<UInt8>, _ size: Int) -> CInt {
    guard size > 0 else { return 0 }
    let bytes = Array(UnsafeBufferPointer(start: data + 1, count: size - 1))
    do {
        if data[0] & 1 == 0 {
            _ = try ImageSpec.decode(bytes, file: "/fuzz/spec.json")
        } else {
            _ = try NixpkgsConf.decode(bytes, file: "/fuzz/conf.json")
        }
    } catch {
        _ = "\(error)"
    }
    return 0
}
