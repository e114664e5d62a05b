import Builder

/// Where the documents and blobs of an OCI image layout are read from: a tar read once
/// (``ArchiveBlobs``), a directory (``DirectoryBlobs``), or a stream as it went past the hasher
/// (``OCIArchiveView``). Each store checks a blob's bytes against its digest its own way.
protocol LayoutStore {
    /// A top-level document (`index.json`, `oci-layout`, `manifest.json`), nil when absent.
    mutating func document(_ name: String) throws -> [UInt8]?
    /// A blob's size and place, its bytes checked against its digest; nil when absent.
    mutating func blob(_ digest: Digest) throws -> (UInt64, ImageRead.BlobLocation)?
    /// A small blob's bytes.
    mutating func bytes(at location: ImageRead.BlobLocation) throws -> [UInt8]
}

/// An OCI image layout resolved the one way both the hasher and the diff resolve it:
/// `oci-layout`, then `index.json` → manifest → config → layers, every descriptor checked
/// (media type, sha256 digest, size against its blob) and every blob it names present.
struct OCILayout {
    /// An image manifest `index.json` lists, and what tells it apart from the others.
    struct Entry {
        /// Its position among the `manifests` of `index.json`.
        var position: Int
        var descriptor: OCIDescriptor
        /// `os/architecture[/variant]`, when the entry names a platform.
        var platform: String?
        /// Its `org.opencontainers.image.ref.name` annotation.
        var refName: String?
    }

    /// One image of the layout: its manifest, config and layers.
    struct Image {
        var entry: Entry
        var manifest: ImageRead.Document
        var configDescriptor: OCIDescriptor
        var config: ImageRead.Document
        var layers: [ImageRead.Layer]
    }

    var marker: ImageRead.Document
    var index: ImageRead.Document
    /// How many manifests `index.json` lists, image manifests or not.
    var manifestCount: Int
    /// The image manifests `index.json` lists, in its order (at least one).
    var entries: [Entry]

    /// The layout with the first image manifest `index.json` lists resolved.
    static func resolve<Store: LayoutStore>(_ store: inout Store, label: String) throws -> (OCILayout, Image) {
        let layout = try open(&store, label: label)
        return (layout, try layout.image(layout.entries[0], &store, label: label))
    }

    /// `oci-layout` and `index.json`, every manifest descriptor checked.
    static func open<Store: LayoutStore>(_ store: inout Store, label: String) throws -> OCILayout {
        guard let indexBytes = try store.document(OCILayoutNames.index) else {
            throw ArchiveError.missingMember(label, OCILayoutNames.index)
        }
        guard let markerBytes = try store.document(OCILayoutNames.marker) else {
            throw ArchiveError.missingMember(label, OCILayoutNames.marker)
        }
        let markerJSON = try parse(markerBytes, OCILayoutNames.marker, label: label)
        guard markerJSON.objectValue?["imageLayoutVersion"]?.stringValue != nil else {
            throw ArchiveError.invalidMetadata(label, "oci-layout names no imageLayoutVersion")
        }
        let indexJSON = try parse(indexBytes, OCILayoutNames.index, label: label)
        guard let indexObject = indexJSON.objectValue else {
            throw ArchiveError.invalidMetadata(label, "index.json is not a JSON object")
        }
        if let mediaType = indexObject["mediaType"], mediaType != .string(OCIDocuments.indexMediaType) {
            throw ArchiveError.invalidMetadata(label, "index.json has media type \(JSONDiff.render(mediaType)), not \(OCIDocuments.indexMediaType)")
        }
        guard let values = indexObject["manifests"]?.arrayValue, !values.isEmpty else {
            throw ArchiveError.invalidMetadata(label, "index.json lists no manifests")
        }
        let descriptors = try values.enumerated().map { position, entry in
            try descriptor(entry, "manifests[\(position)] of index.json", label: label)
        }
        // What is not an image manifest (a nested index, an artifact) is not an image to compare.
        let entries = descriptors.indices.filter { ImageRead.manifestMediaTypes.contains(descriptors[$0].mediaType) }.map { position in
            let object = values[position].objectValue
            return Entry(
                position: position, descriptor: descriptors[position], platform: platform(object?["platform"]),
                refName: object?["annotations"]?.objectValue?[OCIDocuments.refNameAnnotation]?.stringValue)
        }
        guard !entries.isEmpty else {
            throw ArchiveError.invalidMetadata(label, "index.json names no image manifest")
        }
        return OCILayout(
            marker: ImageRead.Document(digest: Digest.of(markerBytes), json: markerJSON),
            index: ImageRead.Document(digest: Digest.of(indexBytes), json: indexJSON), manifestCount: values.count, entries: entries)
    }

    /// `os/architecture`, with `/variant` when there is one (image-index.md); nil without both.
    private static func platform(_ value: JSONValue?) -> String? {
        guard let object = value?.objectValue, let os = object["os"]?.stringValue, let architecture = object["architecture"]?.stringValue else {
            return nil
        }
        return [os, architecture, object["variant"]?.stringValue].compactMap { $0 }.joined(separator: "/")
    }

