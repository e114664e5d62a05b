import Builder

enum ImageConfigHistory {
    static func parse(_ bytes: [UInt8], label: String) throws -> JSONValue {
        do { return try JSONParser.parse(bytes) } catch {
            throw ArchiveError.invalidMetadata(label, "the image config is not valid JSON (\(error))")
        }
    }

    /// The store paths each layer's history entry names (`store paths: ['…', …]`, what
    /// nixpkgs writes), one list per non-empty history entry; layers whose comment is
    /// something else (a base image's) get an empty list.
    static func layerPaths(config: JSONValue, layerCount: Int) -> [[String]] {
        let history = config.objectValue?["history"]?.arrayValue ?? []
        let layerEntries = history.filter { $0.objectValue?["empty_layer"] != .bool(true) }
        return (0..<layerCount).map { index in
            guard index < layerEntries.count,
                  let comment = layerEntries[index].objectValue?["comment"]?.stringValue,
                  comment.hasPrefix(prefix)
            else { return [] }
            return PythonStringList.parse(String(comment.dropFirst(prefix.count))) ?? []
        }
    }

    private static let prefix = "store paths: "
}

/// Reads back what `PythonRepr.list` writes: a Python list of string literals.
enum PythonStringList {
    static func parse(_ text: String) -> [String]? {
        let scalars = Array(text.unicodeScalars)
        var index = 0
        func skipSpaces() { while index < scalars.count, scalars[index] == " " { index += 1 } }
        guard scalars.first == "[" else { return nil }
        index = 1
        var items: [String] = []
        skipSpaces()
        if index < scalars.count, scalars[index] == "]" { return index + 1 == scalars.count ? [] : nil }
        while index < scalars.count {
            skipSpaces()
            guard index < scalars.count, scalars[index] == "'" || scalars[index] == "\"" else { return nil }
            let quote = scalars[index]
            index += 1
            var item = String.UnicodeScalarView()
            var closed = false
            while index < scalars.count {
                let scalar = scalars[index]
                index += 1
                if scalar == quote { closed = true; break }
                guard scalar == "\\" else { item.append(scalar); continue }
                guard index < scalars.count else { return nil }
                let escape = scalars[index]
                index += 1
                switch escape {
                case "\\", "'", "\"": item.append(escape)
                case "t": item.append("\t")
                case "n": item.append("\n")
                case "r": item.append("\r")
                case "x", "u", "U":
                    let width = escape == "x" ? 2 : escape == "u" ? 4 : 8
                    guard index + width <= scalars.count,
                          let code = UInt32(String(String.UnicodeScalarView(scalars[index..<(index + width)])), radix: 16),
                          let decoded = Unicode.Scalar(code)
                    else { return nil }
                    item.append(decoded)
                    index += width
                default: return nil
                }
            }
            guard closed else { return nil }
            items.append(String(item))
            skipSpaces()
            guard index < scalars.count else { return nil }
            if scalars[index] == "]" { return index + 1 == scalars.count ? items : nil }
            guard scalars[index] == "," else { return nil }
            index += 1
        }
        return nil
    }
}
