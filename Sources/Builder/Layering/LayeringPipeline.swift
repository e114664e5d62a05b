import Foundation

/// A `layeringPipeline` as streamLayeredImage accepts it: a JSON array of steps such as
/// `[["popularity_contest"], ["limit_layers", 99]]`, interpreted with the semantics of
/// nixpkgs' flatten_references_graph (pipe.py, lib.py, split_paths.py, subcomponent.py,
/// popularity_contest.py).
///
/// Steps are parsed up front, as pipe.py pre-applies every function before running,
/// so an unknown operation or bad arguments fail before any work is done.
public struct LayeringPipeline: Equatable, Sendable {
    public indirect enum Step: Equatable, Sendable {
        case popularityContest
        case limitLayers(Int)
        case splitPaths([SplitSpec])
        case subcomponentIn([String])
        case subcomponentOut([String])
        case over(key: String, Step)
        case pipe([Step])
        case map(Step)
        case flatten
        case splitEvery(Int)
        case removePaths([String])
        case reverse
    }

    /// One entry of a `split_paths` argument.
    public enum SplitSpec: Equatable, Sendable {
        case path(String)
        /// `{"children_of": ...}`: the direct references of the named paths.
        case childrenOf([String])
    }

    public let steps: [Step]

    public init(steps: [Step]) {
        self.steps = steps
    }

    public init(json data: Data) throws(LayeringError) {
        let value: JSONValue
        do { value = try JSONParser.parse([UInt8](data)) } catch {
            throw .badArguments(operation: "pipeline", reason: "it is not valid JSON (\(error.description))")
        }
        try self.init(json: value)
    }

    public init(json: JSONValue) throws(LayeringError) {
        guard case let .array(rawSteps) = json else {
            throw .badArguments(operation: "pipeline", reason: "the pipeline is \(json.kindName), not an array of steps")
        }
        var steps: [Step] = []
        for rawStep in rawSteps { steps.append(try Self.parseStep(rawStep)) }
        self.steps = steps
    }

    /// Runs the pipeline over `graph` without the `excluding` paths and flattens the
    /// result into layers, as flatten_references_graph does: empty graphs are kept
    /// between steps and only dropped here, at the very end.
    public func run(on graph: ReferenceGraph, excluding: [String] = []) throws(LayeringError) -> [[String]] {
        let excluded = Set(excluding)
        let kept = excluded.isEmpty ? graph : try graph.restricted(to: graph.paths.filter { !excluded.contains($0) })
        let result = try Self.apply(.pipe(steps), to: .graph(PipelineGraph(graph: kept)))
        guard result.kind != "a graph" else {
            throw .wrongInput(operation: "pipeline result", expected: "a list or dict of graphs", got: result.kind)
        }
        return Self.flatten(result).map(\.names).filter { !$0.isEmpty }
    }

    // MARK: Parsing

    private static func parseStep(_ json: JSONValue) throws(LayeringError) -> Step {
        guard case let .array(items) = json, let first = items.first, case let .string(name) = first else {
            throw .badArguments(operation: "step", reason: "a step must be an array starting with an operation name, not \(json.kindName)")
        }
        let arguments = Array(items.dropFirst())
        func expect(_ count: Int) throws(LayeringError) {
            guard arguments.count == count else {
                throw .badArguments(operation: name, reason: "it takes \(count) argument\(count == 1 ? "" : "s") but was given \(arguments.count)")
            }
        }
        func positiveCount() throws(LayeringError) -> Int {
            try expect(1)
            // Python's take and range refuse 2.0, so only integer literals count.
            guard let value = arguments[0].intValue, value > 0 else {
                throw .badArguments(operation: name, reason: "the count must be a whole number above zero")
            }
            return value
        }
        switch name {
        case "popularity_contest":
            try expect(0)
            return .popularityContest
        case "limit_layers":
            return .limitLayers(try positiveCount())
        case "split_every":
            return .splitEvery(try positiveCount())
        case "split_paths":
            try expect(1)
            guard case let .array(rawSpecs) = arguments[0] else {
                throw .badArguments(operation: name, reason: "the argument must be an array of paths")
            }
            var specs: [SplitSpec] = []
            for rawSpec in rawSpecs { specs.append(try parseSplitSpec(rawSpec)) }
            return .splitPaths(specs)
        case "subcomponent_in", "subcomponent_out":
            try expect(1)
            let paths = try stringList(arguments[0], operation: name, allowSingle: false)
            return name == "subcomponent_in" ? .subcomponentIn(paths) : .subcomponentOut(paths)
        case "remove_paths":
            try expect(1)
            return .removePaths(try stringList(arguments[0], operation: name, allowSingle: true))
        case "over":
            try expect(2)
            guard case let .string(key) = arguments[0] else {
                throw .badArguments(operation: name, reason: "the first argument must be a key string")
            }
            return .over(key: key, try parseStep(arguments[1]))
        case "pipe":
            try expect(1)
            guard case let .array(rawSteps) = arguments[0] else {
                throw .badArguments(operation: name, reason: "the argument must be an array of steps")
            }
            var steps: [Step] = []
            for rawStep in rawSteps { steps.append(try parseStep(rawStep)) }
            return .pipe(steps)
        case "map":
            try expect(1)
            return .map(try parseStep(arguments[0]))
        case "flatten":
            try expect(0)
            return .flatten
        case "reverse":
            try expect(0)
            return .reverse
        default:
            throw .unknownOperation(name)
        }
    }

