/// A misspelt subcommand (`repro-check chek`) gets the nearest real one named, rather than
/// ArgumentParser's "unexpected argument".
enum SubcommandSuggestion {
    /// The one-line error for `arguments` (without the program name) when its first word is
    /// meant as a subcommand but names none; nil when there is nothing to correct.
    static func error(for arguments: [String], known: [String]) -> String? {
        guard let word = arguments.first, !word.hasPrefix("-"), word != "help", !known.contains(word) else { return nil }
        let ranked = known.map { (name: $0, distance: distance(word, $0)) }.sorted { ($0.distance, $0.name) < ($1.distance, $1.name) }
        if let best = ranked.first, best.distance <= max(2, word.count / 3) {
            return "unknown subcommand '\(word)'; did you mean '\(best.name)'?"
        }
        return "unknown subcommand '\(word)'; the subcommands are \(known.joined(separator: ", "))"
    }

    /// Levenshtein distance over characters, with a transposition counting as one edit
    /// (`chekc` is one slip from `check`).
    static func distance(_ a: String, _ b: String) -> Int {
        let a = Array(a), b = Array(b)
        guard !a.isEmpty else { return b.count }
        guard !b.isEmpty else { return a.count }
        var table = [[Int]](repeating: [Int](repeating: 0, count: b.count + 1), count: a.count + 1)
        for i in 0...a.count { table[i][0] = i }
        for j in 0...b.count { table[0][j] = j }
        for i in 1...a.count {
            for j in 1...b.count {
                let cost = a[i - 1] == b[j - 1] ? 0 : 1
                table[i][j] = min(table[i - 1][j] + 1, table[i][j - 1] + 1, table[i - 1][j - 1] + cost)
                if i > 1, j > 1, a[i - 1] == b[j - 2], a[i - 2] == b[j - 1] {
                    table[i][j] = min(table[i][j], table[i - 2][j - 2] + 1)
                }
            }
        }
        return table[a.count][b.count]
    }
}
