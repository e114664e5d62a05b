/// Where a JSON document is broken, in the terms an editor shows.
public struct JSONSyntaxError: Error, CustomStringConvertible, Equatable {
    public var line: Int
    public var column: Int
    public var message: String
    /// Where in the document a duplicate key was found (`config.Labels`); nil for other errors.
    public var keyPath: [String]?

    public init(line: Int, column: Int, message: String, keyPath: [String]? = nil) {
        self.line = line
        self.column = column
        self.message = message
        self.keyPath = keyPath
    }

    public var description: String {
        let place = keyPath.map { $0.isEmpty ? "" : " in \(JSONValue.keyPathText($0))" } ?? ""
        return "invalid JSON at line \(line), column \(column): \(message)\(place)"
    }
}

/// A strict JSON parser (Python `json.loads` semantics: NaN and Infinity accepted, control
/// characters in strings rejected) that keeps key order.
public struct JSONParser {
    /// What a repeated key in one object means.
    public enum DuplicateKeys: Sendable {
        /// Python's `json.loads`: the first position, the last value. For documents other
        /// programs wrote (a base image's config), read as the reference reads them.
        case lastWins
        /// An error: in a spec or conf a repeated key is a mistake whichever copy was meant.
        case refuse
    }

    private let bytes: [UInt8]
    private let duplicateKeys: DuplicateKeys
    private var index = 0
    private var depth = 0

    public static func parse(_ bytes: [UInt8], duplicateKeys: DuplicateKeys = .lastWins) throws(JSONSyntaxError) -> JSONValue {
        var parser = JSONParser(bytes: bytes, duplicateKeys: duplicateKeys)
        parser.skipWhitespace()
        let value = try parser.parseValue()
        parser.skipWhitespace()
        guard parser.index == bytes.count else { throw parser.error("extra data after the JSON value") }
        return value
    }

    public static func parse(_ text: String, duplicateKeys: DuplicateKeys = .lastWins) throws(JSONSyntaxError) -> JSONValue {
        try parse(Array(text.utf8), duplicateKeys: duplicateKeys)
    }

    private init(bytes: [UInt8], duplicateKeys: DuplicateKeys) {
        self.bytes = bytes
        self.duplicateKeys = duplicateKeys
    }

    private func error(_ message: String) -> JSONSyntaxError {
        var line = 1, column = 1
        for byte in bytes[0..<min(index, bytes.count)] {
            if byte == 0x0A { line += 1; column = 1 } else if byte & 0xC0 != 0x80 { column += 1 }
        }
        return JSONSyntaxError(line: line, column: column, message: message)
    }

    private var current: UInt8? { index < bytes.count ? bytes[index] : nil }

    private mutating func skipWhitespace() {
        while let byte = current, byte == 0x20 || byte == 0x0A || byte == 0x0D || byte == 0x09 { index += 1 }
    }

    private mutating func parseValue() throws(JSONSyntaxError) -> JSONValue {
        guard let byte = current else { throw error("unexpected end of input, expected a value") }
        switch byte {
        case UInt8(ascii: "{"): return try parseObject()
        case UInt8(ascii: "["): return try parseArray()
        case UInt8(ascii: "\""): return .string(try parseString())
        case UInt8(ascii: "t"): try expectWord("true"); return .bool(true)
        case UInt8(ascii: "f"): try expectWord("false"); return .bool(false)
        case UInt8(ascii: "n"): try expectWord("null"); return .null
        case UInt8(ascii: "N"): try expectWord("NaN"); return .float(.nan)
        case UInt8(ascii: "I"): try expectWord("Infinity"); return .float(.infinity)
        case UInt8(ascii: "-"), UInt8(ascii: "0")...UInt8(ascii: "9"): return try parseNumber()
        default: throw error("unexpected character '\(Character(Unicode.Scalar(byte)))'")
        }
    }

    private mutating func expectWord(_ word: String) throws(JSONSyntaxError) {
        let expected = Array(word.utf8)
        guard index + expected.count <= bytes.count, Array(bytes[index..<(index + expected.count)]) == expected else {
            throw error("expected '\(word)'")
        }
        index += expected.count
    }