    private static func parseSplitSpec(_ json: JSONValue) throws(LayeringError) -> SplitSpec {
        switch json {
        case let .string(path):
            return .path(path)
        case let .object(fields):
            guard let children = fields["children_of"] else {
                throw .badArguments(operation: "split_paths", reason: "an object entry must have the key \"children_of\"")
            }
            return .childrenOf(try stringList(children, operation: "split_paths", allowSingle: true))
        default:
            throw .badArguments(operation: "split_paths", reason: "an entry is \(json.kindName), not a path or {\"children_of\": ...}")
        }
    }

    private static func stringList(_ json: JSONValue, operation: String, allowSingle: Bool) throws(LayeringError) -> [String] {
        if allowSingle, case let .string(single) = json { return [single] }
        guard case let .array(items) = json else {
            throw .badArguments(operation: operation, reason: "the argument must be an array of paths")
        }
        var result: [String] = []
        for item in items {
            guard case let .string(path) = item else {
                throw .badArguments(operation: operation, reason: "a path is \(item.kindName), not a string")
            }
            result.append(path)
        }
        return result
    }

    // MARK: Evaluation

    indirect enum Value: Equatable, Sendable {
        case graph(PipelineGraph)
        /// A sequence of values. Only split_every returns a real Python list; every other
        /// step returns a lazy iterator, which igraph's `+` refuses (see limit_layers).
        case list([Value], pythonList: Bool = false)
        /// A Python dict: keys in insertion order.
        case dict([Entry])

        struct Entry: Equatable, Sendable {
            var key: String
            var value: Value
        }

        var kind: String {
            switch self {
            case .graph: "a graph"
            case .list: "a list"
            case .dict: "a dict"
            }
        }
    }

    static func apply(_ step: Step, to value: Value) throws(LayeringError) -> Value {
        switch step {
        case .popularityContest:
            // popularity_contest.py reads anything that is not a graph as a list of
            // reference-graph entries; an empty list is the one such input that works.
            if case let .list(items, _) = value, items.isEmpty { return value }
            let graph = try expectGraph(value, operation: "popularity_contest")
            let ordered = Popularity.order(names: graph.names, successors: graph.successors)
            return .list(ordered.map { .graph(PipelineGraph(names: [$0], successors: [[]])) })

        case let .limitLayers(maximum):
            let items = try expectList(value, operation: "limit_layers")
            var result = Array(items.prefix(maximum - 1))
            // lib.py always yields the merge of whatever is left, an empty graph when
            // nothing is: it takes a slot in any later step (a `reverse` puts it first)
            // and is only dropped with the other empty layers at the very end.
            var rest: [PipelineGraph] = []
            for item in items.dropFirst(maximum - 1) {
                // igraph's `graph + [g1, g2]` is the union with every graph of a Python
                // list (split_every's result); a lazy iterator there is a TypeError.
                if case let .list(graphs, true) = item {
                    for graph in graphs { rest.append(try expectGraph(graph, operation: "limit_layers")) }
                } else {
                    rest.append(try expectGraph(item, operation: "limit_layers"))
                }
            }
            result.append(.graph(PipelineGraph.union(rest)))
            return .list(result)

        case let .splitPaths(specs):
            // split_paths.py looks nothing up for an empty list (or empty children_of
            // lists) and returns its input untouched as "rest", whatever it is.
            let looksUpNothing = specs.allSatisfy { if case .childrenOf([]) = $0 { true } else { false } }
            if looksUpNothing, value.kind != "a graph" { return .dict([.init(key: "rest", value: value)]) }
            return splitPaths(specs, in: try expectGraph(value, operation: "split_paths"))

        case let .subcomponentIn(paths):
            return subcomponent(paths, in: try expectGraph(value, operation: "subcomponent_in"), against: true)

        case let .subcomponentOut(paths):
            return subcomponent(paths, in: try expectGraph(value, operation: "subcomponent_out"), against: false)

        case let .over(key, inner):
            guard case var .dict(entries) = value else {
                throw .wrongInput(operation: "over", expected: "a dict", got: value.kind)
            }
            guard let position = entries.firstIndex(where: { $0.key == key }) else {
                throw .missingKey(operation: "over", key: key)
            }
            entries[position].value = try apply(inner, to: entries[position].value)
            return .dict(entries)

        case let .pipe(steps):
            var current = value
            for inner in steps { current = try apply(inner, to: current) }
            return current

        case let .map(inner):
            let items = try expectList(value, operation: "map")
            var result: [Value] = []
            for item in items { result.append(try apply(inner, to: item)) }
            return .list(result)

        case .flatten:
            guard value.kind != "a graph" else {
                throw .wrongInput(operation: "flatten", expected: "a list or dict", got: value.kind)
            }
            return .list(flatten(value).map(Value.graph))

        case let .splitEvery(size):
            let graph = try expectGraph(value, operation: "split_every")
            return .list(stride(from: 0, to: graph.names.count, by: size).map { start in
                .graph(graph.induced(start..<min(start + size, graph.names.count)))
            }, pythonList: true)

        case let .removePaths(paths):
            // lib.py returns its input untouched when there is nothing to remove.
            if paths.isEmpty { return value }
            let graph = try expectGraph(value, operation: "remove_paths")
            return .graph(graph.removing(paths.compactMap(graph.index(of:))))

        case .reverse:
            return .list(try expectList(value, operation: "reverse").reversed())
        }
    }

