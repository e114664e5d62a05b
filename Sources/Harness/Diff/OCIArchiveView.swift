import Builder

/// The OCI image layout inside a streamed archive (`oci-archive`, or the OCI half of `dual`),
/// resolved from what ``ArchiveHasher`` kept and hashed: `oci-layout`, then `index.json` →
/// manifest → config → layers. Every blob it reaches must be in the stream with the size its
/// descriptor states (its sha256 was checked against its name as it streamed past).
struct OCIArchiveView {
    /// A blob member as it streamed past.
    struct Blob {
        var digest: Digest
        var size: UInt64
    }

    let label: String
    /// Members kept whole: `index.json`, `oci-layout` and small JSON blobs.
    let kept: [String: [UInt8]]
    /// Every `blobs/sha256/…` member's digest and size, by digest.
    let blobs: [Digest: Blob]

    static let blobPrefix = "blobs/sha256/"
    static let indexName = "index.json"
    static let layoutName = "oci-layout"

    struct Resolved {
        var manifest: OCIDescriptor
        var config: OCIDescriptor
        var layers: [OCIDescriptor]
        var diffIDs: [Digest]
        var paths: [[String]]
        var tag: String?
    }

    func resolve() throws -> Resolved {
        let layout = try json(Self.layoutName, what: "oci-layout")
        guard layout.objectValue?["imageLayoutVersion"]?.stringValue != nil else {
            throw ArchiveError.invalidMetadata(label, "oci-layout names no imageLayoutVersion")
        }
        let index = try json(Self.indexName, what: "index.json")
        guard let entries = index.objectValue?["manifests"]?.arrayValue, let entry = entries.first else {
            throw ArchiveError.invalidMetadata(label, "index.json lists no manifest")
        }
        // A build writes one image; a second entry would be an image the check never compares.
        guard entries.count == 1 else {
            throw ArchiveError.invalidMetadata(label, "index.json lists \(entries.count) manifests, but a build writes one")
        }
        let manifest = try descriptor(entry, in: "index.json")
        let tag = entry.objectValue?["annotations"]?.objectValue?[OCIDocuments.refNameAnnotation]?.stringValue
        let manifestValue = try blobJSON(manifest, what: "the manifest")
        guard let configValue = manifestValue.objectValue?["config"] else {
            throw ArchiveError.invalidMetadata(label, "the manifest \(manifest.digest) names no config")
        }
        let config = try descriptor(configValue, in: "the manifest")
        guard let layerValues = manifestValue.objectValue?["layers"]?.arrayValue else {
            throw ArchiveError.invalidMetadata(label, "the manifest \(manifest.digest) has no list of layers")
        }
        let layers = try layerValues.map { try descriptor($0, in: "the manifest") }
        for layer in layers { try present(layer, what: "layer") }
        let configJSON = try blobJSON(config, what: "the config")
        let diffIDTexts = configJSON.objectValue?["rootfs"]?.objectValue?["diff_ids"]?.arrayValue ?? []
        let diffIDs = diffIDTexts.compactMap { $0.stringValue.flatMap(Digest.init(parsing:)) }
        guard diffIDs.count == diffIDTexts.count, diffIDs.count == layers.count else {
            throw ArchiveError.invalidMetadata(
                label, "the config lists \(diffIDTexts.count) valid diff_ids for \(layers.count) layers in the manifest")
        }
        let paths = ImageConfigHistory.layerPaths(config: configJSON, layerCount: layers.count)
        return Resolved(manifest: manifest, config: config, layers: layers, diffIDs: diffIDs, paths: paths, tag: tag)
    }

    private func json(_ name: String, what: String) throws -> JSONValue {
        guard let bytes = kept[name] else { throw ArchiveError.missingMember(label, name) }
        do { return try JSONParser.parse(bytes) } catch {
            throw ArchiveError.invalidMetadata(label, "\(what) is not valid JSON (\(error))")
        }
    }

    /// A blob the layout needs as JSON: present with its stated size, and kept.
    private func blobJSON(_ descriptor: OCIDescriptor, what: String) throws -> JSONValue {
        try present(descriptor, what: what)
        return try json(descriptor.blobPath, what: "\(what) \(descriptor.digest)")
    }

    private func present(_ descriptor: OCIDescriptor, what: String) throws {
        guard let blob = blobs[descriptor.digest] else { throw ArchiveError.missingMember(label, descriptor.blobPath) }
        guard blob.size == descriptor.size else {
            throw ArchiveError.invalidMetadata(
                label, "\(what) \(descriptor.blobPath) is \(blob.size) bytes, but its descriptor says \(descriptor.size)")
        }
    }

    private func descriptor(_ value: JSONValue, in document: String) throws -> OCIDescriptor {
        guard let object = value.objectValue, let mediaType = object["mediaType"]?.stringValue,
            let digestText = object["digest"]?.stringValue, let digest = Digest(parsing: digestText),
            case let .integer(sizeText)? = object["size"], let size = UInt64(sizeText)
        else {
            throw ArchiveError.invalidMetadata(label, "\(document) has a descriptor without a mediaType, sha256 digest and size")
        }
        return OCIDescriptor(mediaType: mediaType, digest: digest, size: size)
    }
}
