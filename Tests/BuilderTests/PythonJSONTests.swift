import Foundation
import Testing
@testable import Builder

/// Expected bytes come from CPython 3.11.7: `json.dumps(json.loads(text), indent=4)`.
@Suite("PythonJSON")
struct PythonJSONTests {
    private func dumps(_ value: JSONValue) -> String {
        String(decoding: PythonJSON.dumps(value), as: UTF8.self)
    }

    private func roundTrip(_ text: String) throws -> String {
        dumps(try JSONParser.parse(text))
    }

    private func syntaxError(_ text: String) -> JSONSyntaxError? {
        do {
            _ = try JSONParser.parse(text)
            return nil
        } catch {
            return error
        }
    }

    @Test("dumps nested objects, arrays and empty containers with four-space indentation")
    func nestedIndentation() {
        let value = JSONValue.object(JSONObject([
            ("a", .object(JSONObject([
                ("b", [1, .array([]), .object(JSONObject()), [2, .object(JSONObject([("c", .null)]))]]),
                ("d", .object(JSONObject())),
            ]))),
            ("e", .array([])),
            ("f", true),
            ("g", false),
            ("h", "x"),
        ]))
        #expect(dumps(value) == "{\n    \"a\": {\n        \"b\": [\n            1,\n            [],\n            {},\n            [\n                2,\n                {\n                    \"c\": null\n                }\n            ]\n        ],\n        \"d\": {}\n    },\n    \"e\": [],\n    \"f\": true,\n    \"g\": false,\n    \"h\": \"x\"\n}")
    }

    @Test("dumps empty top-level containers inline and a nested empty array indented once")
    func emptyContainers() {
        #expect(dumps(.array([])) == "[]")
        #expect(dumps(.object(JSONObject())) == "{}")
        #expect(dumps([.array([])]) == "[\n    []\n]")
    }

    @Test("escapes everything outside printable ASCII as ensure_ascii does")
    func ensureASCIIEscapes() {
        let text = "é日本😀\u{01}\u{7F}\u{2028}\"\\\u{08}\u{0C}\n\r\t/ ~\u{00}\u{1F}\u{80}\u{FFFF}"
        #expect(dumps(.string(text)) == #""\u00e9\u65e5\u672c\ud83d\ude00\u0001\u007f\u2028\"\\\b\f\n\r\t/ ~\u0000\u001f\u0080\uffff""#)
    }

    @Test(
        "spells floats as Python's repr",
        arguments: [
            (1.0, "1.0"), (0.1, "0.1"), (1e16, "1e+16"), (1e-05, "1e-05"), (0.0001, "0.0001"),
            (123456789012345680.0, "1.2345678901234568e+17"), (1.5e-7, "1.5e-07"), (-0.0, "-0.0"),
            (5e-324, "5e-324"), (1.7976931348623157e308, "1.7976931348623157e+308"),
            (1e15, "1000000000000000.0"), (9999999999999998.0, "9999999999999998.0"), (0.001, "0.001"),
            (100.0, "100.0"), (2.5e-5, "2.5e-05"), (1e22, "1e+22"), (12345.678, "12345.678"),
        ] as [(Double, String)]
    )
    func floatRepr(value: Double, expected: String) {
        #expect(dumps(.float(value)) == expected)
        #expect(PythonFloat.repr(value) == expected)
        #expect(PythonFloat.repr(-value) == (value.sign == .minus ? String(expected.dropFirst()) : "-" + expected))
    }

    @Test("spells NaN and the infinities as json.dumps in JSON and as repr outside it")
    func nonFiniteFloats() {
        #expect(dumps([.float(.nan), .float(.infinity), .float(-.infinity)]) == "[\n    NaN,\n    Infinity,\n    -Infinity\n]")
        #expect(PythonFloat.repr(.nan) == "nan")
        #expect(PythonFloat.repr(.infinity) == "inf")
        #expect(PythonFloat.repr(-.infinity) == "-inf")
    }

