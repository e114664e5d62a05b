extension MarkdownReport {
    /// A fenced `diff` block, its fence one backtick longer than any run inside (so a line of
    /// backticks in a diffed file cannot close it).
    static func fenced(_ lines: [String]) -> String {
        var longest = 0
        for line in lines {
            var run = 0
            for character in line {
                run = character == "`" ? run + 1 : 0
                longest = max(longest, run)
            }
        }
        let fence = String(repeating: "`", count: max(3, longest + 1))
        return fence + "diff\n" + lines.joined(separator: "\n") + "\n" + fence + "\n"
    }
}
