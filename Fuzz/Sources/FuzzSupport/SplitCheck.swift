import Builder

/// What decoding one input gave, as data to compare across ways of feeding it.
public typealias Outcome = Result<[UInt8], FuzzFailure>

public struct FuzzFailure: Error, CustomStringConvertible {
    public var description: String
    public init(description: String) { self.description = description }
}

/// Runs a decoder, keeping its error as text.
public func outcome(_ body: () throws -> [UInt8]) -> Outcome {
    do { return .success(try body()) } catch { return .failure(FuzzFailure(description: "\(error)")) }
}

/// Traps unless every outcome agrees with the first: the same bytes, or every one a failure.
/// A decoder's result must never depend on how its input was split into reads or writes.
public func requireAgreement(_ outcomes: [Outcome], decoder: String) {
    guard let first = outcomes.first else { return }
    for other in outcomes.dropFirst() {
        switch (first, other) {
        case let (.success(a), .success(b)) where a != b:
            fatalError("\(decoder) output depends on how the input is split")
        case (.success, .failure), (.failure, .success):
            fatalError("\(decoder) success depends on how the input is split: \(first) vs \(other)")
        default:
            break
        }
    }
}

/// Hands out one byte per read, as a slow pipe may.
public struct OneByteSource: ByteSource {
    var bytes: [UInt8]
    var offset = 0
    public let label: String

    public init(bytes: [UInt8], label: String) {
        self.bytes = bytes
        self.label = label
    }

    public mutating func read(into buffer: UnsafeMutableRawBufferPointer) throws -> Int {
        guard offset < bytes.count, buffer.count > 0 else { return 0 }
        buffer[0] = bytes[offset]
        offset += 1
        return 1
    }
}
