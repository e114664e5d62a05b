import Testing
@testable import Builder

/// Expected values come from CPython 3.11.7:
/// `d = datetime.fromisoformat(text); d.isoformat(), int(d.timestamp())`.
@Suite("PythonDateTime")
struct PythonDateTimeTests {
    @Test(
        "parses and re-spells aware times as fromisoformat(...).isoformat()",
        arguments: [
            ("1970-01-01T00:00:01Z", "1970-01-01T00:00:01+00:00", 1),
            ("2023-06-15T10:20:30.123456+02:00", "2023-06-15T10:20:30.123456+02:00", 1686817230),
            ("2021-01-01T12:00:00-05:00", "2021-01-01T12:00:00-05:00", 1609520400),
            ("2023-06-15T10:20:30.1Z", "2023-06-15T10:20:30.100000+00:00", 1686824430),
            ("2023-06-15T10:20:30.123Z", "2023-06-15T10:20:30.123000+00:00", 1686824430),
            ("2023-06-15T10:20:30.1234567Z", "2023-06-15T10:20:30.123456+00:00", 1686824430),
            ("2023-06-15T10:20:30.0000001Z", "2023-06-15T10:20:30+00:00", 1686824430),
            ("2023-06-15T10:20:30,5Z", "2023-06-15T10:20:30.500000+00:00", 1686824430),
            ("2023-06-15T10:20:30+0530", "2023-06-15T10:20:30+05:30", 1686804630),
            ("2023-06-15T10:20:30+05:30:15", "2023-06-15T10:20:30+05:30:15", 1686804615),
            ("2023-06-15T10:20:30+05:30:15.5", "2023-06-15T10:20:30+05:30:15.500000", 1686804614),
            ("2023-06-15T10:20:30-23:59:59.999999", "2023-06-15T10:20:30-23:59:59.999999", 1686910829),
            ("2023-06-15T10:20:30+02", "2023-06-15T10:20:30+02:00", 1686817230),
            ("2023-06-15T10:20:30-00:00", "2023-06-15T10:20:30+00:00", 1686824430),
            ("2023-06-15T10:20:30+05:60", "2023-06-15T10:20:30+06:00", 1686802830),
            ("2023-06-15T10:20:30+05:30:60", "2023-06-15T10:20:30+05:31", 1686804570),
            ("2023-06-15T10Z", "2023-06-15T10:00:00+00:00", 1686823200),
            ("2023-06-15T10:20Z", "2023-06-15T10:20:00+00:00", 1686824400),
            ("1969-12-31T23:59:59.5Z", "1969-12-31T23:59:59.500000+00:00", 0),
            ("1969-12-31T23:59:59Z", "1969-12-31T23:59:59+00:00", -1),
            ("1960-06-01T00:00:00.25Z", "1960-06-01T00:00:00.250000+00:00", -302486399),
            // timestamp() is a correctly rounded float: far from 1970 a .999999 fraction rounds
            // up to the next second before int() truncates.
            ("9999-12-31T23:59:59.999999Z", "9999-12-31T23:59:59.999999+00:00", 253402300800),
            ("3000-06-15T10:20:30.9999995Z", "3000-06-15T10:20:30.999999+00:00", 32517973231),
            ("2500-01-01T00:00:00.999999Z", "2500-01-01T00:00:00.999999+00:00", 16725225600),
            ("1000-01-01T00:00:00.000001Z", "1000-01-01T00:00:00.000001+00:00", -30610224000),
            ("2023-06-15T10:20:30.999999Z", "2023-06-15T10:20:30.999999+00:00", 1686824430),
            ("0001-01-01T00:00:00Z", "0001-01-01T00:00:00+00:00", -62135596800),
        ] as [(String, String, Int)]
    )
    func aware(text: String, isoformat: String, epoch: Int) throws {
        let parsed = try #require(PythonDateTime.parse(text))
        #expect(parsed.isoformat() == isoformat)
        #expect(parsed.description == isoformat)
        #expect(parsed.epochSeconds == epoch)
    }

    @Test(
        "parses and re-spells naive times as fromisoformat(...).isoformat()",
        arguments: [
            ("2024-02-29", "2024-02-29T00:00:00"),
            ("2000-02-29", "2000-02-29T00:00:00"),
            ("20240229T101112", "2024-02-29T10:11:12"),
            ("20230615", "2023-06-15T00:00:00"),
            ("2024-05-01 12:00", "2024-05-01T12:00:00"),
            ("2024-05-01T12", "2024-05-01T12:00:00"),
            ("2024-05-01T1230", "2024-05-01T12:30:00"),
            ("2023-06-15T102030", "2023-06-15T10:20:30"),
            ("2023-06-15é10:20", "2023-06-15T10:20:00"),
        ] as [(String, String)]
    )
    func naive(text: String, isoformat: String) throws {
        let parsed = try #require(PythonDateTime.parse(text))
        #expect(parsed.offsetMicroseconds == nil)
        #expect(parsed.isoformat() == isoformat)
    }

    @Test("keeps the parsed fields and the offset in microseconds")
    func fields() throws {
        let parsed = try #require(PythonDateTime.parse("2023-06-15T10:20:30.123456-05:30:15.5"))
        #expect(parsed == PythonDateTime(
            year: 2023, month: 6, day: 15, hour: 10, minute: 20, second: 30, microsecond: 123_456,
            offsetMicroseconds: -((5 * 3600 + 30 * 60 + 15) * 1_000_000 + 500_000)
        ))
    }

    @Test("reads a naive time as UTC for the epoch")
    func naiveEpoch() throws {
        #expect(try #require(PythonDateTime.parse("2023-06-15T10:20:30")).epochSeconds == 1686824430)
        #expect(try #require(PythonDateTime.parse("1970-01-01")).epochMicroseconds == 0)
    }

    @Test(
        "rejects what fromisoformat rejects",
        arguments: [
            "2023-02-30", "1900-02-29", "2023-13-01", "2023-00-10", "2023-06-00", "24:00", "2023-06-15T24:00",
            "2023-06-15T10:60", "2023-06-15T10:20:60", "yesterday", "", "2023-06-15T10:20:30+25:00",
            "2023-06-15T10:20:30+24:00", "2023-06-15T10:20:30.", "2023-06-15T", "2023-06-15 ", "2023-0615",
            "2023-06-15T10:2030", "2023-06-15T1020:30", "2023-06-15T10:20:30Z ", "2023-06-15T10:20:30z",
            "2023-06-15T10:20:30+02:00Z", "2023-06-15T10:20:30.123Z+01:00", "2023-06-15T10:20:30+0530:15",
            "2023-06-15T10:20:30+05:3015", "2023-166", "0000-01-01",
        ]
    )
    func rejected(text: String) {
        #expect(PythonDateTime.parse(text) == nil)
    }

    @Test("builds a UTC time from epoch microseconds, before and after 1970")
    func fromEpoch() {
        #expect(PythonDateTime.fromEpoch(microseconds: 1_686_824_430_500_000).isoformat() == "2023-06-15T10:20:30.500000+00:00")
        #expect(PythonDateTime.fromEpoch(microseconds: -500_000).isoformat() == "1969-12-31T23:59:59.500000+00:00")
        #expect(PythonDateTime.fromEpoch(microseconds: -62_135_596_800_000_000).isoformat() == "0001-01-01T00:00:00+00:00")
        #expect(PythonDateTime.fromEpoch(microseconds: 951_782_400_000_000).isoformat() == "2000-02-29T00:00:00+00:00")
    }
}
