/// Gathers the differences of one part of an archive (a layer, the config), keeping the first
/// `limit` and counting the rest, so a layer where every entry differs stays readable.
struct DifferenceCollector {
    let layer: String?
    let limit: Int
    private(set) var kept: [Difference] = []
    private(set) var omitted = 0

    init(layer: String?, limit: Int) {
        self.layer = layer
        self.limit = limit
    }

    var isEmpty: Bool { kept.isEmpty && omitted == 0 }

    mutating func add(path: String?, field: String, control: String?, experiment: String?) {
        guard kept.count < limit else {
            omitted += 1
            return
        }
        kept.append(Difference(layer: layer, path: path, field: field, control: control, experiment: experiment))
    }

    var differences: [Difference] {
        guard omitted > 0 else { return kept }
        return kept + [Difference(layer: layer, path: nil, field: "… \(omitted) more differences", control: nil, experiment: nil)]
    }
}
