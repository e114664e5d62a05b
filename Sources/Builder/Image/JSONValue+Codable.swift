/// JSONValue through Codable, so the harness's machine outputs carry arbitrary JSON (the check's
/// options) in the one JSON value model the builder already has.
extension JSONValue: Codable {
    private struct Key: CodingKey {
        var stringValue: String
        var intValue: Int? { nil }
        init(stringValue: String) { self.stringValue = stringValue }
        init?(intValue: Int) { nil }
    }

    public func encode(to encoder: any Encoder) throws {
        switch self {
        case .null:
            var container = encoder.singleValueContainer()
            try container.encodeNil()
        case let .bool(value):
            var container = encoder.singleValueContainer()
            try container.encode(value)
        case let .integer(digits):
            var container = encoder.singleValueContainer()
            // Python ints are unbounded; beyond Int64 the digits travel as a float, as JSON
            // readers other than Python would read them anyway.
            if let value = Int64(digits) { try container.encode(value) } else { try container.encode(Double(digits) ?? 0) }
        case let .float(value):
            var container = encoder.singleValueContainer()
            try container.encode(value)
        case let .string(value):
            var container = encoder.singleValueContainer()
            try container.encode(value)
        case let .array(items):
            var container = encoder.unkeyedContainer()
            for item in items { try container.encode(item) }
        case let .object(object):
            var container = encoder.container(keyedBy: Key.self)
            for (key, value) in object.entries { try container.encode(value, forKey: Key(stringValue: key)) }
        }
    }

    public init(from decoder: any Decoder) throws {
        if let container = try? decoder.container(keyedBy: Key.self) {
            // Decoders do not promise the file's key order: sort, so equal input decodes equal.
            var object = JSONObject()
            for key in container.allKeys.sorted(by: { $0.stringValue < $1.stringValue }) {
                object[key.stringValue] = try container.decode(JSONValue.self, forKey: key)
            }
            self = .object(object)
            return
        }
        if var container = try? decoder.unkeyedContainer() {
            var items: [JSONValue] = []
            while !container.isAtEnd { items.append(try container.decode(JSONValue.self)) }
            self = .array(items)
            return
        }
        let container = try decoder.singleValueContainer()
        if container.decodeNil() {
            self = .null
        } else if let value = try? container.decode(Bool.self) {
            self = .bool(value)
        } else if let value = try? container.decode(Int64.self) {
            self = .integer(String(value))
        } else if let value = try? container.decode(Double.self) {
            self = .float(value)
        } else {
            self = .string(try container.decode(String.self))
        }
    }
}

extension JSONValue {
    /// The same value with every object's keys in code-point order: the form a Codable round
    /// trip gives, so values compare equal however their source ordered its keys.
    public func sortingKeys() -> JSONValue {
        switch self {
        case let .array(items): return .array(items.map { $0.sortingKeys() })
        case let .object(object):
            return .object(JSONObject(object.entries.sorted { $0.key < $1.key }.map { ($0.key, $0.value.sortingKeys()) }))
        default: return self
        }
    }
}
