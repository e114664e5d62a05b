/// How streamLayeredImage splits the store paths of an image into layers.
public enum LayeringStrategy: Equatable, Sendable {
    /// The popularity contest followed by `limit_layers`: nixpkgs'
    /// popularity-contest-layering-pipeline.nix, `[["popularity_contest"], ["limit_layers", budget]]`.
    case popularity
    /// auto-layer.py, nixpkgs' default when no `layeringPipeline` is given.
    case auto
    /// A user `layeringPipeline`; nixpkgs ignores `maxLayers` for these, so the budget is unused.
    case pipeline(LayeringPipeline)
}

/// The layer arithmetic streamLayeredImage does before layering.
public enum LayerBudget {
    /// Store layers left once the customisation layer (always one) and the base
    /// image's layers are counted, as in auto-layer.nix and
    /// popularity-contest-layering-pipeline.nix: `maxLayers - 1 - baseImageLayers`,
    /// an error unless at least one remains.
    public static func storeLayers(maxLayers: Int, baseImageLayers: Int = 0) throws(LayeringError) -> Int {
        let used = 1 + baseImageLayers
        guard used < maxLayers else { throw .noLayersAvailable(maxLayers: maxLayers, usedLayers: used) }
        return maxLayers - used
    }
}

/// Plans the store layers of an image, bottom first (the order streamLayeredImage
/// writes them after any base image layers).
///
/// - Parameters:
///   - graph: a reference graph containing at least the closure of `roots`.
///   - roots: the closure roots. In nixpkgs these are the image's config JSON and
///     customisation layer store paths, which are then passed as `excluding`.
///   - excluding: paths that must not appear in any layer. The popularity strategy
///     and pipelines drop them (and references to them) before layering, as
///     flatten_references_graph does; auto keeps them in the graph while splitting
///     and only removes them from the result, as auto-layer.py does.
///   - budget: store layers available, usually ``LayerBudget/storeLayers(maxLayers:baseImageLayers:)``.
public func planLayers(
    graph: ReferenceGraph,
    roots: [String],
    excluding: [String] = [],
    strategy: LayeringStrategy,
    budget: Int
) throws(LayeringError) -> [[String]] {
    // make-layers.nix short-circuits an empty root list to no layers at all.
    guard !roots.isEmpty else { return [] }
    let closure = try graph.restricted(to: graph.closure(of: roots))
    switch strategy {
    case .popularity:
        guard budget >= 1 else { throw .invalidBudget(budget) }
        // Same result as running that two-step pipeline, without the pipeline's need
        // for narSize: vertex order cannot change a popularity ranking.
        let excluded = Set(excluding)
        let kept = try closure.restricted(to: closure.paths.filter { !excluded.contains($0) })
        return popularityLayers(Popularity.order(kept), budget: budget)
    case .auto:
        return try AutoLayering.layers(graph: closure, ignoring: Set(excluding), limit: budget)
    case let .pipeline(pipeline):
        return try pipeline.run(on: closure, excluding: excluding)
    }
}

/// `limit_layers` over single-path layers: the first `budget - 1` paths alone, the
/// rest together in one last layer, and no last layer when nothing is left.
public func popularityLayers(_ ordered: [String], budget: Int) -> [[String]] {
    let alone = max(budget - 1, 0)
    var layers = ordered.prefix(alone).map { [$0] }
    if ordered.count > alone { layers.append(Array(ordered.dropFirst(alone))) }
    return layers
}
