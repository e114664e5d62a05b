import Builder

/// The JSON parser over arbitrary bytes, and the printer over whatever parses: a value or a
/// typed error, never a trap. (Which values print back identically is the parser's own
/// tests' business.)
@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzJSON(_ data: UnsafePointer<UInt8>, _ size: Int) -> CInt {
    let bytes = Array(UnsafeBufferPointer(start: data, count: size))
    guard let value = try? JSONParser.parse(bytes) else { return 0 }
    _ = PythonJSON.dumps(value)
    return 0
}
