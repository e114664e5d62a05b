/// The Docker reference grammar (distribution/reference) for the repo tag an archive's
/// manifest names: `[host[:port]/]path-component[/path-component…]:tag`, where a path
/// component is lowercase `[a-z0-9]+` joined by `.`, `_`, `__` or runs of `-`, the tag is
/// `[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}` and the name is at most 255 characters. `docker load`
/// and skopeo refuse anything else, so it is refused before an image is written.
public enum ImageReference {
    /// What is wrong with `reference` as `name:tag`, or nil when it is valid.
    public static func problem(withTagged reference: String) -> String? {
        let allowed: (UInt8) -> Bool = { isWord($0) || isSeparatorByte($0) || $0 == UInt8(ascii: "/") || $0 == UInt8(ascii: ":") }
        if let bad = reference.utf8.first(where: { !allowed($0) }) {
            return "an image reference may not contain \(describe(bad))"
        }
        let lastSlash = reference.lastIndex(of: "/")
        let searchStart = lastSlash.map { reference.index(after: $0) } ?? reference.startIndex
        guard let colon = reference[searchStart...].lastIndex(of: ":") else {
            return "it has no tag (expected name:tag)"
        }
        if let problem = problem(withName: String(reference[..<colon])) { return problem }
        return problem(withTag: String(reference[reference.index(after: colon)...]))
    }

    /// What is wrong with a repository name (`registry:5000/team/app`), or nil.
    public static func problem(withName name: String) -> String? {
        guard !name.isEmpty else { return "the repository name is empty" }
        guard name.utf8.count <= 255 else { return "the repository name is longer than 255 characters" }
        var components = name.split(separator: "/", omittingEmptySubsequences: false).map(String.init)
        if components.count > 1, let host = components.first, looksLikeHost(host) {
            if let problem = problem(withHost: host) { return problem }
            components.removeFirst()
        }
        for component in components {
            if let problem = problem(withPathComponent: component) { return problem }
        }
        return nil
    }

    /// What is wrong with a tag, or nil.
    public static func problem(withTag tag: String) -> String? {
        let bytes = Array(tag.utf8)
        guard let first = bytes.first else { return "the tag is empty" }
        guard bytes.count <= 128 else { return "the tag is longer than 128 characters" }
        guard isWord(first) else { return "the tag must start with a letter, digit or underscore" }
        if let bad = bytes.first(where: { !isWord($0) && $0 != UInt8(ascii: ".") && $0 != UInt8(ascii: "-") }) {
            return "the tag may not contain \(describe(bad)) (only letters, digits, '_', '.' and '-')"
        }
        return nil
    }

    /// A first component is a registry host when it could not be a repository path: it has a
    /// dot, a port or uppercase letters, or is `localhost` (Docker's own rule).
    private static func looksLikeHost(_ component: String) -> Bool {
        component.contains(".") || component.contains(":") || component == "localhost"
            || component.utf8.contains { (0x41...0x5A).contains($0) }
    }

    private static func problem(withHost host: String) -> String? {
        let parts = host.split(separator: ":", maxSplits: 1, omittingEmptySubsequences: false)
        for label in parts[0].split(separator: ".", omittingEmptySubsequences: false) {
            let bytes = Array(label.utf8)
            guard let first = bytes.first, let last = bytes.last, isAlphanumeric(first, upper: true), isAlphanumeric(last, upper: true),
                  bytes.allSatisfy({ isAlphanumeric($0, upper: true) || $0 == UInt8(ascii: "-") }) else {
                return "the registry host \"\(host)\" is not a valid host name"
            }
        }
        if parts.count == 2 {
            guard !parts[1].isEmpty, parts[1].utf8.allSatisfy({ (0x30...0x39).contains($0) }) else {
                return "the registry port in \"\(host)\" is not a number"
            }
        }
        return nil
    }

    private static func problem(withPathComponent component: String) -> String? {
        let bytes = Array(component.utf8)
        guard !bytes.isEmpty else { return "the repository name has an empty path component" }
        if bytes.contains(where: { (0x41...0x5A).contains($0) }) { return "the repository name must be lowercase" }
        if let bad = bytes.first(where: { !isAlphanumeric($0, upper: false) && !isSeparatorByte($0) }) {
            return "the repository name may not contain \(describe(bad))"
        }
        guard let first = bytes.first, let last = bytes.last, isAlphanumeric(first, upper: false), isAlphanumeric(last, upper: false) else {
            return "a repository path component must start and end with a lowercase letter or digit (\"\(component)\")"
        }
        // Separators between alphanumeric runs: one '.', one or two '_', or any number of '-'.
        var index = 0
        while index < bytes.count {
            guard isSeparatorByte(bytes[index]) else { index += 1; continue }
            var end = index
            while end < bytes.count && isSeparatorByte(bytes[end]) { end += 1 }
            let run = bytes[index..<end]
            let valid = run == [UInt8(ascii: ".")] || run == [UInt8(ascii: "_")] || run == [UInt8(ascii: "_"), UInt8(ascii: "_")]
                || run.allSatisfy { $0 == UInt8(ascii: "-") }
            guard valid else {
                return "the separator \"\(String(decoding: run, as: UTF8.self))\" is not allowed in a repository name (use one '.', '_', '__' or dashes)"
            }
            index = end
        }
        return nil
    }

    private static func isAlphanumeric(_ byte: UInt8, upper: Bool) -> Bool {
        (0x30...0x39).contains(byte) || (0x61...0x7A).contains(byte) || (upper && (0x41...0x5A).contains(byte))
    }

    private static func isWord(_ byte: UInt8) -> Bool { isAlphanumeric(byte, upper: true) || byte == UInt8(ascii: "_") }

    private static func isSeparatorByte(_ byte: UInt8) -> Bool {
        byte == UInt8(ascii: ".") || byte == UInt8(ascii: "_") || byte == UInt8(ascii: "-")
    }

    private static func describe(_ byte: UInt8) -> String {
        switch byte {
        case 0x20: "spaces"
        case 0x21..<0x7F: "'\(Character(Unicode.Scalar(byte)))'"
        default: "non-ASCII or control characters"
        }
    }
}
