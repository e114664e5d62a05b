/// Serialises JSON exactly as Python's `json.dumps(obj, indent=4)` does: ASCII only with
/// lowercase `\uXXXX` escapes, `", "`-free item separators with newlines, `": "` after keys,
/// `repr()` spelling for floats, no trailing newline. Image IDs are the sha256 of these bytes.
public enum PythonJSON {
    public static func dumps(_ value: JSONValue, indent: Int = 4) -> [UInt8] {
        var out: [UInt8] = []
        write(value, level: 0, indent: indent, into: &out)
        return out
    }

    private static func write(_ value: JSONValue, level: Int, indent: Int, into out: inout [UInt8]) {
        switch value {
        case .null: out += Array("null".utf8)
        case let .bool(flag): out += Array((flag ? "true" : "false").utf8)
        case let .integer(digits): out += Array(digits.utf8)
        case let .float(number): out += Array(PythonFloat.repr(number, json: true).utf8)
        case let .string(text): writeString(text, into: &out)
        case let .array(items):
            guard !items.isEmpty else { out += Array("[]".utf8); return }
            out.append(UInt8(ascii: "["))
            for (position, item) in items.enumerated() {
                if position > 0 { out.append(UInt8(ascii: ",")) }
                newline(level + 1, indent, &out)
                write(item, level: level + 1, indent: indent, into: &out)
            }
            newline(level, indent, &out)
            out.append(UInt8(ascii: "]"))
        case let .object(object):
            guard !object.isEmpty else { out += Array("{}".utf8); return }
            out.append(UInt8(ascii: "{"))
            for (position, entry) in object.entries.enumerated() {
                if position > 0 { out.append(UInt8(ascii: ",")) }
                newline(level + 1, indent, &out)
                writeString(entry.key, into: &out)
                out += Array(": ".utf8)
                write(entry.value, level: level + 1, indent: indent, into: &out)
            }
            newline(level, indent, &out)
            out.append(UInt8(ascii: "}"))
        }
    }

    private static func newline(_ level: Int, _ indent: Int, _ out: inout [UInt8]) {
        out.append(0x0A)
        out += [UInt8](repeating: 0x20, count: level * indent)
    }

    private static let hexDigits = Array("0123456789abcdef".utf8)

    /// `ensure_ascii`: everything outside printable ASCII (0x20...0x7E) is escaped, including DEL.
    static func writeString(_ text: String, into out: inout [UInt8]) {
        out.append(UInt8(ascii: "\""))
        for scalar in text.unicodeScalars {
            switch scalar {
            case "\"": out += Array("\\\"".utf8)
            case "\\": out += Array("\\\\".utf8)
            case "\n": out += Array("\\n".utf8)
            case "\r": out += Array("\\r".utf8)
            case "\t": out += Array("\\t".utf8)
            case "\u{08}": out += Array("\\b".utf8)
            case "\u{0C}": out += Array("\\f".utf8)
            case " "..."~": out.append(UInt8(scalar.value))
            default:
                if scalar.value > 0xFFFF {
                    let value = scalar.value - 0x10000
                    escape(0xD800 + (value >> 10), into: &out)
                    escape(0xDC00 + (value & 0x3FF), into: &out)
                } else {
                    escape(scalar.value, into: &out)
                }
            }
        }
        out.append(UInt8(ascii: "\""))
    }

    private static func escape(_ unit: UInt32, into out: inout [UInt8]) {
        out += Array("\\u".utf8)
        for shift in stride(from: 12, through: 0, by: -4) {
            out.append(hexDigits[Int((unit >> UInt32(shift)) & 0xF)])
        }
    }
}

