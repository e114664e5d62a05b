/// How a `Difference` reads, for every edge that shows one (the `diff` command, check progress,
/// JUnit, the HTML and Markdown reports): one rendering, so they all say the same.
extension Difference {
    /// What differs, without where: `mtime 1 (…) vs 3600 (…)`, `content differs at byte 812: …`.
    public var statement: String {
        switch kind {
        case .entryContent:
            if lines != nil { return "content differs:" }
            if let offset { return "content differs at byte \(offset): \(control ?? "?") vs \(experiment ?? "?")" }
            return "content differs: \(control ?? "?") vs \(experiment ?? "?")"
        case .entryOnlyIn, .layerOnlyIn, .imageOnlyIn:
            return "\(field): \(control ?? experiment ?? "")"
        case .entryOrder, .layerOrder:
            return "\(field): \(control ?? "?") vs \(experiment ?? "?")"
        case .derived:
            return "\(field): " + (consequences ?? []).map(\.rawValue).joined(separator: ", ")
        case .omitted:
            return "… \(omitted ?? 0) \(field)"
        default:
            guard control != nil || experiment != nil else { return field }
            return "\(field) \(control ?? "(absent)") vs \(experiment ?? "(absent)")"
        }
    }

    /// One line for people: `layer 2 (…) nix/store/…/bin/hello: mtime 1 (…) vs 3600 (…)`; a text
    /// diff is reduced to its first removed and added lines.
    public var summary: String {
        let location = [layer, path].compactMap { $0 }.joined(separator: " ")
        var text = statement
        if let lines {
            let first = [lines.first { $0.kind == .removed }, lines.first { $0.kind == .added }].compactMap { $0?.rendered }
            text = "content differs (text): " + first.joined(separator: " / ")
        }
        return location.isEmpty ? text : "\(location): \(text)"
    }

    /// The unified diff of a text content difference, one rendered line each (`-host=vm`).
    public var diffLines: [String] { lines?.map(\.rendered) ?? [] }

    /// The field, control and experiment columns of a report table.
    public var cells: (field: String, control: String, experiment: String) {
        switch kind {
        case .entryContent where lines != nil:
            let removed = lines?.filter { $0.kind == .removed }.count ?? 0
            let added = lines?.filter { $0.kind == .added }.count ?? 0
            return ("content (text)", "\(removed) line\(removed == 1 ? "" : "s") removed", "\(added) line\(added == 1 ? "" : "s") added")
        case .entryContent where offset != nil:
            return ("content at byte \(offset ?? 0)", control ?? "", experiment ?? "")
        case .derived, .omitted:
            return (statement, "", "")
        default:
            return (field, control ?? "(absent)", experiment ?? "(absent)")
        }
    }
}

extension ArchiveDiff {
    /// A readable multi-line text: a count, then the differences grouped by where they are,
    /// causes first, with text diffs indented beneath their entry.
    public static func explain(_ differences: [Difference]) -> String {
        guard !differences.isEmpty else { return "The archives are identical.\n" }
        let count = differences.count == 1 ? "1 difference" : "\(differences.count) differences"
        var lines = ["The archives differ (\(count)):"]
        if !differences.contains(where: \.kind.mayBeContent) {
            lines.append("No difference in content: the same config and layers once decompressed; only how the image is packaged differs.")
        }
        var group: String?? = .none
        for difference in differences {
            if group != .some(difference.layer) {
                group = .some(difference.layer)
                lines.append("\(difference.layer ?? "archive"):")
            }
            lines.append("  " + (difference.path.map { "\($0): " } ?? "") + difference.statement)
            lines += difference.diffLines.map { "    " + $0 }
        }
        return lines.joined(separator: "\n") + "\n"
    }
}
