/// GitHub Actions workflow commands (`::error file=…::…`), one per failing spec, so a failure
/// shows on the spec file in the run's summary and the pull request.
public enum GitHubAnnotations {
    /// One `::error` line per spec that failed, then one per other reason the gate fails.
    public static func errors(_ report: CheckReport, relativeTo base: String?) -> [String] {
        var lines: [String] = []
        for result in report.results.sorted(by: { $0.specName < $1.specName }) {
            guard let verdict = JUnitReport.verdict(result, report: report), verdict.kind != .skipped else { continue }
            let file = JUnitReport.displayPath(result.specPath, relativeTo: base)
            let message = verdict.message.split(separator: "\n").prefix(3).joined(separator: "\n")
            lines.append(command(file: file, title: "repro-check: \(result.specName) (\(verdict.type))", message: message))
        }
        for failure in report.gateFailures {
            switch failure {
            case .skippedVariations, .interrupted:
                lines.append(command(file: nil, title: "repro-check", message: failure.summary))
            case .specsFailed, .drift, .pin, .slowdown:
                continue  // already said on each spec
            }
        }
        return lines
    }

    static func command(file: String?, title: String, message: String) -> String {
        var properties: [String] = []
        if let file { properties.append("file=\(escapeProperty(file))") }
        properties.append("title=\(escapeProperty(title))")
        return "::error \(properties.joined(separator: ","))::\(escapeData(message))"
    }

    /// GitHub's escaping for a command's message.
    static func escapeData(_ text: String) -> String {
        var out = ""
        for character in text.unicodeScalars {
            switch character {
            case "%": out += "%25"
            case "\r": out += "%0D"
            case "\n": out += "%0A"
            default: out.unicodeScalars.append(character)
            }
        }
        return out
    }

    /// GitHub's escaping for a command's properties: the message escaping plus `:` and `,`.
    static func escapeProperty(_ text: String) -> String {
        escapeData(text).split(separator: ":", omittingEmptySubsequences: false).joined(separator: "%3A")
            .split(separator: ",", omittingEmptySubsequences: false).joined(separator: "%2C")
    }
}
