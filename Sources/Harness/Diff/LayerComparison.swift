import Builder

/// One side of a layer-by-layer comparison: the digests its layers are paired by, and each
/// layer's tar as a stream, opened when it is compared and closed (checked, its reader handed
/// back) before the next is opened.
protocol LayerStreams {
    associatedtype Source: ByteSource
    /// One per layer, in manifest order: equal digests make the same layer.
    var pairingDigests: [Digest] { get }
    mutating func openLayer(_ position: Int) throws -> TarReader<Source>
    mutating func closeLayer(_ position: Int, _ reader: inout TarReader<Source>) throws
}

/// The layer-by-layer comparison both diffs make: pair the layers, walk both tars of each
/// differing pair entry by entry (streamed, never held whole), then place the layers found on
/// one side only or in another order.
enum LayerComparison {
    /// The causes found in the layers, and the pairing they came from. Every location is
    /// prefixed by `prefix` (the image, when an index lists several).
    static func compare<A: LayerStreams, B: LayerStreams>(
        _ a: inout A, _ b: inout B, limit: Int, prefix: String = ""
    ) throws -> (causes: [Difference], pairing: LayerPairing) {
        let digestsA = a.pairingDigests, digestsB = b.pairingDigests
        let pairing = LayerPairing(control: digestsA, experiment: digestsB)
        var causes: [Difference] = []
        for (positionA, positionB) in pairing.differing {
            let digestA = digestsA[positionA], digestB = digestsB[positionB]
            var collector = DifferenceCollector(
                layer: prefix + ArchiveDiff.layerName(positionA, positionB, digestA, digestB), limit: limit)
            var readerA = try a.openLayer(positionA)
            var readerB = try b.openLayer(positionB)
            try LayerDiff.compare(&readerA, &readerB, into: &collector)
            try a.closeLayer(positionA, &readerA)
            try b.closeLayer(positionB, &readerB)
            if collector.isEmpty {
                // Same entries, yet different bytes: padding, header encoding, trailing blocks.
                collector.add(
                    .layerBytes, path: nil, field: "same entries, different bytes", control: digestA.description,
                    experiment: digestB.description)
            }
            causes += collector.differences
        }
        causes += pairing.placementCauses(control: digestsA, experiment: digestsB, prefix: prefix)
        return (causes, pairing)
    }
}

/// A docker-archive's layers, read out of the archive as they are stored; a layer may be
/// gzipped (`build` accepts such a base image), so each is un-gzipped when it starts as gzip.
struct DockerLayers: LayerStreams {
    let index: ArchiveIndex
    var cursor: ArchiveCursor

    init(index: ArchiveIndex, input: RereadableInput) {
        self.index = index
        cursor = ArchiveCursor(input: input)
    }

    var pairingDigests: [Digest] { index.layerDigests }

    mutating func openLayer(_ position: Int) throws -> TarReader<GunzipSniffingSource<MemberDataSource<FileSource>>> {
        let outer = try cursor.take(ordinal: index.layerOrdinals[position])
        return TarReader(
            source: try GunzipSniffingSource(MemberDataSource(outer: outer)), label: "\(cursor.input.label) (layer \(position + 1))")
    }

    mutating func closeLayer(_ position: Int, _ reader: inout TarReader<GunzipSniffingSource<MemberDataSource<FileSource>>>) throws {
        cursor.giveBack(reader.source.inner.outer)
    }
}

/// Causes and consequences as the parts of an image are compared, ending as causes first and
/// one line for what follows from them.
struct Findings {
    var causes: [Difference] = []
    var consequences: Set<Difference.Consequence> = []

    mutating func add(_ part: (causes: [Difference], consequences: Set<Difference.Consequence>)) {
        causes += part.causes
        consequences.formUnion(part.consequences)
    }

    /// The layers' causes (see ``LayerComparison``); whether any layer differs.
    mutating func addLayers(_ layers: (causes: [Difference], pairing: LayerPairing)) -> Bool {
        causes += layers.causes
        if !layers.pairing.differing.isEmpty { consequences.insert(.layerDigest) }
        return !layers.causes.isEmpty
    }

    /// The config's differences; whether its digest differs.
    mutating func addConfig(
        _ a: ImageRead.Document, _ b: ImageRead.Document, layer: String, limit: Int, layersDiffer: Bool
    ) -> Bool {
        add(ArchiveDiff.jsonDifferences(
            a.json, b.json, kind: .configField, layer: layer, limit: limit, digests: (a.digest, b.digest),
            derived: ArchiveDiff.configConsequence(layersDiffer: layersDiffer)))
        let differs = a.digest != b.digest
        if differs { consequences.insert(.configDigest) }
        return differs
    }

    /// The differences found; when there are none but the streams differ, that alone.
    func result(streams: (control: Digest, experiment: Digest)?) -> [Difference] {
        if causes.isEmpty {
            guard let streams, streams.control != streams.experiment else { return [] }
            return [Difference(
                kind: .archiveBytes, layer: nil, path: nil, field: "bytes", control: streams.control.description,
                experiment: streams.experiment.description)]
        }
        return ArchiveDiff.withConsequences(causes, consequences)
    }
}