    private mutating func enter() throws(JSONSyntaxError) {
        depth += 1
        if depth > 512 { throw error("nesting deeper than 512 levels") }
    }

    private mutating func parseObject() throws(JSONSyntaxError) -> JSONValue {
        try enter()
        defer { depth -= 1 }
        index += 1
        var entries: [(key: String, value: JSONValue)] = []
        // Key positions once an object is past a few keys: a linear search per key would make
        // an object of n keys cost n² comparisons, which a hostile document can exploit.
        var positions: [String: Int] = [:]
        func position(of key: String) -> Int? {
            if entries.count <= Self.linearKeySearchLimit { return entries.firstIndex { $0.key == key } }
            if positions.isEmpty {
                for (position, entry) in entries.enumerated() { positions[entry.key] = position }
            }
            return positions[key]
        }
        skipWhitespace()
        if current == UInt8(ascii: "}") { index += 1; return .object(JSONObject()) }
        while true {
            skipWhitespace()
            guard current == UInt8(ascii: "\"") else { throw error("expected a property name in double quotes") }
            let keyStart = index
            let key = try parseString()
            let existing = position(of: key)
            if duplicateKeys == .refuse && existing != nil {
                index = keyStart
                var duplicate = error("duplicate key \"\(key)\"")
                duplicate.keyPath = []
                throw duplicate
            }
            skipWhitespace()
            guard current == UInt8(ascii: ":") else { throw error("expected ':' after a property name") }
            index += 1
            skipWhitespace()
            let value: JSONValue
            do {
                value = try parseValue()
            } catch {
                throw Self.nested(error, in: key)
            }
            // As a Python dict: a repeated key keeps its first position and takes the last value.
            if let existing {
                entries[existing].value = value
            } else {
                if !positions.isEmpty { positions[key] = entries.count }
                entries.append((key, value))
            }
            skipWhitespace()
            switch current {
            case UInt8(ascii: ","): index += 1
            case UInt8(ascii: "}"): index += 1; return .object(JSONObject(uniqueEntries: entries))
            default: throw error("expected ',' or '}' in an object")
            }
        }
    }

    private static let linearKeySearchLimit = 8

    private mutating func parseArray() throws(JSONSyntaxError) -> JSONValue {
        try enter()
        defer { depth -= 1 }
        index += 1
        var items: [JSONValue] = []
        skipWhitespace()
        if current == UInt8(ascii: "]") { index += 1; return .array(items) }
        while true {
            skipWhitespace()
            do {
                items.append(try parseValue())
            } catch {
                throw Self.nested(error, in: "[\(items.count)]")
            }
            skipWhitespace()
            switch current {
            case UInt8(ascii: ","): index += 1
            case UInt8(ascii: "]"): index += 1; return .array(items)
            default: throw error("expected ',' or ']' in an array")
            }
        }
    }

    /// A duplicate-key error found inside `component` names the path to it; only errors on
    /// the way out pay for this.
    private static func nested(_ error: JSONSyntaxError, in component: String) -> JSONSyntaxError {
        guard let path = error.keyPath else { return error }
        var outer = error
        outer.keyPath = [component] + path
        return outer
    }

    private mutating func parseNumber() throws(JSONSyntaxError) -> JSONValue {
        let start = index
        if current == UInt8(ascii: "-") {
            index += 1
            if current == UInt8(ascii: "I") { try expectWord("Infinity"); return .float(-.infinity) }
        }
        guard let first = current, (0x30...0x39).contains(first) else { throw error("expected a digit") }
        if first == UInt8(ascii: "0") { index += 1 } else { skipDigits() }
        var isFloat = false
        if current == UInt8(ascii: ".") {
            index += 1
            guard let digit = current, (0x30...0x39).contains(digit) else { throw error("expected a digit after '.'") }
            skipDigits()
            isFloat = true
        }
        if current == UInt8(ascii: "e") || current == UInt8(ascii: "E") {
            index += 1
            if current == UInt8(ascii: "+") || current == UInt8(ascii: "-") { index += 1 }
            guard let digit = current, (0x30...0x39).contains(digit) else { throw error("expected a digit in the exponent") }
            skipDigits()
            isFloat = true
        }
        let text = String(decoding: bytes[start..<index], as: UTF8.self)
        if isFloat {
            guard let value = Double(text) else { throw error("number \(text) is out of range") }
            return .float(value)
        }
        return .integer(text == "-0" ? "0" : text)
    }

