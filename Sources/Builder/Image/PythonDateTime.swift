import Foundation

/// A date-time as Python's `datetime` holds it after `datetime.fromisoformat`: wall-clock
/// fields plus an optional UTC offset. Kept as fields (not a `Date`) so `isoformat()` can
/// give back exactly what nixpkgs writes into `created`.
public struct PythonDateTime: Equatable, Sendable, CustomStringConvertible {
    public var year, month, day, hour, minute, second, microsecond: Int
    /// Offset from UTC in microseconds; nil for a naive time.
    public var offsetMicroseconds: Int?

    public var description: String { isoformat() }

    /// Python 3.11's `fromisoformat`: `YYYY-MM-DD` or `YYYYMMDD`, optionally a one-character
    /// separator and `HH[:MM[:SS[.f…]]]` (or `HHMM[SS]`), optionally `Z` or `±HH[:MM[:SS[.ffffff]]]`.
    public static func parse(_ text: String) -> PythonDateTime? {
        let chars = Array(text.unicodeScalars)
        var reader = Reader(chars: chars)
        guard let year = reader.digits(4) else { return nil }
        let extended = reader.accept("-")
        guard let month = reader.digits(2) else { return nil }
        if extended { guard reader.accept("-") else { return nil } }
        guard let day = reader.digits(2) else { return nil }
        var result = PythonDateTime(year: year, month: month, day: day, hour: 0, minute: 0, second: 0, microsecond: 0, offsetMicroseconds: nil)
        if !reader.atEnd {
            reader.index += 1  // any single separator character
            guard let time = reader.time(allowFraction: true) else { return nil }
            (result.hour, result.minute, result.second, result.microsecond) = time
            if !reader.atEnd {
                if reader.accept("Z") {
                    result.offsetMicroseconds = 0
                } else if let sign = reader.sign() {
                    guard let offset = reader.time(allowFraction: true) else { return nil }
                    let magnitude = ((offset.0 * 60 + offset.1) * 60 + offset.2) * 1_000_000 + offset.3
                    guard magnitude < 86_400_000_000 else { return nil }
                    result.offsetMicroseconds = sign * magnitude
                } else {
                    return nil
                }
            }
            guard reader.atEnd else { return nil }
        }
        guard result.isValid else { return nil }
        return result
    }

    private struct Reader {
        var chars: [Unicode.Scalar]
        var index = 0
        var atEnd: Bool { index >= chars.count }

        mutating func accept(_ scalar: Unicode.Scalar) -> Bool {
            guard index < chars.count, chars[index] == scalar else { return false }
            index += 1
            return true
        }

        mutating func sign() -> Int? {
            if accept("+") { return 1 }
            if accept("-") { return -1 }
            return nil
        }

        mutating func digits(_ count: Int) -> Int? {
            guard index + count <= chars.count else { return nil }
            var value = 0
            for scalar in chars[index..<(index + count)] {
                guard let digit = Int(String(scalar)), scalar.isASCII else { return nil }
                value = value * 10 + digit
            }
            index += count
            return value
        }

        /// `HH[:MM[:SS[.f…]]]` or `HHMM[SS[.f…]]`; fractions beyond six digits are truncated.
        mutating func time(allowFraction: Bool) -> (Int, Int, Int, Int)? {
            guard let hour = digits(2) else { return nil }
            var minute = 0, second = 0, micro = 0
            let extended = index < chars.count && chars[index] == ":"
            if extended ? accept(":") : (index < chars.count && chars[index].properties.numericType != nil) {
                guard let value = digits(2) else { return nil }
                minute = value
                let more = extended ? accept(":") : (index < chars.count && chars[index].properties.numericType != nil)
                if more {
                    guard let value = digits(2) else { return nil }
                    second = value
                    if allowFraction, accept(".") || accept(",") {
                        var fraction = ""
                        while index < chars.count, chars[index].isASCII, let _ = Int(String(chars[index])) {
                            fraction.unicodeScalars.append(chars[index])
                            index += 1
                        }
                        guard !fraction.isEmpty else { return nil }
                        let six = String((fraction + "000000").prefix(6))
                        micro = Int(six) ?? 0
                    }
                }
            }
            return (hour, minute, second, micro)
        }
    }

    var isValid: Bool {
        guard (1...9999).contains(year), (1...12).contains(month), (0...23).contains(hour),
              (0...59).contains(minute), (0...59).contains(second) else { return false }
        return (1...Self.daysIn(month: month, year: year)).contains(day)
    }

