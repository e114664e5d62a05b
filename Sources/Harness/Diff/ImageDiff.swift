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
///
/// When an OCI index lists several image manifests, each is compared with its pair (see
/// ``ImagePairing``), every location prefixed by the image's name, and an image on one side
/// only is a cause of its own.
enum ImageDiff {
    /// What differs in one pair of images, for the documents that name them.
    private struct Outcome {
        var configDiffers = false
        var blobsDiffer = false
        var manifestDiffers = false

        mutating func formUnion(_ other: Outcome) {
            configDiffers = configDiffers || other.configDiffers
            blobsDiffer = blobsDiffer || other.blobsDiffer
            manifestDiffers = manifestDiffers || other.manifestDiffers
        }
    }

    static func compare(_ a: inout ImageRead, _ b: inout ImageRead, limit: Int) throws -> [Difference] {
        var findings = Findings()
        let pairing = ImagePairing(control: a.images, experiment: b.images)
        let several = a.images.count > 1 || b.images.count > 1
        var outcome = Outcome()
        // Control positions of the paired images whose manifests differ.
        var differingManifests = Set<Int>()
        for (positionA, positionB) in pairing.pairs {
            a.current = positionA
            b.current = positionB
            let prefix = several ? ImagePairing.name(a.image, b.image) + " " : ""
            a.members?.prefixes[positionA] = prefix
            b.members?.prefixes[positionB] = prefix
            let pair = try compareImages(&a, &b, prefix: prefix, limit: limit, into: &findings)
            if pair.manifestDiffers { differingManifests.insert(positionA) }
            outcome.formUnion(pair)
        }
        findings.causes += onlyIn(pairing.onlyInControl, of: &a, side: .control)
        findings.causes += onlyIn(pairing.onlyInExperiment, of: &b, side: .experiment)
        let imagesOnOneSide = !pairing.onlyInControl.isEmpty || !pairing.onlyInExperiment.isEmpty
        let manifestDiffers = outcome.manifestDiffers || imagesOnOneSide
        let configDiffers = outcome.configDiffers, blobsDiffer = outcome.blobsDiffer

        // index.json: its manifest descriptors name the manifests just compared, and list the
        // images just found on one side only.
        if several, let index = indexDifferences(a, b, pairing: pairing, differingManifests: differingManifests, limit: limit) {
            findings.add(index)
            if imagesOnOneSide { findings.consequences.insert(.indexManifest) }
        } else if let indexA = a.index, let indexB = b.index {
            findings.add(ArchiveDiff.jsonDifferences(indexA.json, indexB.json, kind: .indexField, layer: OCILayoutNames.index, limit: limit) { path in
                guard manifestDiffers, let path, path.hasPrefix("manifests") else { return nil }
                if path.hasPrefix("manifests["), path.hasSuffix(".digest") || path.hasSuffix(".size") { return .indexManifest }
                if imagesOnOneSide, path == "manifests" || Self.isWholeEntry(path) { return .indexManifest }
                return nil
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

    /// One pair of images: layers, compression, config and OCI manifest, every location
    /// prefixed by `prefix`.
    private static func compareImages(
        _ a: inout ImageRead, _ b: inout ImageRead, prefix: String, limit: Int, into findings: inout Findings
    ) throws -> Outcome {
        var outcome = Outcome()
        let layers = try LayerComparison.compare(&a, &b, limit: limit, prefix: prefix)
        let layersDiffer = findings.addLayers(layers)

        // The same layer stored as other bytes. Its diff_id is what makes it the same layer, so
        // both blobs are decompressed to check it rather than trusting the configs.
        var compressionDiffers = false
        for (positionA, positionB) in layers.pairing.matched.sorted(by: { $0.0 < $1.0 }) {
            let layerA = a.image.layers[positionA], layerB = b.image.layers[positionB]
            guard layerA.blob.digest != layerB.blob.digest else { continue }
            try a.verifyDiffID(positionA)
            try b.verifyDiffID(positionB)
            findings.causes.append(Difference(
                kind: .layerCompression, layer: prefix + ArchiveDiff.layerName(positionA, positionB, layerA.diffID, nil), path: nil,
                field: "compression differs", control: describe(layerA, compressors: a.compressors),
                experiment: describe(layerB, compressors: b.compressors)))
            compressionDiffers = true
        }
        if compressionDiffers { findings.consequences.insert(.layerDigest) }
        outcome.blobsDiffer = layersDiffer || compressionDiffers

        let configDiffers = findings.addConfig(a.image.config, b.image.config, layer: prefix + "config", limit: limit, layersDiffer: layersDiffer)
        outcome.configDiffers = configDiffers

        // The OCI manifest: its config and layer descriptors name blobs already compared.
        if let manifestA = a.image.manifest, let manifestB = b.image.manifest {
            outcome.manifestDiffers = manifestA.digest != manifestB.digest
            let blobsDiffer = outcome.blobsDiffer
            findings.add(ArchiveDiff.jsonDifferences(
                manifestA.json, manifestB.json, kind: .manifestField, layer: prefix + "manifest", limit: limit,
                digests: (manifestA.digest, manifestB.digest)
            ) { path in
                guard let path else { return nil }
                if path.hasPrefix("config"), configDiffers, !path.contains("annotations") { return .manifestConfig }
                if path.hasPrefix("layers"), blobsDiffer, !path.contains("annotations") { return .manifestLayers }
                return nil
            })
            if outcome.manifestDiffers { findings.consequences.insert(.manifestDigest) }
        }
        return outcome
    }

    /// Images of one side without a pair, each a cause named by the image (and by its manifest's
    /// digest); their members are named after them.
    private static func onlyIn(_ positions: [Int], of read: inout ImageRead, side: Difference.Side) -> [Difference] {
        positions.map { position in
            let image = read.images[position]
            read.members?.prefixes[position] = image.name + " "
            let digest = (image.manifest?.digest ?? image.config.digest).description
            return Difference(
                kind: .imageOnlyIn, layer: image.name, path: nil, field: "only in \(side.rawValue)", control: side == .control ? digest : nil,
                experiment: side == .experiment ? digest : nil, side: side)
        }
    }

    /// `index.json` when either side lists several images: each image's entry compared with its
    /// pair's (paths name the control's place), the order of the images both list, and the rest
    /// of the document; an entry on one side only is already a cause of its own. Nil when an
    /// index also lists what is not an image (compared by place then).
    private static func indexDifferences(
        _ a: ImageRead, _ b: ImageRead, pairing: ImagePairing, differingManifests: Set<Int>, limit: Int
    ) -> (causes: [Difference], consequences: Set<Difference.Consequence>)? {
        guard let objectA = a.index?.json.objectValue, let objectB = b.index?.json.objectValue,
              let entriesA = objectA["manifests"]?.arrayValue, let entriesB = objectB["manifests"]?.arrayValue,
              entriesA.count == a.images.count, entriesB.count == b.images.count
        else { return nil }
        let layer = OCILayoutNames.index
        var all = DifferenceCollector(layer: layer, limit: .max)
        let rest = { (object: JSONObject) in JSONValue.object(JSONObject(object.entries.filter { $0.key != "manifests" }.map { ($0.key, $0.value) })) }
        JSONDiff.compare(rest(objectA), rest(objectB), path: "", kind: .indexField, into: &all)
        for (positionA, positionB) in pairing.pairs {
            JSONDiff.compare(entriesA[positionA], entriesB[positionB], path: "manifests[\(positionA)]", kind: .indexField, into: &all)
        }
        // Every image sits where it did when the experiment positions rise along the pairs.
        if zip(pairing.pairs, pairing.pairs.dropFirst()).contains(where: { $0.1 > $1.1 }) {
            let names = { (read: ImageRead, positions: [Int]) in
                positions.map { read.images[$0].name.dropFirst("image ".count) }.joined(separator: ", ")
            }
            all.add(
                .indexField, path: "manifests", field: "order", control: names(a, pairing.pairs.map(\.0)),
                experiment: names(b, pairing.pairs.map(\.1).sorted()))
        }
        return ArchiveDiff.split(all.differences, kind: .indexField, layer: layer, limit: limit) { path in
            guard let path, path.hasSuffix(".digest") || path.hasSuffix(".size"),
                  let position = Int(path.dropFirst("manifests[".count).prefix { $0 != "]" })
            else { return nil }
            return differingManifests.contains(position) && path.hasPrefix("manifests[\(position)].") ? .indexManifest : nil
        }
    }

    /// Whether a key path is a whole entry of the index's list: `manifests[2]`.
    private static func isWholeEntry(_ path: String) -> Bool {
        guard path.hasPrefix("manifests["), path.hasSuffix("]") else { return false }
        return path.dropFirst("manifests[".count).dropLast().allSatisfy(\.isNumber)
    }

    /// A blob as a compression difference shows it: media type, size, digest, and the
    /// compressor libraries when the build recorded them.
    static func describe(_ layer: ImageRead.Layer, compressors: String?) -> String {
        var text = "\(layer.blob.mediaType), \(layer.blob.size) bytes, \(layer.blob.digest)"
        if let compressors, layer.compression != .none { text += " (\(compressors))" }
        return text
    }
}