    /// The image an entry of `index.json` names: manifest, config and layers, every blob checked.
    /// With several images, what is wrong is said of the entry that names it.
    func image<Store: LayoutStore>(_ entry: Entry, _ store: inout Store, label: String) throws -> Image {
        let label = entries.count > 1 ? "\(label) (manifests[\(entry.position)] of index.json)" : label
        let manifestDescriptor = entry.descriptor
        let manifestBytes = try Self.blobBytes(manifestDescriptor, "the manifest", &store, label: label)
        let manifestJSON = try Self.parse(manifestBytes, "the manifest", label: label)
        guard let manifestObject = manifestJSON.objectValue else {
            throw ArchiveError.invalidMetadata(label, "the manifest is not a JSON object")
        }
        guard manifestObject["schemaVersion"] == JSONValue.integer("2") else {
            throw ArchiveError.invalidMetadata(label, "the manifest's schemaVersion is not 2")
        }
        if let mediaType = manifestObject["mediaType"], mediaType != .string(manifestDescriptor.mediaType) {
            throw ArchiveError.invalidMetadata(
                label, "the manifest says its media type is \(JSONDiff.render(mediaType)), but index.json says \(manifestDescriptor.mediaType)")
        }
        guard let configEntry = manifestObject["config"] else {
            throw ArchiveError.invalidMetadata(label, "the manifest names no config")
        }
        let configDescriptor = try Self.descriptor(configEntry, "the manifest's config", label: label)
        guard ImageRead.configMediaTypes.contains(configDescriptor.mediaType) else {
            throw ArchiveError.invalidMetadata(label, "the manifest's config has media type \(configDescriptor.mediaType), not an image config's")
        }
        let configJSON = try ImageConfigHistory.parse(try Self.blobBytes(configDescriptor, "the config", &store, label: label), label: label)

        guard let layerEntries = manifestObject["layers"]?.arrayValue else {
            throw ArchiveError.invalidMetadata(label, "the manifest has no list of layers")
        }
        let diffIDs = try ImageRead.diffIDs(of: configJSON, layerCount: layerEntries.count, label: label)
        var layers: [ImageRead.Layer] = []
        for (position, entry) in layerEntries.enumerated() {
            let what = "layer \(position + 1) of the manifest"
            let blob = try Self.descriptor(entry, what, label: label)
            guard let compression = ImageRead.compression(ofLayerMediaType: blob.mediaType) else {
                throw ArchiveError.invalidMetadata(label, "\(what) has media type \(blob.mediaType), not a layer's")
            }
            let location = try Self.locate(blob, what, &store, label: label)
            layers.append(ImageRead.Layer(diffID: diffIDs[position], blob: blob, compression: compression, location: location))
        }
        return Image(
            entry: entry, manifest: ImageRead.Document(digest: manifestDescriptor.digest, json: manifestJSON),
            configDescriptor: configDescriptor, config: ImageRead.Document(digest: configDescriptor.digest, json: configJSON),
            layers: layers)
    }

    static func parse(_ bytes: [UInt8], _ what: String, label: String) throws -> JSONValue {
        do { return try JSONParser.parse(bytes) } catch {
            throw ArchiveError.invalidMetadata(label, "\(what) is not valid JSON (\(error))")
        }
    }

    /// A content descriptor (descriptor.md): a media type, a sha256 digest, a size.
    private static func descriptor(_ value: JSONValue, _ what: String, label: String) throws -> OCIDescriptor {
        guard let object = value.objectValue else { throw ArchiveError.invalidMetadata(label, "\(what) is not a descriptor object") }
        guard let mediaType = object["mediaType"]?.stringValue else {
            throw ArchiveError.invalidMetadata(label, "\(what) has no mediaType")
        }
        guard let text = object["digest"]?.stringValue, text.hasPrefix("sha256:"), let digest = Digest(parsing: text) else {
            throw ArchiveError.invalidMetadata(label, "\(what) has no sha256 digest")
        }
        guard case let .integer(digits) = object["size"], let size = UInt64(digits) else {
            throw ArchiveError.invalidMetadata(label, "\(what) has no valid size")
        }
        return OCIDescriptor(mediaType: mediaType, digest: digest, size: size)
    }

    /// Where a descriptor's blob is, once its size is checked against the descriptor.
    private static func locate<Store: LayoutStore>(
        _ descriptor: OCIDescriptor, _ what: String, _ store: inout Store, label: String
    ) throws -> ImageRead.BlobLocation {
        guard let found = try store.blob(descriptor.digest) else {
            throw ArchiveError.missingMember(label, OCILayoutNames.blobPath(descriptor.digest))
        }
        let (size, location) = found
        guard size == descriptor.size else {
            throw ArchiveError.invalidMetadata(
                label, "\(what) is \(descriptor.size) bytes by its descriptor, but its blob \(OCILayoutNames.blobPath(descriptor.digest)) holds \(size)")
        }
        return location
    }

    private static func blobBytes<Store: LayoutStore>(
        _ descriptor: OCIDescriptor, _ what: String, _ store: inout Store, label: String
    ) throws -> [UInt8] {
        guard descriptor.size <= DockerManifest.jsonLimit else {
            throw ArchiveError.invalidMetadata(label, "\(what) is \(descriptor.size) bytes, larger than any such document")
        }
        return try store.bytes(at: try locate(descriptor, what, &store, label: label))
    }
}