    /// lib.py's `flatten`: dict values in order, lists in order, recursively.
    static func flatten(_ value: Value) -> [PipelineGraph] {
        switch value {
        case let .graph(graph): [graph]
        case let .list(items, _): items.flatMap(flatten)
        case let .dict(entries): entries.flatMap { flatten($0.value) }
        }
    }

    private static func expectGraph(_ value: Value, operation: String) throws(LayeringError) -> PipelineGraph {
        guard case let .graph(graph) = value else {
            throw .wrongInput(operation: operation, expected: "a graph", got: value.kind)
        }
        return graph
    }

    private static func expectList(_ value: Value, operation: String) throws(LayeringError) -> [Value] {
        guard case let .list(items, _) = value else {
            throw .wrongInput(operation: operation, expected: "a list", got: value.kind)
        }
        return items
    }

    /// subcomponent.py: `main` is the named paths with everything they reach (out) or
    /// everything reaching them (in); `rest` the remainder. Both keys are always
    /// present, even when empty.
    static func subcomponent(_ paths: [String], in graph: PipelineGraph, against: Bool) -> Value {
        let main = graph.subcomponent(of: paths.compactMap(graph.index(of:)), against: against)
        let mainIndices = graph.names.indices.filter { main[$0] }
        return .dict([
            .init(key: "main", value: .graph(graph.induced(mainIndices))),
            .init(key: "rest", value: .graph(graph.removing(mainIndices))),
        ])
    }

    /// split_paths.py: `main` holds the split paths and what only they reach, `common`
    /// what both they and the rest reach, `rest` the remainder; empty parts are left out.
    static func splitPaths(_ specs: [SplitSpec], in graph: PipelineGraph) -> Value {
        var splitIndices: [Int] = []
        for spec in specs {
            switch spec {
            case let .path(name):
                if let index = graph.index(of: name) { splitIndices.append(index) }
            case let .childrenOf(names):
                for name in names {
                    if let index = graph.index(of: name) { splitIndices.append(contentsOf: graph.successors[index]) }
                }
            }
        }
        guard !splitIndices.isEmpty else { return .dict([.init(key: "rest", value: .graph(graph))]) }
        let splitSet = Set(splitIndices)

        // One root makes "reachable from the rest" a single traversal; with several,
        // split_paths.py adds a fake root above them and removes it afterwards.
        let fakeRootName = "__root__"
        var work = graph
        let predecessors = GraphAlgorithms.predecessors(of: graph.successors)
        let roots = graph.names.indices.filter { predecessors[$0].isEmpty }
        let root: Int
        let addedRoot = roots.count != 1
        if addedRoot {
            root = work.names.count
            work.names.append(fakeRootName)
            work.successors.append(roots)
        } else {
            root = roots[0]
        }
        if splitSet.contains(root) { return .dict([.init(key: "main", value: .graph(graph))]) }

        let splitOff = work.subcomponent(of: splitIndices, against: false)
        // Later steps see the graph without these edges, exactly as split_paths.py leaves it.
        work.successors = work.successors.map { $0.filter { !splitSet.contains($0) } }
        let restWithCommon = work.subcomponent(of: [root], against: false)

        let indices = work.names.indices
        let common = indices.filter { splitOff[$0] && restWithCommon[$0] }
        let rest = indices.filter { restWithCommon[$0] && !splitOff[$0] }
        let main = indices.filter { splitOff[$0] && !restWithCommon[$0] }

        var entries: [Value.Entry] = []
        for (key, part) in [("main", main), ("common", common), ("rest", rest)] {
            var subgraph = work.induced(part)
            if addedRoot, let fake = subgraph.index(of: fakeRootName) { subgraph = subgraph.removing([fake]) }
            if !subgraph.isEmpty { entries.append(.init(key: key, value: .graph(subgraph))) }
        }
        return .dict(entries)
    }
}
