/// Everything that can go wrong while reading a reference graph or planning layers.
///
/// Each case renders as one sentence that names the offending path, operation or
/// argument, so a caller can print it without further context.
public enum LayeringError: Error, Equatable, Sendable, CustomStringConvertible {
    /// The graph JSON is neither an array of entries nor an object keyed by path.
    case malformedGraph(reason: String)
    /// One entry of the graph JSON is missing a field or has a field of the wrong type.
    case malformedEntry(entry: String, reason: String)
    /// The same store path appears twice in the graph JSON.
    case duplicatePath(String)
    /// A path references a path that has no entry of its own.
    case unknownReference(from: String, to: String)
    /// Two distinct paths reach each other, which Nix never produces.
    case cycle(String, String)
    /// A requested root is not in the graph.
    case unknownRoot(String)
    /// The auto strategy and the pipeline order paths by size, so every path needs one.
    case missingNarSize(String)
    /// Summing sizes overflowed 64 bits.
    case sizeOverflow(String)
    /// maxLayers leaves no room for store layers once the base image and customisation layer are counted.
    case noLayersAvailable(maxLayers: Int, usedLayers: Int)
    /// A layer limit or budget below one.
    case invalidBudget(Int)
    /// A pipeline step names an operation that flatten_references_graph does not have.
    case unknownOperation(String)
    /// A pipeline step has the wrong number or kind of arguments.
    case badArguments(operation: String, reason: String)
    /// A pipeline step received a value of the wrong shape (graph, list or dict).
    case wrongInput(operation: String, expected: String, got: String)
    /// `over` named a key its input dict does not have.
    case missingKey(operation: String, key: String)

    public var description: String {
        switch self {
        case let .malformedGraph(reason):
            "The reference graph JSON is malformed: \(reason)."
        case let .malformedEntry(entry, reason):
            "The reference graph entry \(entry) is malformed: \(reason)."
        case let .duplicatePath(path):
            "The reference graph lists \(path) more than once."
        case let .unknownReference(from, to):
            "\(from) references \(to), which has no entry in the reference graph."
        case let .cycle(first, second):
            "The reference graph has a cycle between \(first) and \(second)."
        case let .unknownRoot(path):
            "The root \(path) is not in the reference graph."
        case let .missingNarSize(path):
            "\(path) has no narSize, which this layering strategy needs."
        case let .sizeOverflow(context):
            "Summing narSize values for \(context) overflowed 64 bits."
        case let .noLayersAvailable(maxLayers, usedLayers):
            "maxLayers=\(maxLayers) leaves no store layer after \(usedLayers) layers for the base image and customisation layer."
        case let .invalidBudget(value):
            "The layer budget \(value) is below one."
        case let .unknownOperation(name):
            "The layering pipeline uses the unknown operation \"\(name)\"."
        case let .badArguments(operation, reason):
            "The layering pipeline step \"\(operation)\" has bad arguments: \(reason)."
        case let .wrongInput(operation, expected, got):
            "The layering pipeline step \"\(operation)\" expects \(expected) but received \(got)."
        case let .missingKey(operation, key):
            "The layering pipeline step \"\(operation)\" found no key \"\(key)\" in its input."
        }
    }
}
