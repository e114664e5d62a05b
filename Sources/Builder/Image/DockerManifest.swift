/// A docker-archive's `manifest.json` (what `docker save` writes and `docker load` reads):
/// which member is the config and which members are the layers, in order. Base images, the
/// streaming hasher and the diff all read it through this one model.
public struct DockerManifest: Equatable, Sendable {
    public var configName: String
    public var repoTags: [String]
    public var layers: [String]

    public static let memberName = "manifest.json"
    /// JSON documents are small; anything bigger is not a manifest or a config.
    public static let jsonLimit: UInt64 = ByteLimits.document

    public init(configName: String, repoTags: [String], layers: [String]) {
        self.configName = configName
        self.repoTags = repoTags
        self.layers = layers
    }

    /// `docker save` writes a list with one entry per image; a single-image archive is what a
    /// build produces, so the first entry is the image.
    public static func parse(_ bytes: [UInt8], label: String) throws -> DockerManifest {
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
    public static func mayBeConfig(name: String, size: UInt64) -> Bool {
        !name.contains("/") && name.hasSuffix(".json") && name != memberName && size <= jsonLimit
    }

    /// Whether a member should be kept in memory while an archive is read once: the manifest
    /// or a possible config. A kept member larger than JSON can be is damage.
    public static func keeps(name: String, size: UInt64, label: String) throws -> Bool {
        let keep = name == memberName || mayBeConfig(name: name, size: size)
        if keep && size > jsonLimit {
            throw ArchiveError.invalidMetadata(label, "\(name) is \(size) bytes, larger than any manifest")
        }
        return keep
    }
}