    @Test("keeps integer digits exactly, beyond 64 bits, and reads -0 as 0")
    func integersPreserved() throws {
        #expect(try roundTrip("[1180591620717411303424, -0, -12, 0, 1E2, 1e-2, 10.50, -0.0]")
            == "[\n    1180591620717411303424,\n    0,\n    -12,\n    0,\n    100.0,\n    0.01,\n    10.5,\n    -0.0\n]")
        #expect(try JSONParser.parse("1180591620717411303424") == .integer("1180591620717411303424"))
        #expect(try JSONParser.parse("-0") == .integer("0"))
        #expect(try JSONParser.parse("-7") == .integer("-7"))
        #expect(try JSONParser.parse("7.0") == .float(7))
    }

    @Test("reads NaN, Infinity and out-of-range exponents as json.loads does")
    func nonFiniteInput() throws {
        #expect(try roundTrip("[1e400, -1e400, Infinity, -Infinity]") == "[\n    Infinity,\n    -Infinity,\n    Infinity,\n    -Infinity\n]")
        guard case let .float(nan) = try JSONParser.parse("NaN") else {
            Issue.record("NaN did not parse as a float")
            return
        }
        #expect(nan.isNaN)
    }

    @Test("keeps the last value of a duplicate key at the key's first position")
    func duplicateKeys() throws {
        #expect(try roundTrip(#"{"a": 1, "b": 2, "a": 3}"#) == "{\n    \"a\": 3,\n    \"b\": 2\n}")
        let object = try #require(try JSONParser.parse(#"{"x": [], "y": null, "x": {"z": true}}"#).objectValue)
        #expect(object.keys == ["x", "y"])
        #expect(object["x"] == .object(JSONObject([("z", true)])))
    }

    @Test("refuses a duplicate key when asked, naming it and the object that holds it")
    func refusesDuplicateKeys() {
        func message(_ json: String) -> String? {
            do {
                _ = try JSONParser.parse(json, duplicateKeys: .refuse)
                return nil
            } catch {
                return error.description
            }
        }
        #expect(message(#"{"a": 1, "a": 2}"#) == #"invalid JSON at line 1, column 10: duplicate key "a""#)
        #expect(message("{\"config\": {\"Labels\": {\"x\": \"1\",\n \"x\": \"2\"}}}")
            == #"invalid JSON at line 2, column 2: duplicate key "x" in config.Labels"#)
        #expect(message(#"{"steps": [{}, {"k": 1, "k": 1}]}"#)?.hasSuffix(#"duplicate key "k" in steps[1]"#) == true)
        #expect(message(#"{"a": {"b": 1}, "b": {"a": 1}, "c": [{"a": 1}, {"a": 2}]}"#) == nil)
    }

    @Test("decodes escapes and surrogate pairs back to the same scalars")
    func escapesRoundTrip() throws {
        let parsed = try JSONParser.parse(#""\u00e9\u65e5\ud83d\ude00\/\"\\\b\f\n\r\t""#)
        #expect(parsed == .string("é日😀/\"\\\u{08}\u{0C}\n\r\t"))
        #expect(try JSONParser.parse("\"h\u{E9}llo \u{65E5}\"") == .string("héllo 日"))
    }

    @Test(
        "reports the line and column of a syntax error as json.loads counts them",
        arguments: [
            ("{\"a\": 1,\n  \"b\": }", 2, 8),
            ("[\"a\tb\"]", 1, 4),
            ("[1, 2,]", 1, 7),
            ("{\"a\": 1,}", 1, 9),
            ("{\"é\": x}", 1, 7),
            ("[1] 2", 1, 5),
            ("01", 1, 2),
            ("{\"a\" 1}", 1, 6),
            ("tru", 1, 1),
            ("", 1, 1),
            ("\n\n  @", 3, 3),
            ("[\n\"a\",\n\"日本\u{01}\"]", 3, 4),
        ] as [(String, Int, Int)]
    )
    func errorPositions(text: String, line: Int, column: Int) throws {
        let error = try #require(syntaxError(text))
        #expect(error.line == line)
        #expect(error.column == column)
    }

    @Test("points an unterminated string at the end of the input")
    func unterminatedString() throws {
        let error = try #require(syntaxError(#"{"a": "abc"#))
        #expect(error == JSONSyntaxError(line: 1, column: 11, message: "unterminated string"))
        #expect(error.description == "invalid JSON at line 1, column 11: unterminated string")
    }

    @Test("rejects a control character inside a string")
    func controlCharacter() throws {
        let error = try #require(syntaxError("\"a\u{01}b\""))
        #expect(error == JSONSyntaxError(line: 1, column: 3, message: "control character in a string"))
    }

    @Test("rejects a trailing comma in an array and in an object")
    func trailingComma() throws {
        #expect(syntaxError("[1,]") == JSONSyntaxError(line: 1, column: 4, message: "unexpected character ']'"))
        #expect(syntaxError("{\"a\": 1,\n}") == JSONSyntaxError(line: 2, column: 1, message: "expected a property name in double quotes"))
    }

    @Test("rejects lone surrogates, which no UTF-8 string can hold")
    func loneSurrogates() throws {
        #expect(syntaxError(#""\ud800""#) == JSONSyntaxError(line: 1, column: 8, message: "unpaired surrogate \\ud800 (not representable)"))
        #expect(syntaxError(#""\udc00x""#) == JSONSyntaxError(line: 1, column: 8, message: "unpaired surrogate \\udc00 (not representable)"))
        #expect(syntaxError(#""\ud800\u0041""#) == JSONSyntaxError(line: 1, column: 14, message: "invalid surrogate pair"))
    }

    @Test("rejects invalid UTF-8 inside a string")
    func invalidUTF8() throws {
        let error = try #require(syntaxError(Array("[\"a".utf8) + [0xC3, 0x28] + Array("\"]".utf8)))
        #expect(error == JSONSyntaxError(line: 1, column: 4, message: "invalid UTF-8 in a string"))
    }

    private func syntaxError(_ bytes: [UInt8]) -> JSONSyntaxError? {
        do {
            _ = try JSONParser.parse(bytes)
            return nil
        } catch {
            return error
        }
    }

    @Test("round-trips a realistic docker image config to json.dumps's exact bytes")
    func dockerConfigRoundTrip() throws {
        let input = #"{"architecture":"amd64","config":{"Env":["PATH=/nix/store/3c0b5xkyxy5h8j9v8s6q0fn1x1rjn6s2-bash-5.2/bin","LANG=C.UTF-8","GREETING=h\u00e9llo \"world\""],"Cmd":["/nix/store/3c0b5xkyxy5h8j9v8s6q0fn1x1rjn6s2-bash-5.2/bin/bash","-c","echo \u65e5\u672c\t\ud83d\ude00"],"ExposedPorts":{"80/tcp":{},"443/tcp":{}},"Labels":{"org.opencontainers.image.title":"demo","version":"1.0"},"Volumes":{"/data":{}},"WorkingDir":"/","User":"1000:100","StopSignal":"SIGTERM","Healthcheck":{"Test":["CMD","true"],"Interval":30000000000,"Retries":3,"StartPeriod":1.5e9}},"created":"1970-01-01T00:00:01+00:00","history":[{"created":"1970-01-01T00:00:01+00:00","comment":"store paths: ['/nix/store/3c0b5xkyxy5h8j9v8s6q0fn1x1rjn6s2-bash-5.2']"}],"os":"linux","rootfs":{"diff_ids":["sha256:5f70bf18a086007016e948b04aed3b82103a36bea41755b6cddfaf10ace3c6ef"],"type":"layers"}}"#
        let bytes = PythonJSON.dumps(try JSONParser.parse(input))
        #expect(bytes.count == 1389)
        #expect(Digest.of(bytes).hex == "0b87a987cb32538d049d0df094e0cdfdb7e135e94164fe98d2f9b9a6c4e5c3c6")
        let text = String(decoding: bytes, as: UTF8.self)
        #expect(text.hasPrefix("{\n    \"architecture\": \"amd64\",\n    \"config\": {\n        \"Env\": [\n"))
        #expect(text.contains("\"GREETING=h\\u00e9llo \\\"world\\\"\""))
        #expect(text.contains("\"StartPeriod\": 1500000000.0\n"))
        #expect(text.hasSuffix("        \"type\": \"layers\"\n    }\n}"))
        // Parsing the output gives the same value back.
        #expect(try JSONParser.parse(bytes) == JSONParser.parse(input))
    }
}
