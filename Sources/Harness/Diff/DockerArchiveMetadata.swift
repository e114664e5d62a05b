import Builder

/// The parts of a docker-archive's `manifest.json` and config the hasher and the diff use.
struct DockerManifest: Equatable {
    var configName: String
    var repoTags: [String]
    var layers: [String]

    static let memberName = "manifest.json"
    /// JSON documents are small; anything bigger is not a manifest or a config.
    static let jsonLimit: UInt64 = 64 << 20

    /// `docker save` writes a list with one entry per image; a single-image archive is what a
    /// build produces, so the first entry is the image.
    static func parse(_ bytes: [UInt8], label: String) throws -> DockerManifest {
        let value: JSONValue
        do { value = try JSONParser.parse(bytes) } catch {
            throw ArchiveError.invalidMetadata(label, "manifest.json is not valid JSON (\(error))")
        }
        guard let entry = value.arrayValue?.first?.objectValue else {
            throw ArchiveError.invalidMetadata(label, "manifest.json is not a list of image entries")
        }
        guard let config = entry["Config"]?.stringValue else {
            throw ArchiveError.invalidMetadata(label, "manifest.json names no Config")
        }
        guard let layerValues = entry["Layers"]?.arrayValue, layerValues.allSatisfy({ $0.stringValue != nil }) else {
            throw ArchiveError.invalidMetadata(label, "manifest.json has no list of Layers")
        }
        let tags = entry["RepoTags"]?.arrayValue?.compactMap(\.stringValue) ?? []
        return DockerManifest(configName: config, repoTags: tags, layers: layerValues.compactMap(\.stringValue))
    }

    /// Whether an outer member might be the config, so it is worth keeping before the
    /// manifest (which comes last) says which one it is.
    static func mayBeConfig(name: String, size: UInt64) -> Bool {
        !name.contains("/") && name.hasSuffix(".json") && name != memberName && size <= jsonLimit
    }
}

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
