/// Which images of two inputs are the same image, when an OCI index lists several: paired by
/// platform (`os/architecture/variant`), else by ref name, else in the order they are listed;
/// the remainder exist on one side only.
struct ImagePairing {
    /// Positions (control, experiment) of paired images, in control order.
    var pairs: [(Int, Int)] = []
    var onlyInControl: [Int] = []
    var onlyInExperiment: [Int] = []

    init(control: [ImageRead.Image], experiment: [ImageRead.Image]) {
        var partner: [Int: Int] = [:]
        var taken = Set<Int>()
        // Each pass pairs what the earlier ones left, each control image with the first
        // experiment image still free that it matches.
        let passes: [(ImageRead.Image, ImageRead.Image) -> Bool] = [
            { $0.platform != nil && $0.platform == $1.platform && $0.refName == $1.refName },
            { $0.platform != nil && $0.platform == $1.platform },
            { $0.refName != nil && $0.refName == $1.refName },
            { _, _ in true },
        ]
        for matches in passes {
            for positionA in control.indices where partner[positionA] == nil {
                if let positionB = experiment.indices.first(where: { !taken.contains($0) && matches(control[positionA], experiment[$0]) }) {
                    partner[positionA] = positionB
                    taken.insert(positionB)
                }
            }
        }
        pairs = control.indices.compactMap { positionA in partner[positionA].map { (positionA, $0) } }
        onlyInControl = control.indices.filter { partner[$0] == nil }
        onlyInExperiment = experiment.indices.filter { !taken.contains($0) }
    }

    /// A pair's name: `image linux/arm64`, or both names when they differ
    /// (`image linux/arm64 vs linux/arm64/v8`).
    static func name(_ a: ImageRead.Image, _ b: ImageRead.Image) -> String {
        a.name == b.name ? a.name : "\(a.name) vs \(b.name.dropFirst("image ".count))"
    }
}
