import Testing
@testable import Builder

/// Expected spellings come from CPython 3.11.7's `repr()`.
@Suite("PythonRepr")
struct PythonReprTests {
    @Test(
        "spells a string as Python's repr",
        arguments: [
            ("plain", "'plain'"),
            ("", "''"),
            ("it's", #""it's""#),
            (#"say "hi""#, #"'say "hi"'"#),
            (#"both ' and ""#, #"'both \' and "'"#),
            (#"back\slash"#, #"'back\\slash'"#),
            ("line\nbreak\ttab\rcr", #"'line\nbreak\ttab\rcr'"#),
            ("del\u{7F}", #"'del\x7f'"#),
            ("c1\u{80}\u{85}\u{9F}", #"'c1\x80\x85\x9f'"#),
            ("nbsp\u{A0}soft\u{AD}", #"'nbsp\xa0soft\xad'"#),
            ("\u{00}\u{1B}", #"'\x00\x1b'"#),
            ("é日本", "'é日本'"),
            ("a\u{200D}b", #"'a\u200db'"#),
            ("x\u{2028}y", #"'x\u2028y'"#),
            ("space\u{3000}", #"'space\u3000'"#),
            ("bom\u{FEFF}", #"'bom\ufeff'"#),
            ("private\u{E000}", #"'private\ue000'"#),
            ("emoji😀", "'emoji😀'"),
            ("tag\u{E0001}x", #"'tag\U000e0001x'"#),
        ] as [(String, String)]
    )
    func string(text: String, expected: String) {
        #expect(PythonRepr.string(text) == expected)
    }

    @Test("spells a list of strings as Python's repr of a list")
    func list() {
        #expect(PythonRepr.list(["/nix/store/abc-x", "it's"]) == #"['/nix/store/abc-x', "it's"]"#)
        #expect(PythonRepr.list([]) == "[]")
        #expect(PythonRepr.list(["a\nb", "é"]) == #"['a\nb', 'é']"#)
    }
}
