/// A JSON value that keeps object key order and number spelling, because the image config is
/// written back exactly as Python's `json` module would write what it read.
public indirect enum JSONValue: Equatable, Sendable {
    case null
    case bool(Bool)
    /// Integers keep their digits (Python ints are unbounded).
    case integer(String)
    case float(Double)
    case string(String)
    case array([JSONValue])
    case object(JSONObject)

    public var stringValue: String? {
        if case let .string(value) = self { return value }
        return nil
    }

    public var objectValue: JSONObject? {
        if case let .object(value) = self { return value }
        return nil
    }

    public var arrayValue: [JSONValue]? {
        if case let .array(value) = self { return value }
        return nil
    }

    public var isNull: Bool { self == .null }

    /// The path to the first number that is NaN or infinite (`1e400` reads as infinity), as
    /// `Labels.x` or `Cmd[2]`: Python writes those as `NaN`/`Infinity`, which is not JSON, and
    /// registries and skopeo reject such a config.
    public var nonFiniteNumberPath: [String]? {
        switch self {
        case let .float(value): return value.isFinite ? nil : []
        case let .array(items):
            for (position, item) in items.enumerated() {
                if let path = item.nonFiniteNumberPath { return ["[\(position)]"] + path }
            }
            return nil
        case let .object(object):
            for (key, value) in object.entries {
                if let path = value.nonFiniteNumberPath { return [key] + path }
            }
            return nil
        default: return nil
        }
    }

    /// `config.Labels.x`, `Cmd[2]`: key path components joined as a reader writes them.
    public static func keyPathText(_ components: [String]) -> String {
        var text = ""
        for component in components {
            if component.hasPrefix("[") || text.isEmpty { text += component } else { text += "." + component }
        }
        return text
    }

    /// Python's type name, for error messages that say what was found.
    public var typeName: String {
        switch self {
        case .null: "null"
        case .bool: "boolean"
        case .integer, .float: "number"
        case .string: "string"
        case .array: "array"
        case .object: "object"
        }
    }
}

/// An insertion-ordered JSON object. Setting an existing key keeps its position, as a Python
/// dict does (so duplicate keys read from JSON keep the first position and the last value).
public struct JSONObject: Equatable, Sendable {
    public private(set) var entries: [(key: String, value: JSONValue)] = []

    public init() {}

    public init(_ entries: [(String, JSONValue)]) {
        for (key, value) in entries { self[key] = value }
    }

    /// Entries whose keys are already distinct, as the parser collects them.
    init(uniqueEntries: [(key: String, value: JSONValue)]) {
        entries = uniqueEntries
    }

    public var keys: [String] { entries.map(\.key) }
    public var isEmpty: Bool { entries.isEmpty }

    public subscript(key: String) -> JSONValue? {
        get { entries.first { $0.key == key }?.value }
        set {
            if let index = entries.firstIndex(where: { $0.key == key }) {
                if let newValue { entries[index].value = newValue } else { entries.remove(at: index) }
            } else if let newValue {
                entries.append((key, newValue))
            }
        }
    }

    public static func == (lhs: JSONObject, rhs: JSONObject) -> Bool {
        lhs.entries.count == rhs.entries.count
            && zip(lhs.entries, rhs.entries).allSatisfy { $0.key == $1.key && $0.value == $1.value }
    }
}

extension JSONValue: ExpressibleByStringLiteral, ExpressibleByArrayLiteral, ExpressibleByIntegerLiteral, ExpressibleByBooleanLiteral {
    public init(stringLiteral value: String) { self = .string(value) }
    public init(arrayLiteral elements: JSONValue...) { self = .array(elements) }
    public init(integerLiteral value: Int) { self = .integer(String(value)) }
    public init(booleanLiteral value: Bool) { self = .bool(value) }
}
