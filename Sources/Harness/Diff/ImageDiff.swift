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
        var findings = Findings()
        let layers = try LayerComparison.compare(&a, &b, limit: limit)
        findings.causes += layers.causes
        if !layers.pairing.differing.isEmpty { findings.consequences.insert(.layerDigest) }
        let layersDiffer = !layers.causes.isEmpty

        // The same layer stored as other bytes. Its diff_id is what makes it the same layer, so
        // both blobs are decompressed to check it rather than trusting the configs.
        var compressionDiffers = false
        for (positionA, positionB) in layers.pairing.matched.sorted(by: { $0.0 < $1.0 }) {
            let layerA = a.layers[positionA], layerB = b.layers[positionB]
            guard layerA.blob.digest != layerB.blob.digest else { continue }
            try a.verifyDiffID(positionA)
            try b.verifyDiffID(positionB)
            findings.causes.append(Difference(
                kind: .layerCompression, layer: ArchiveDiff.layerName(positionA, positionB, layerA.diffID, nil), path: nil,
                field: "compression differs", control: describe(layerA, compressors: a.compressors),
                experiment: describe(layerB, compressors: b.compressors)))
            compressionDiffers = true
        }
        if compressionDiffers { findings.consequences.insert(.layerDigest) }
        let blobsDiffer = layersDiffer || compressionDiffers

        let configDiffers = findings.addConfig(a.config, b.config, layer: "config", limit: limit, layersDiffer: layersDiffer)

        // The OCI manifest: its config and layer descriptors name blobs already compared.
        var manifestDiffers = false
        if let manifestA = a.manifest, let manifestB = b.manifest {
            manifestDiffers = manifestA.digest != manifestB.digest
            findings.add(ArchiveDiff.jsonDifferences(
                manifestA.json, manifestB.json, kind: .manifestField, layer: "manifest", limit: limit,
                digests: (manifestA.digest, manifestB.digest)
            ) { path in
                guard let path else { return nil }
                if path.hasPrefix("config"), configDiffers, !path.contains("annotations") { return .manifestConfig }
                if path.hasPrefix("layers"), blobsDiffer, !path.contains("annotations") { return .manifestLayers }
                return nil
            })
            if manifestDiffers { findings.consequences.insert(.manifestDigest) }
        }

        // index.json: its manifest descriptor names the manifest just compared.
        if let indexA = a.index, let indexB = b.index {
            findings.add(ArchiveDiff.jsonDifferences(indexA.json, indexB.json, kind: .indexField, layer: OCILayoutNames.index, limit: limit) { path in
                guard manifestDiffers, let path, path.hasPrefix("manifests["), path.hasSuffix(".digest") || path.hasSuffix(".size") else { return nil }
                return .indexManifest
            })
        }
        if let markerA = a.layoutMarker, let markerB = b.layoutMarker {
            findings.causes += ArchiveDiff.jsonDifferences(markerA.json, markerB.json, kind: .indexField, layer: OCILayoutNames.marker, limit: limit) { _ in nil }.causes
        }

        // The docker-archive manifest.json (docker-archive, dual): `Config` and `Layers` name blobs.
        if let dockerA = a.dockerManifest, let dockerB = b.dockerManifest {
            findings.add(ArchiveDiff.jsonDifferences(
                dockerA.json, dockerB.json, kind: .manifestField, layer: DockerManifest.memberName, limit: limit,
                derived: ArchiveDiff.dockerManifestConsequence(configDiffers: configDiffers, layersDiffer: blobsDiffer)))
        }

        // The packaging, and the outer members when both are tars of the same packaging (across
        // packagings every member differs, which the packaging already says).
        if a.packaging != b.packaging {
            findings.causes.append(Difference(
                kind: .format, layer: nil, path: nil, field: "packaging", control: a.packaging.rawValue, experiment: b.packaging.rawValue))
        } else if let membersA = a.members, let membersB = b.members {
            var archive = DifferenceCollector(layer: nil, limit: limit)
            ArchiveDiff.compareMembers(membersA, membersB, into: &archive)
            findings.causes += archive.differences
        }

        // Two layouts whose documents and blobs all agree are the same image, byte for byte.
        guard let streamA = a.streamDigest, let streamB = b.streamDigest else { return findings.result(streams: nil) }
        return findings.result(streams: (streamA, streamB))
    }

    /// A blob as a compression difference shows it: media type, size, digest, and the
    /// compressor libraries when the build recorded them.
    static func describe(_ layer: ImageRead.Layer, compressors: String?) -> String {
        var text = "\(layer.blob.mediaType), \(layer.blob.size) bytes, \(layer.blob.digest)"
        if let compressors, layer.compression != .none { text += " (\(compressors))" }
        return text
    }
}
