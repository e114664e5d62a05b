import Builder

/// The layers of an OCI build in a spec's detail: each blob a registry would store, with the
/// compressor that wrote it, and whether the experiment's blob differs from the control's.
struct LayerTable {
    struct Row {
        var index: Int
        var diffID: Digest
        var blob: LayerBlob
        /// The experiment's blob at the same position when it differs from the control's.
        var experimentBlob: LayerBlob?
    }

    var rows: [Row]

    /// Nil for a docker-archive build, whose layers have no blob beyond their diff_id.
    init?(control: BuildResult?, experiment: BuildResult?) {
        guard let control, control.layers.contains(where: { $0.blob != nil }) else { return nil }
        let other = experiment?.layers ?? []
        rows = control.layers.compactMap { layer in
            guard let blob = layer.blob else { return nil }
            let theirs = other.first { $0.index == layer.index }?.blob
            return Row(index: layer.index, diffID: layer.diffID, blob: blob, experimentBlob: theirs == blob ? nil : theirs)
        }
    }

    /// `gzip, zlib 1.3.1`; the media type when it names no compression of ours.
    static func compression(_ blob: LayerBlob) -> String {
        guard let compression = blob.compression else { return blob.mediaType }
        return [compression.rawValue, blob.compressorVersion].compactMap { $0 }.joined(separator: ", ")
    }
}
