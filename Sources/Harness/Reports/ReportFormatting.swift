import Builder

/// Text helpers shared by every report. All of them are locale- and clock-free, so the same
/// database always renders to the same bytes.
enum ReportFormat {
    /// Escapes text for HTML/SVG element content and double- or single-quoted attributes.
    static func html(_ text: String) -> String {
        var out = ""
        out.reserveCapacity(text.utf8.count)
        for scalar in text.unicodeScalars {
            switch scalar {
            case "&": out += "&amp;"
            case "<": out += "&lt;"
            case ">": out += "&gt;"
            case "\"": out += "&quot;"
            case "'": out += "&#39;"
            default:
                if isXMLForbidden(scalar) { out += visible(scalar) } else { out.unicodeScalars.append(scalar) }
            }
        }
        return out
    }

    /// Escapes text for an XML attribute value; newlines and tabs become character references
    /// because attribute-value normalisation would otherwise turn them into spaces.
    static func xmlAttribute(_ text: String) -> String {
        var out = ""
        for scalar in text.unicodeScalars {
            switch scalar {
            case "\n": out += "&#10;"
            case "\r": out += "&#13;"
            case "\t": out += "&#9;"
            default: out += html(String(scalar))
            }
        }
        return out
    }

    /// XML 1.0 cannot carry most C0 controls even as character references.
    static func isXMLForbidden(_ scalar: Unicode.Scalar) -> Bool {
        switch scalar.value {
        case 0x9, 0xA, 0xD: return false
        case 0x0..<0x20, 0xFFFE, 0xFFFF: return true
        default: return false
        }
    }

    /// A forbidden control character spelled out, so the information survives.
    static func visible(_ scalar: Unicode.Scalar) -> String {
        let hex = String(scalar.value, radix: 16, uppercase: true)
        return "\\u{\(hex)}"
    }

    /// `2024-05-01 12:34:56Z`, from seconds since the epoch, by civil-calendar arithmetic
    /// (no formatter, no locale, no time zone database).
    static func utc(_ seconds: Double, separator: String = " ", suffix: String = "Z") -> String {
        guard seconds.isFinite else { return "?" }
        let time = PythonDateTime.fromEpoch(microseconds: Int(seconds.rounded(.down)) * 1_000_000)
        return "\(pad(Int64(time.year), 4))-\(pad(Int64(time.month), 2))-\(pad(Int64(time.day), 2))\(separator)"
            + "\(pad(Int64(time.hour), 2)):\(pad(Int64(time.minute), 2)):\(pad(Int64(time.second), 2))\(suffix)"
    }

    /// `2024-05-01`: the day, for chart axes and "since" columns.
    static func date(_ seconds: Double) -> String {
        String(utc(seconds).prefix { $0 != " " })
    }

    private static func pad(_ value: Int64, _ width: Int) -> String {
        let text = String(abs(value))
        return (value < 0 ? "-" : "") + String(repeating: "0", count: max(0, width - text.count)) + text
    }

    /// A duration for people: `850 ms` below a second, `12.3 s` above.
    static func duration(_ milliseconds: Int) -> String {
        duration(Double(milliseconds))
    }

    static func duration(_ milliseconds: Double) -> String {
        guard milliseconds.isFinite else { return "?" }
        if abs(milliseconds) < 1000 { return "\(Int64(milliseconds.rounded())) ms" }
        return "\(decimal(milliseconds / 1000)) s"
    }

    /// One decimal place, computed rather than formatted so no locale can change it.
    static func decimal(_ value: Double) -> String {
        guard value.isFinite else { return "0" }
        let tenths = Int64((value * 10).rounded())
        let sign = tenths < 0 ? "-" : ""
        return "\(sign)\(abs(tenths) / 10).\(abs(tenths) % 10)"
    }

    /// Milliseconds as seconds with three decimals, for JUnit `time` attributes.
    static func junitSeconds(_ milliseconds: Int) -> String {
        let ms = max(0, milliseconds)
        let fraction = String(ms % 1000)
        return "\(ms / 1000).\(String(repeating: "0", count: 3 - fraction.count))\(fraction)"
    }

    /// `sha256:0123abcd…`: enough to tell digests apart at a glance.
    static func short(_ digest: Digest?) -> String {
        guard let digest else { return "—" }
        return "sha256:\(digest.hex.prefix(12))…"
    }

    /// A stable colour per digest, so equal digests look equal across charts.
    static func color(_ digest: Digest?) -> String {
        guard let digest else { return "#9aa0a6" }
        let hue = (Int(digest.hex.prefix(4), radix: 16) ?? 0) % 360
        return "hsl(\(hue), 62%, 42%)"
    }
}
