import Foundation

/// A decoded JSON value, as read from a reference graph or a layering pipeline.
///
/// Integers are kept apart from doubles because narSize needs the full UInt64
/// range and pipeline arguments such as `limit_layers` must be whole numbers.
public indirect enum LayeringJSON: Hashable, Sendable, Decodable {
    case null
    case bool(Bool)
    case integer(Int64)
    case unsignedInteger(UInt64)
    case double(Double)
    case string(String)
    case array([LayeringJSON])
    case object([String: LayeringJSON])

    public init(from decoder: any Decoder) throws {
        let container = try decoder.singleValueContainer()
        if container.decodeNil() {
            self = .null
        } else if let value = try? container.decode(Bool.self) {
            self = .bool(value)
        } else if let value = try? container.decode(Int64.self) {
            self = .integer(value)
        } else if let value = try? container.decode(UInt64.self) {
            self = .unsignedInteger(value)
        } else if let value = try? container.decode(Double.self) {
            self = .double(value)
        } else if let value = try? container.decode(String.self) {
            self = .string(value)
        } else if let value = try? container.decode([LayeringJSON].self) {
            self = .array(value)
        } else {
            self = .object(try container.decode([String: LayeringJSON].self))
        }
    }

    /// Decodes `data`, mapping any decoding failure to ``LayeringError/malformedGraph(reason:)``.
    public static func decode(_ data: Data) throws(LayeringError) -> LayeringJSON {
        do {
            return try JSONDecoder().decode(LayeringJSON.self, from: data)
        } catch {
            throw .malformedGraph(reason: "it is not valid JSON")
        }
    }

    /// A short name for the value's kind, used in error messages.
    var kindName: String {
        switch self {
        case .null: "null"
        case .bool: "a boolean"
        case .integer, .unsignedInteger: "an integer"
        case .double: "a number"
        case .string: "a string"
        case .array: "an array"
        case .object: "an object"
        }
    }

    /// The value as a non-negative 64-bit size, when it is one.
    var sizeValue: UInt64? {
        switch self {
        case let .integer(value): value >= 0 ? UInt64(value) : nil
        case let .unsignedInteger(value): value
        // JSON writers sometimes emit whole numbers as 1.0.
        case let .double(value):
            value >= 0 && value.rounded() == value && value < 18_446_744_073_709_551_616.0
                ? UInt64(value) : nil
        default: nil
        }
    }

    /// The value as a whole number that fits an Int, when it is one.
    var intValue: Int? {
        switch self {
        case let .integer(value): Int(exactly: value)
        case let .unsignedInteger(value): Int(exactly: value)
        case let .double(value): value.rounded() == value ? Int(exactly: value) : nil
        default: nil
        }
    }
}
