/// The image formats `build` can write.
public enum ImageFormat: String, Sendable, CaseIterable, Codable {
    /// nixpkgs' uncompressed `docker save` layout, byte for byte.
    case dockerArchive = "docker-archive"
    /// A tar of an OCI image layout.
    case ociArchive = "oci-archive"
    /// An OCI image layout as a directory.
    case ociLayout = "oci-layout"
    /// One tar that is both a docker-archive and an OCI layout, sharing its blobs (as Docker 25+
    /// `docker save` writes).
    case dual

    public var isOCI: Bool { self != .dockerArchive }
}

/// A content descriptor (OCI image spec, descriptor.md): what a manifest says about a blob.
public struct OCIDescriptor: Sendable, Equatable {
    public var mediaType: String
    public var digest: Digest
    public var size: UInt64

    public init(mediaType: String, digest: Digest, size: UInt64) {
        self.mediaType = mediaType
        self.digest = digest
        self.size = size
    }

    var json: JSONObject {
        JSONObject([("mediaType", .string(mediaType)), ("digest", .string(digest.description)), ("size", .integer(String(size)))])
    }

    /// Where a layout stores the blob.
    public var blobPath: String { "blobs/sha256/\(digest.hex)" }
}

/// The documents of an OCI image layout (image-layout.md, manifest.md, image-index.md), written
/// as compact JSON with a fixed key order: the manifest's bytes are what its digest names, and a
/// registry keeps them as pushed.
public enum OCIDocuments {
    public static let manifestMediaType = "application/vnd.oci.image.manifest.v1+json"
    public static let indexMediaType = "application/vnd.oci.image.index.v1+json"
    public static let configMediaType = "application/vnd.oci.image.config.v1+json"
    /// The index annotation naming a manifest's tag (annotations.md), which `skopeo oci:DIR:TAG`
    /// and `umoci --image DIR:TAG` look up.
    public static let refNameAnnotation = "org.opencontainers.image.ref.name"

    public static func manifest(config: OCIDescriptor, layers: [OCIDescriptor]) -> [UInt8] {
        compact(.object(JSONObject([
            ("schemaVersion", .integer("2")),
            ("mediaType", .string(manifestMediaType)),
            ("config", .object(config.json)),
            ("layers", .array(layers.map { .object($0.json) })),
        ])))
    }

    /// `index.json`: one manifest, tagged.
    public static func index(manifest: OCIDescriptor, tag: String) -> [UInt8] {
        var entry = manifest.json
        entry["annotations"] = .object(JSONObject([(refNameAnnotation, .string(tag))]))
        return compact(.object(JSONObject([
            ("schemaVersion", .integer("2")),
            ("mediaType", .string(indexMediaType)),
            ("manifests", .array([.object(entry)])),
        ])))
    }

    /// `oci-layout`: the layout version marker.
    public static let layoutMarker = Array(#"{"imageLayoutVersion":"1.0.0"}"#.utf8)

    /// The docker-archive `manifest.json` of a dual archive, naming the same blobs.
    public static func dockerManifest(config: OCIDescriptor, repoTag: String, layers: [OCIDescriptor]) -> [UInt8] {
        compact(.array([.object(JSONObject([
            ("Config", .string(config.blobPath)),
            ("RepoTags", .array([.string(repoTag)])),
            ("Layers", .array(layers.map { .string($0.blobPath) })),
        ]))]))
    }

    /// The tag part of a repo tag (`name:tag` → `tag`; a colon inside a registry's host:port is
    /// not a tag), or `latest` when it names none, as Docker reads it.
    public static func tag(ofRepoTag repoTag: String) -> String {
        let lastComponent = repoTag.split(separator: "/", omittingEmptySubsequences: false).last ?? Substring(repoTag)
        guard let colon = lastComponent.lastIndex(of: ":") else { return "latest" }
        return String(lastComponent[lastComponent.index(after: colon)...])
    }

    /// JSON without whitespace, ASCII only.
    static func compact(_ value: JSONValue) -> [UInt8] {
        var out: [UInt8] = []
        writeCompact(value, into: &out)
        return out
    }

    private static func writeCompact(_ value: JSONValue, into out: inout [UInt8]) {
        switch value {
        case let .array(items):
            out.append(UInt8(ascii: "["))
            for (position, item) in items.enumerated() {
                if position > 0 { out.append(UInt8(ascii: ",")) }
                writeCompact(item, into: &out)
            }
            out.append(UInt8(ascii: "]"))
        case let .object(object):
            out.append(UInt8(ascii: "{"))
            for (position, entry) in object.entries.enumerated() {
                if position > 0 { out.append(UInt8(ascii: ",")) }
                PythonJSON.writeString(entry.key, into: &out)
                out.append(UInt8(ascii: ":"))
                writeCompact(entry.value, into: &out)
            }
            out.append(UInt8(ascii: "}"))
        default:
            out += PythonJSON.dumps(value)
        }
    }
}
