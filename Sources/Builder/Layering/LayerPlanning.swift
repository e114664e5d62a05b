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
    let reached = try graph.closureIndices(of: roots)
    let closure = reached.count == graph.count ? graph : try graph.restricted(to: reached.map { graph.paths[$0] })
    return try layers(of: closure, excluding: excluding, strategy: strategy, budget: budget)
}

/// ``planLayers(graph:roots:excluding:strategy:budget:)`` rooted at ``ReferenceGraph/roots``,
/// as `plan --graph` asks. A graph is acyclic, so the paths nothing references reach every
/// path: the closure is the whole graph, and no lookup or walk is needed to find it.
public func planLayers(wholeGraph graph: ReferenceGraph, strategy: LayeringStrategy, budget: Int) throws(LayeringError) -> [[String]] {
    guard graph.count > 0 else { return [] }
    return try layers(of: graph, excluding: [], strategy: strategy, budget: budget)
}

private func layers(
    of closure: ReferenceGraph, excluding: [String], strategy: LayeringStrategy, budget: Int
) throws(LayeringError) -> [[String]] {
    switch strategy {
    case .popularity:
        guard budget >= 1 else { throw .invalidBudget(budget) }
        // Same result as running that two-step pipeline, without the pipeline's need
        // for narSize: vertex order cannot change a popularity ranking.
        let excluded = Set(excluding)
        let kept = excluded.isEmpty ? closure : try closure.restricted(to: closure.paths.filter { !excluded.contains($0) })
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

/// The two store paths streamLayeredImage roots an image's closure at: the base JSON
/// (`writeText "<name>-base.json" (builtins.toJSON { architecture, config, os })`) and
/// the customisation layer (a directory holding `layer.tar` and its `checksum`). Both
/// are passed as closure roots and as excluded paths, so they never reach a layer; but
/// auto-layer.py splits the graph with them in it, sized by their NARs.
///
/// Their hashes come from Nix derivations we never build; a fixed stand-in hash keeps
/// the plan reproducible, and only matters where a size tie is broken by path order.
public struct ImageRootPaths: Sendable {
    public let baseJSON: ReferenceGraph.Node
    public let customisation: ReferenceGraph.Node

    public var paths: [String] { [baseJSON.path, customisation.path] }

    public init(
        imageName: String, storeDir: String, architecture: String, config: JSONValue, configReferences: [String],
        customisationTarSize: UInt64, customisationReferences: [String]
    ) {
        // baseNameOf name, as streamLayeredImage names its derivations.
        let baseName = imageName.split(separator: "/", omittingEmptySubsequences: false).last.map(String.init) ?? imageName
        let standIn = String(repeating: "0", count: 32)
        let json = JSONValue.object(JSONObject([("architecture", .string(architecture)), ("config", config), ("os", .string("linux"))]))
        baseJSON = ReferenceGraph.Node(
            path: "\(storeDir)/\(standIn)-\(baseName)-base.json", references: configReferences,
            narSize: NarSize.regularFile(bytes: UInt64(NixJSON.length(of: json)))
        )
        // layer.tar and `checksum` (64 hex digits and a newline).
        customisation = ReferenceGraph.Node(
            path: "\(storeDir)/\(standIn)-\(baseName)-customisation-layer", references: customisationReferences,
            narSize: NarSize.directory(files: [("checksum", 65), ("layer.tar", customisationTarSize)])
        )
    }

    /// `graph` with both paths added, every node in store-path order: the order of
    /// the exportReferencesGraph list nixpkgs layers.
    public func extending(_ graph: ReferenceGraph) throws(LayeringError) -> ReferenceGraph {
        try ReferenceGraph(nodes: (graph.nodes + [baseJSON, customisation]).sorted { ReferenceGraph.precedes($0.path, $1.path) })
    }
}

/// Sizes of Nix archive (NAR) serialisations, what Nix reports as narSize.
enum NarSize {
    /// A string field: an 8-byte length, then the bytes padded to a multiple of 8.
    static func field(_ length: UInt64) -> UInt64 { 8 + (length + 7) / 8 * 8 }

    private static func fields(_ strings: String...) -> UInt64 {
        strings.reduce(0) { $0 + field(UInt64($1.utf8.count)) }
    }

    /// `(` `type` `regular` `contents` <bytes> `)`, without the archive magic.
    private static func regularNode(bytes: UInt64) -> UInt64 {
        fields("(", "type", "regular", "contents") + field(bytes) + fields(")")
    }

    /// A non-executable regular file at the top of an archive.
    static func regularFile(bytes: UInt64) -> UInt64 {
        fields("nix-archive-1") + regularNode(bytes: bytes)
    }

    /// A directory of non-executable regular files, given in name order.
    static func directory(files: [(name: String, bytes: UInt64)]) -> UInt64 {
        var size = fields("nix-archive-1", "(", "type", "directory")
        for file in files {
            size += fields("entry", "(", "name", file.name, "node") + regularNode(bytes: file.bytes) + fields(")")
        }
        return size + fields(")")
    }
}

/// The length of `builtins.toJSON` output: keys sorted, no spaces, strings escaped as
/// Nix's JSON writer does (`\"`, `\\`, `\b\f\n\r\t`, other control characters as
/// `\u00XX`, everything else raw UTF-8).
enum NixJSON {
    static func length(of value: JSONValue) -> Int {
        switch value {
        case .null: 4
        case let .bool(flag): flag ? 4 : 5
        case let .integer(digits): digits.utf8.count
        // Nix prints floats with up to 17 significant digits; configs rarely hold any.
        case let .float(number): "\(number)".utf8.count
        case let .string(text): stringLength(text)
        case let .array(items): 2 + max(items.count - 1, 0) + items.reduce(0) { $0 + length(of: $1) }
        case let .object(object):
            2 + max(object.entries.count - 1, 0)
                + object.entries.reduce(0) { $0 + stringLength($1.key) + 1 + length(of: $1.value) }
        }
    }

    private static func stringLength(_ text: String) -> Int {
        var count = 2
        for byte in text.utf8 {
            switch byte {
            case 0x22, 0x5C, 0x08, 0x0C, 0x0A, 0x0D, 0x09: count += 2
            case 0x00..<0x20: count += 6
            default: count += 1
            }
        }
        return count
    }
}
