import Builder

/// Which layers of two images are the same layer: paired by digest first, wherever they sit,
/// then the rest pairwise in order (those are compared entry by entry); the remainder exist
/// in one image only.
struct LayerPairing {
    /// Positions (control, experiment) of layers compared entry by entry.
    var differing: [(Int, Int)] = []
    /// Positions (control, experiment) of the same layer in both, in experiment order.
    var matched: [(Int, Int)] = []
    var onlyInControl: [Int] = []
    var onlyInExperiment: [Int] = []
    /// When the layers both images hold are in another order: their digests in each order.
    var sharedOrder: (control: [Digest], experiment: [Digest])?

    init(control: [Digest], experiment: [Digest]) {
        var unused: [Digest: [Int]] = [:]
        for (position, digest) in control.enumerated() { unused[digest, default: []].append(position) }
        var unmatchedB: [Int] = []
        for (position, digest) in experiment.enumerated() {
            if let first = unused[digest]?.first {
                unused[digest]?.removeFirst()
                matched.append((first, position))
            } else {
                unmatchedB.append(position)
            }
        }
        let matchedA = Set(matched.map(\.0))
        let unmatchedA = control.indices.filter { !matchedA.contains($0) }
        differing = Array(zip(unmatchedA, unmatchedB))
        onlyInControl = Array(unmatchedA.dropFirst(differing.count))
        onlyInExperiment = Array(unmatchedB.dropFirst(differing.count))
        // `matched` is in experiment order; the shared layers moved when control positions do
        // not rise along it.
        if zip(matched, matched.dropFirst()).contains(where: { $0.0 > $1.0 }) {
            sharedOrder = (matched.map(\.0).sorted().map { control[$0] }, matched.map { control[$0.0] })
        }
    }

    /// Layers in one image only, and shared layers in another order, as causes; `control` and
    /// `experiment` are the digests the pairing was made from; `prefix` names the image.
    func placementCauses(control: [Digest], experiment: [Digest], prefix: String = "") -> [Difference] {
        var causes: [Difference] = []
        for position in onlyInControl {
            let digest = control[position]
            causes.append(Difference(
                kind: .layerOnlyIn, layer: prefix + ArchiveDiff.layerName(position, nil, digest, nil), path: nil, field: "only in control",
                control: digest.description, side: .control))
        }
        for position in onlyInExperiment {
            let digest = experiment[position]
            causes.append(Difference(
                kind: .layerOnlyIn, layer: prefix + ArchiveDiff.layerName(position, nil, digest, nil), path: nil, field: "only in experiment",
                experiment: digest.description, side: .experiment))
        }
        if let order = sharedOrder {
            let short = { (digests: [Digest]) in digests.map { String($0.hex.prefix(12)) }.joined(separator: ", ") }
            let everyLayer = differing.isEmpty && onlyInControl.isEmpty && onlyInExperiment.isEmpty
            causes.append(Difference(
                kind: .layerOrder, layer: prefix + "layers", path: nil,
                field: everyLayer ? "same layers, different order" : "shared layers in a different order",
                control: short(order.control), experiment: short(order.experiment)))
        }
        return causes
    }
}
