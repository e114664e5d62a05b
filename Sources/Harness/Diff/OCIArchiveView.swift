import Builder

/// The OCI image layout inside a streamed archive (`oci-archive`, or the OCI half of `dual`),
/// resolved by ``OCILayout`` from what ``ArchiveHasher`` kept and hashed. Every blob it reaches
/// must be in the stream with the size its descriptor states (its sha256 was checked against
/// its name as it streamed past).
struct OCIArchiveView: LayoutStore {
    /// A blob member as it streamed past.
    struct Blob {
        var digest: Digest
        var size: UInt64
        /// Its position among the stream's members.
        var ordinal: Int
    }

    let label: String
    /// Members kept whole: `index.json`, `oci-layout` and small JSON blobs.
    let kept: [String: [UInt8]]
    /// Every `blobs/sha256/…` member's digest and size, by digest.
    let blobs: [Digest: Blob]

    struct Resolved {
        var manifest: OCIDescriptor
        var config: OCIDescriptor
        var layers: [ImageRead.Layer]
        var paths: [[String]]
        var tag: String?
    }

    func resolve() throws -> Resolved {
        var store = self
        let (layout, image) = try OCILayout.resolve(&store, label: label)
        // A build writes one image; a second entry would be an image the check never compares.
        guard layout.manifestCount == 1 else {
            throw ArchiveError.invalidMetadata(label, "index.json lists \(layout.manifestCount) manifests, but a build writes one")
        }
        let paths = ImageConfigHistory.layerPaths(config: image.config.json, layerCount: image.layers.count)
        return Resolved(
            manifest: image.entry.descriptor, config: image.configDescriptor, layers: image.layers, paths: paths, tag: image.entry.refName)
    }

    func document(_ name: String) throws -> [UInt8]? { kept[name] }

    func blob(_ digest: Digest) throws -> (UInt64, ImageRead.BlobLocation)? {
        blobs[digest].map { ($0.size, .member($0.ordinal)) }
    }

    /// A blob the layout needs as JSON: only kept if it opened as JSON within the hasher's limit.
    func bytes(at location: ImageRead.BlobLocation) throws -> [UInt8] {
        guard case let .member(ordinal) = location, let blob = blobs.values.first(where: { $0.ordinal == ordinal }) else { return [] }
        let name = OCILayoutNames.blobPath(blob.digest)
        guard let bytes = kept[name] else { throw ArchiveError.missingMember(label, name) }
        return bytes
    }
}
