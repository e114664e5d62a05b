@testable import Harness
import Testing

@Suite("Text diff")
struct TextDiffTests {
    static func diff(_ a: String, _ b: String) -> [String] {
        TextDiff.lines(Array(a.utf8), Array(b.utf8))?.map(\.rendered) ?? []
    }

    static func numbered(_ range: ClosedRange<Int>, changing: Set<Int> = [], to prefix: String = "new") -> String {
        range.map { changing.contains($0) ? "\(prefix) \($0)" : "line \($0)" }.joined(separator: "\n") + "\n"
    }

    @Test("gives nothing for equal texts")
    func equal() {
        #expect(TextDiff.lines(Array("a\n".utf8), Array("a\n".utf8)) == nil)
    }

    @Test("keeps three lines of context and merges nearby changes into one hunk")
    func hunks() {
        #expect(Self.diff(Self.numbered(1...20), Self.numbered(1...20, changing: [5, 9])) == [
            "@@ -2,11 +2,11 @@", " line 2", " line 3", " line 4", "-line 5", "+new 5", " line 6", " line 7", " line 8",
            "-line 9", "+new 9", " line 10", " line 11", " line 12",
        ])
        #expect(Self.diff(Self.numbered(1...30), Self.numbered(1...30, changing: [2, 25])) == [
            "@@ -1,5 +1,5 @@", " line 1", "-line 2", "+new 2", " line 3", " line 4", " line 5",
            "@@ -22,7 +22,7 @@", " line 22", " line 23", " line 24", "-line 25", "+new 25", " line 26", " line 27", " line 28",
        ])
    }

    @Test("shows inserted and deleted lines as a longest common subsequence would")
    func insertAndDelete() {
        #expect(Self.diff("a\nb\nc\n", "a\nx\nb\n") == ["@@ -1,3 +1,3 @@", " a", "+x", " b", "-c"])
        #expect(Self.diff("", "a\n") == ["@@ -0,0 +1 @@", "+a"])
    }

    @Test("marks a missing final newline")
    func finalNewline() {
        #expect(Self.diff("a\nb\n", "a\nb") == ["@@ -1,2 +1,2 @@", " a", "-b", "+b", "\\ No newline at end of file"])
    }

    @Test("stops at forty lines and counts the rest")
    func bounded() {
        let lines = Self.diff(Self.numbered(1...100), Self.numbered(1...100, changing: Set(1...100)))
        #expect(lines.count == TextDiff.maxLines)
        #expect(lines.last == "… 162 more diff lines")
    }

    @Test("cuts very long lines")
    func longLine() {
        let long = String(repeating: "x", count: 500)
        let lines = Self.diff(long + "\n", long + "y\n")
        #expect(lines[1] == "-" + String(repeating: "x", count: TextDiff.maxLineCharacters) + "…")
    }

    @Test("shows a middle too large to match line by line as removed then added")
    func largeMiddle() {
        let count = 3000
        let a = Self.numbered(1...count), b = Self.numbered(1...count, changing: Set(1...count), to: "other")
        #expect(count * count > TextDiff.maxCells)
        let lines = Self.diff(a, b)
        #expect(lines.prefix(3) == ["@@ -1,3000 +1,3000 @@", "-line 1", "-line 2"])
    }

    @Test("takes only valid UTF-8 without NUL as text")
    func textOrBinary() {
        #expect(TextDiff.isText(Array("héllo\n".utf8)))
        #expect(!TextDiff.isText([0x61, 0x00, 0x62]))
        #expect(!TextDiff.isText([0xFF, 0xFE]))
    }

    @Test("fences a diff in Markdown with one backtick more than any run inside")
    func markdownFence() {
        #expect(MarkdownReport.fenced(["-a", "+b"]) == "```diff\n-a\n+b\n```\n")
        #expect(MarkdownReport.fenced(["-````", "+x"]) == "`````diff\n-````\n+x\n`````\n")
    }
}
