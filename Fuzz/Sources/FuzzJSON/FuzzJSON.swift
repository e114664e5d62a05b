import Builder
import Foundation

/// The JSON parser over arbitrary bytes, and the printer over whatever parses: a value or a
/// typed error, never a trap. (Which values print back identically is the parser's own
/// tests' business.) The reference graph's direct reader parses the same untrusted bytes
/// without the value tree; it must give exactly the graph, or the error, that the value
/// tree gives.
@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzJSON(_ data: UnsafePointer<UInt8>, _ size: Int) -> CInt {
    let bytes = Array(UnsafeBufferPointer(start: data, count: size))
    let parsed = Result { () throws(JSONSyntaxError) in try JSONParser.parse(bytes) }
    let direct = Result { () throws(LayeringError) in try ReferenceGraph(json: Data(bytes)) }
    let general: Result<ReferenceGraph, LayeringError> = switch parsed {
    case let .success(value): Result { () throws(LayeringError) in try ReferenceGraph(json: value) }
    case let .failure(error): .failure(.malformedGraph(reason: "it is not valid JSON (\(error.description))"))
    }
    guard direct == general else { fatalError("the two reference graph readers disagree") }
    if case let .success(value) = parsed { _ = PythonJSON.dumps(value) }
    return 0
}