    private mutating func skipDigits() {
        while let byte = current, (0x30...0x39).contains(byte) { index += 1 }
    }

    private mutating func parseString() throws(JSONSyntaxError) -> String {
        index += 1
        var scalars = String.UnicodeScalarView()
        var runStart = index
        func flushRun(_ end: Int) {
            scalars.append(contentsOf: String(decoding: bytes[runStart..<end], as: UTF8.self).unicodeScalars)
        }
        while true {
            guard let byte = current else { throw error("unterminated string") }
            if byte == UInt8(ascii: "\"") {
                // No escape seen: the bytes are already validated UTF-8, decode them once.
                if scalars.isEmpty {
                    let text = String(decoding: bytes[runStart..<index], as: UTF8.self)
                    index += 1
                    return text
                }
                flushRun(index)
                index += 1
                return String(scalars)
            }
            if byte < 0x20 { throw error("control character in a string") }
            if byte >= 0x80 {
                guard let length = UTF8Scan.validSequenceLength(bytes, at: index) else { throw error("invalid UTF-8 in a string") }
                index += length
                continue
            }
            if byte != UInt8(ascii: "\\") { index += 1; continue }
            flushRun(index)
            index += 1
            guard let escape = current else { throw error("unterminated escape") }
            index += 1
            switch escape {
            case UInt8(ascii: "\""): scalars.append("\"")
            case UInt8(ascii: "\\"): scalars.append("\\")
            case UInt8(ascii: "/"): scalars.append("/")
            case UInt8(ascii: "b"): scalars.append("\u{08}")
            case UInt8(ascii: "f"): scalars.append("\u{0C}")
            case UInt8(ascii: "n"): scalars.append("\n")
            case UInt8(ascii: "r"): scalars.append("\r")
            case UInt8(ascii: "t"): scalars.append("\t")
            case UInt8(ascii: "u"):
                var code = try parseHex4()
                if (0xD800...0xDBFF).contains(code) {
                    guard current == UInt8(ascii: "\\"), index + 1 < bytes.count, bytes[index + 1] == UInt8(ascii: "u") else {
                        throw error("unpaired surrogate \\u\(String(code, radix: 16)) (not representable)")
                    }
                    index += 2
                    let low = try parseHex4()
                    guard (0xDC00...0xDFFF).contains(low) else { throw error("invalid surrogate pair") }
                    code = 0x10000 + ((code - 0xD800) << 10) + (low - 0xDC00)
                } else if (0xDC00...0xDFFF).contains(code) {
                    throw error("unpaired surrogate \\u\(String(code, radix: 16)) (not representable)")
                }
                guard let scalar = Unicode.Scalar(code) else { throw error("invalid \\u escape") }
                scalars.append(scalar)
            default:
                throw error("invalid escape '\\\(Character(Unicode.Scalar(escape)))'")
            }
            runStart = index
        }
    }

    private mutating func parseHex4() throws(JSONSyntaxError) -> UInt32 {
        guard index + 4 <= bytes.count else { throw error("truncated \\u escape") }
        var value: UInt32 = 0
        for _ in 0..<4 {
            guard let digit = current, let nibble = Self.hexValue(digit) else { throw error("invalid \\u escape") }
            value = value << 4 | nibble
            index += 1
        }
        return value
    }

    private static func hexValue(_ byte: UInt8) -> UInt32? {
        switch byte {
        case 0x30...0x39: UInt32(byte - 0x30)
        case 0x41...0x46: UInt32(byte - 0x41 + 10)
        case 0x61...0x66: UInt32(byte - 0x61 + 10)
        default: nil
        }
    }
}
