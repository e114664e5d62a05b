import Builder

/// Explains how two images differ when at least one is an OCI layout (oci-archive, dual,
/// oci-layout directory), or when a docker-archive is compared with one.
///
/// Layers are paired by diff_id, so the same image in two packagings has no difference in
/// content and only its packaging is reported. Causes come first: entries inside layers
/// (decompressed and streamed pairwise), layers present on one side or moved, a layer whose
/// blob bytes differ while its diff_id is the same (compression), then config, manifest,
/// index.json and manifest.json keys that differ by themselves, the packaging, and the outer
/// members' headers. What follows from them (digests, `rootfs.diff_ids`, descriptors) is
/// said once, last.
enum ImageDiff {
    static func compare(_ a: inout ImageRead, _ b: inout ImageRead, limit: Int) throws -> [Difference] {
        var causes: [Difference] = []
        var consequences: Set<Difference.Consequence> = []

        let pairing = LayerPairing(control: a.layers.map(\.diffID), experiment: b.layers.map(\.diffID))
        for (positionA, positionB) in pairing.differing {
            let layerA = a.layers[positionA], layerB = b.layers[positionB]
            var collector = DifferenceCollector(
                layer: ArchiveDiff.layerName(positionA, positionB, layerA.diffID, layerB.diffID), limit: limit)
            var readerA = try a.openLayer(positionA)
            var readerB = try b.openLayer(positionB)
            try LayerDiff.compare(&readerA, &readerB, into: &collector)
            try a.closeLayer(positionA, &readerA)
            try b.closeLayer(positionB, &readerB)
            if collector.isEmpty {
                // Both diff_ids were checked: same entries, yet different bytes.
                collector.add(.layerBytes, path: nil, field: "same entries, different bytes", control: layerA.diffID.description, experiment: layerB.diffID.description)
            }
            causes += collector.differences
            consequences.insert(.layerDigest)
        }
        causes += pairing.placementCauses(control: a.layers.map(\.diffID), experiment: b.layers.map(\.diffID))
        let layersDiffer = !causes.isEmpty

        // The same layer stored as other bytes. Its diff_id is what makes it the same layer, so
        // both blobs are decompressed to check it rather than trusting the configs.
        var compressionDiffers = false
        for (positionA, positionB) in pairing.matched.sorted(by: { $0.0 < $1.0 }) {
            let layerA = a.layers[positionA], layerB = b.layers[positionB]
            guard layerA.blob.digest != layerB.blob.digest else { continue }
            try a.verifyDiffID(positionA)
            try b.verifyDiffID(positionB)
            causes.append(Difference(
                kind: .layerCompression, layer: ArchiveDiff.layerName(positionA, positionB, layerA.diffID, nil), path: nil,
                field: "compression differs", control: describe(layerA, compressors: a.compressors),
                experiment: describe(layerB, compressors: b.compressors)))
            compressionDiffers = true
        }
        if compressionDiffers { consequences.insert(.layerDigest) }
        let blobsDiffer = layersDiffer || compressionDiffers

        let config = ArchiveDiff.jsonDifferences(
            a.config.json, b.config.json, kind: .configField, layer: "config", limit: limit, digests: (a.config.digest, b.config.digest),
            derived: ArchiveDiff.configConsequence(layersDiffer: layersDiffer))
        causes += config.causes
        consequences.formUnion(config.consequences)
        let configDiffers = a.config.digest != b.config.digest
        if configDiffers { consequences.insert(.configDigest) }

        // The OCI manifest: its config and layer descriptors name blobs already compared.
        var manifestDiffers = false
        if let manifestA = a.manifest, let manifestB = b.manifest {
            manifestDiffers = manifestA.digest != manifestB.digest
            let manifest = ArchiveDiff.jsonDifferences(
                manifestA.json, manifestB.json, kind: .manifestField, layer: "manifest", limit: limit,
                digests: (manifestA.digest, manifestB.digest)
            ) { path in
                guard let path else { return nil }
                if path.hasPrefix("config"), configDiffers, !path.contains("annotations") { return .manifestConfig }
                if path.hasPrefix("layers"), blobsDiffer, !path.contains("annotations") { return .manifestLayers }
                return nil
            }
            causes += manifest.causes
            consequences.formUnion(manifest.consequences)
            if manifestDiffers { consequences.insert(.manifestDigest) }
        }

        // index.json: its manifest descriptor names the manifest just compared.
        if let indexA = a.index, let indexB = b.index {
            let index = ArchiveDiff.jsonDifferences(indexA.json, indexB.json, kind: .indexField, layer: OCILayoutNames.index, limit: limit) { path in
                guard manifestDiffers, let path, path.hasPrefix("manifests["), path.hasSuffix(".digest") || path.hasSuffix(".size") else { return nil }
                return .indexManifest
            }
            causes += index.causes
            consequences.formUnion(index.consequences)
        }
        if let markerA = a.layoutMarker, let markerB = b.layoutMarker {
            causes += ArchiveDiff.jsonDifferences(markerA.json, markerB.json, kind: .indexField, layer: OCILayoutNames.marker, limit: limit) { _ in nil }.causes
        }

        // The docker-archive manifest.json (docker-archive, dual): `Config` and `Layers` name blobs.
        if let dockerA = a.dockerManifest, let dockerB = b.dockerManifest {
            let manifest = ArchiveDiff.jsonDifferences(
                dockerA.json, dockerB.json, kind: .manifestField, layer: DockerManifest.memberName, limit: limit,
                derived: ArchiveDiff.dockerManifestConsequence(configDiffers: configDiffers, layersDiffer: blobsDiffer))
            causes += manifest.causes
            consequences.formUnion(manifest.consequences)
        }

        // The packaging, and the outer members when both are tars of the same packaging (across
        // packagings every member differs, which the packaging already says).
        if a.packaging != b.packaging {
            causes.append(Difference(
                kind: .format, layer: nil, path: nil, field: "packaging", control: a.packaging.rawValue, experiment: b.packaging.rawValue))
        } else if let membersA = a.members, let membersB = b.members {
            var archive = DifferenceCollector(layer: nil, limit: limit)
            ArchiveDiff.compareMembers(membersA, membersB, into: &archive)
            causes += archive.differences
        }

        if causes.isEmpty {
            // Two layouts whose documents and blobs all agree are the same image, byte for byte.
            guard let streamA = a.streamDigest, let streamB = b.streamDigest, streamA != streamB else { return [] }
            return [Difference(
                kind: .archiveBytes, layer: nil, path: nil, field: "bytes", control: streamA.description, experiment: streamB.description)]
        }
        return ArchiveDiff.withConsequences(causes, consequences)
    }

    /// A blob as a compression difference shows it: media type, size, digest, and the
    /// compressor libraries when the build recorded them.
    static func describe(_ layer: ImageRead.Layer, compressors: String?) -> String {
        var text = "\(layer.blob.mediaType), \(layer.blob.size) bytes, \(layer.blob.digest)"
        if let compressors, layer.compression != .none { text += " (\(compressors))" }
        return text
    }
}
