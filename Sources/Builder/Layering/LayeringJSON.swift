import Foundation

/// What the layering code reads from JSON values: reference graphs and pipelines share
/// the project's one JSON model, parsed by ``JSONParser`` (which keeps key order, as
/// Python's `json.load` does).
extension JSONValue {
    /// Parses `data`, mapping a syntax error to ``LayeringError/malformedGraph(reason:)``.
    static func decodeLayeringInput(_ data: Data) throws(LayeringError) -> JSONValue {
        try decodeLayeringInput([UInt8](data))
    }

    static func decodeLayeringInput(_ bytes: [UInt8]) throws(LayeringError) -> JSONValue {
        do {
            return try JSONParser.parse(bytes)
        } catch {
            throw .malformedGraph(reason: "it is not valid JSON (\(error.description))")
        }
    }

    /// A short name for the value's kind, used in error messages.
    var kindName: String {
        switch self {
        case .null: "null"
        case .bool: "a boolean"
        case .integer: "an integer"
        case .float: "a number"
        case .string: "a string"
        case .array: "an array"
        case .object: "an object"
        }
    }

    /// The value as a non-negative 64-bit size, when it is one.
    var sizeValue: UInt64? {
        switch self {
        case let .integer(digits): UInt64(digits)
        // JSON writers sometimes emit whole numbers as 1.0.
        case let .float(value):
            value >= 0 && value.rounded() == value && value < 18_446_744_073_709_551_616.0
                ? UInt64(value) : nil
        default: nil
        }
    }

    /// The value as an Int, when it is an integer literal that fits one.
    var intValue: Int? {
        guard case let .integer(digits) = self else { return nil }
        return Int(digits)
    }
}
