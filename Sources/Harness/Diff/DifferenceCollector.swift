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

    /// Adds `difference` under this collector's layer.
    mutating func add(_ difference: Difference) {
        guard kept.count < limit else {
            omitted += 1
            return
        }
        var difference = difference
        difference.layer = layer
        kept.append(difference)
    }

    mutating func add(
        _ kind: Difference.Kind, path: String?, field: String, control: String? = nil, experiment: String? = nil,
        side: Difference.Side? = nil
    ) {
        add(Difference(kind: kind, layer: layer, path: path, field: field, control: control, experiment: experiment, side: side))
    }

    var differences: [Difference] {
        guard omitted > 0 else { return kept }
        return kept + [Difference(kind: .omitted, layer: layer, path: nil, field: "more differences", omitted: omitted)]
    }
}
