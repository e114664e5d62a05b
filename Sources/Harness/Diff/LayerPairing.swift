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

}