/// Python's `repr(float)`: the shortest digits that round-trip, in fixed notation when the
/// decimal exponent is in [-4, 16), otherwise `d.ddde+XX`.
public enum PythonFloat {
    public static func repr(_ value: Double, json: Bool = false) -> String {
        if value.isNaN { return json ? "NaN" : "nan" }
        if value.isInfinite { return value < 0 ? (json ? "-Infinity" : "-inf") : (json ? "Infinity" : "inf") }
        if value == 0 { return value.sign == .minus ? "-0.0" : "0.0" }
        let (digits, exponent) = shortestDigits(abs(value))
        let sign = value < 0 ? "-" : ""
        // `exponent` is the position of the decimal point relative to the digit string:
        // value = 0.d1d2... * 10^exponent.
        if exponent > -4 && exponent <= 16 {
            if exponent <= 0 {
                return sign + "0." + String(repeating: "0", count: -exponent) + digits
            }
            if exponent >= digits.count {
                return sign + digits + String(repeating: "0", count: exponent - digits.count) + ".0"
            }
            let split = digits.index(digits.startIndex, offsetBy: exponent)
            return sign + digits[..<split] + "." + digits[split...]
        }
        let mantissa = digits.count == 1 ? digits : String(digits.prefix(1)) + "." + digits.dropFirst()
        let power = exponent - 1
        let powerText = String(abs(power))
        return sign + mantissa + "e" + (power < 0 ? "-" : "+") + (powerText.count < 2 ? "0" + powerText : powerText)
    }

    /// Swift's `description` is also a shortest round-trip rendering; take its digits and
    /// decimal exponent and re-spell them the Python way.
    static func shortestDigits(_ value: Double) -> (String, Int) {
        let text = value.description
        var mantissa = Substring(text)
        var exponent = 0
        if let e = text.firstIndex(where: { $0 == "e" || $0 == "E" }) {
            mantissa = text[..<e]
            exponent = Int(text[text.index(after: e)...]) ?? 0
        }
        var digits = ""
        var pointPosition: Int?
        for character in mantissa {
            if character == "." { pointPosition = digits.count } else { digits.append(character) }
        }
        var point = (pointPosition ?? digits.count) + exponent
        while digits.hasPrefix("0") && digits.count > 1 {
            digits.removeFirst()
            point -= 1
        }
        while digits.hasSuffix("0") && digits.count > 1 { digits.removeLast() }
        return (digits, point)
    }
}

/// Python's `repr()` of a list of strings, as nixpkgs writes the history comment
/// (`store paths: ['/nix/store/...']`).
public enum PythonRepr {
    public static func list(_ items: [String]) -> String {
        "[" + items.map(string).joined(separator: ", ") + "]"
    }

    public static func string(_ text: String) -> String {
        let quote: Character = text.contains("'") && !text.contains("\"") ? "\"" : "'"
        var out = String(quote)
        for scalar in text.unicodeScalars {
            switch scalar {
            case "\\": out += "\\\\"
            case "\t": out += "\\t"
            case "\n": out += "\\n"
            case "\r": out += "\\r"
            default:
                if Character(scalar) == quote {
                    out += "\\" + String(quote)
                } else if isPrintable(scalar) {
                    out.unicodeScalars.append(scalar)
                } else if scalar.value < 0x100 {
                    out += "\\x" + hex(scalar.value, width: 2)
                } else if scalar.value < 0x10000 {
                    out += "\\u" + hex(scalar.value, width: 4)
                } else {
                    out += "\\U" + hex(scalar.value, width: 8)
                }
            }
        }
        out.append(quote)
        return out
    }

    /// `str.isprintable()` per character: not in categories Cc, Cf, Cs, Co, Cn, Zl, Zp, or Zs
    /// other than the ASCII space.
    static func isPrintable(_ scalar: Unicode.Scalar) -> Bool {
        if scalar == " " { return true }
        switch scalar.properties.generalCategory {
        case .control, .format, .surrogate, .privateUse, .unassigned, .lineSeparator, .paragraphSeparator, .spaceSeparator:
            return false
        default:
            return true
        }
    }

    private static func hex(_ value: UInt32, width: Int) -> String {
        let text = String(value, radix: 16)
        return String(repeating: "0", count: max(0, width - text.count)) + text
    }
}