    static func daysIn(month: Int, year: Int) -> Int {
        switch month {
        case 2: (year % 4 == 0 && year % 100 != 0) || year % 400 == 0 ? 29 : 28
        case 4, 6, 9, 11: 30
        default: 31
        }
    }

    /// Python's `datetime.isoformat()`.
    public func isoformat() -> String {
        var text = "\(pad(year, 4))-\(pad(month, 2))-\(pad(day, 2))T\(pad(hour, 2)):\(pad(minute, 2)):\(pad(second, 2))"
        if microsecond != 0 { text += ".\(pad(microsecond, 6))" }
        if let offset = offsetMicroseconds {
            let sign = offset < 0 ? "-" : "+"
            var rest = abs(offset)
            let micros = rest % 1_000_000
            rest /= 1_000_000
            let seconds = rest % 60
            rest /= 60
            text += "\(sign)\(pad(rest / 60, 2)):\(pad(rest % 60, 2))"
            if seconds != 0 || micros != 0 { text += ":\(pad(seconds, 2))" }
            if micros != 0 { text += ".\(pad(micros, 6))" }
        }
        return text
    }

    private func pad(_ value: Int, _ width: Int) -> String {
        let digits = String(value)
        return String(repeating: "0", count: max(0, width - digits.count)) + digits
    }

    /// `int(dt.timestamp())`: whole seconds since the epoch, truncated toward zero. A naive time
    /// is taken as UTC: the reference would use the host's time zone, which is exactly the kind
    /// of ambient input a reproducible build must not read.
    ///
    /// `timestamp()` is the microseconds divided by 10**6 as a correctly rounded float, so far
    /// from 1970 a fraction such as .999999 rounds up to the next second before `int()`
    /// truncates. Parsing the exact decimal gives that same correctly rounded float.
    public var epochSeconds: Int {
        let micros = epochMicroseconds
        let magnitude = micros.magnitude
        let exact = (micros < 0 ? "-" : "") + String(magnitude / 1_000_000) + "." + pad(Int(magnitude % 1_000_000), 6)
        guard let seconds = Double(exact) else { return micros / 1_000_000 }
        return Int(seconds)  // Truncates toward zero, like int().
    }

    public var epochMicroseconds: Int {
        let days = Self.daysFromCivil(year: year, month: month, day: day)
        let seconds = ((days * 24 + hour) * 60 + minute) * 60 + second
        return seconds * 1_000_000 + microsecond - (offsetMicroseconds ?? 0)
    }

    /// The current time in UTC with microseconds, as `datetime.now(tz=timezone.utc)`.
    public static func now() -> PythonDateTime {
        var spec = timespec()
        clock_gettime(CLOCK_REALTIME, &spec)
        return fromEpoch(microseconds: Int(spec.tv_sec) * 1_000_000 + Int(spec.tv_nsec) / 1000)
    }

    public static func fromEpoch(microseconds: Int) -> PythonDateTime {
        let micro = ((microseconds % 1_000_000) + 1_000_000) % 1_000_000
        let totalSeconds = (microseconds - micro) / 1_000_000
        let secondOfDay = ((totalSeconds % 86400) + 86400) % 86400
        let days = (totalSeconds - secondOfDay) / 86400
        let (year, month, day) = civilFromDays(days)
        return PythonDateTime(
            year: year, month: month, day: day, hour: secondOfDay / 3600, minute: secondOfDay / 60 % 60,
            second: secondOfDay % 60, microsecond: micro, offsetMicroseconds: 0
        )
    }

    // Howard Hinnant's days-from-civil algorithms: exact for the proleptic Gregorian calendar.
    static func daysFromCivil(year: Int, month: Int, day: Int) -> Int {
        let y = month <= 2 ? year - 1 : year
        let era = (y >= 0 ? y : y - 399) / 400
        let yoe = y - era * 400
        let doy = (153 * (month + (month > 2 ? -3 : 9)) + 2) / 5 + day - 1
        let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy
        return era * 146097 + doe - 719468
    }

    static func civilFromDays(_ days: Int) -> (Int, Int, Int) {
        let z = days + 719468
        let era = (z >= 0 ? z : z - 146096) / 146097
        let doe = z - era * 146097
        let yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365
        let doy = doe - (365 * yoe + yoe / 4 - yoe / 100)
        let mp = (5 * doy + 2) / 153
        let day = doy - (153 * mp + 2) / 5 + 1
        let month = mp < 10 ? mp + 3 : mp - 9
        return (yoe + era * 400 + (month <= 2 ? 1 : 0), month, day)
    }
}
