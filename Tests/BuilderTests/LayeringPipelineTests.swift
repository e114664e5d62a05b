import Foundation
import Testing
@testable import Builder

/// Builds a graph the way lib.py's `directed_graph` (igraph's TupleList) does:
/// vertices in order of first appearance in the edge list, then the detached ones.
func tupleListGraph(_ edges: [(String, String)], detached: [String] = []) -> PipelineGraph {
    var graph = PipelineGraph.empty
    func index(_ name: String) -> Int {
        if let existing = graph.index(of: name) { return existing }
        graph.names.append(name)
        graph.successors.append([])
        return graph.names.count - 1
    }
    for (source, target) in edges {
        let from = index(source)
        let to = index(target)
        graph.successors[from].append(to)
    }
    for name in detached { _ = index(name) }
    return graph
}

func runPipeline(_ pipeline: String, on graph: PipelineGraph) throws -> [PipelineGraph] {
    let parsed = try LayeringPipeline(json: Data(pipeline.utf8))
    return LayeringPipeline.flatten(try LayeringPipeline.apply(.pipe(parsed.steps), to: .graph(graph)))
}

/// Edges of a graph as name pairs, sorted, for comparisons that ignore edge order.
func edgeNames(_ graph: PipelineGraph) -> [String] {
    graph.successors.enumerated().flatMap { source, targets in
        targets.map { "\(graph.names[source])->\(graph.names[$0])" }
    }.sorted()
}

/// flatten_references_graph_test.py's fixture.
let flattenFixture = """
[
  {"closureSize": 1, "narHash": "sha256:a", "narSize": 2, "path": "A", "references": ["A", "C"]},
  {"closureSize": 3, "narHash": "sha256:b", "narSize": 4, "path": "B", "references": ["C", "D"]},
  {"closureSize": 5, "narHash": "sha256:c", "narSize": 6, "path": "C", "references": ["C"]},
  {"closureSize": 7, "narHash": "sha256:d", "narSize": 8, "path": "D", "references": ["D"]}
]
"""

@Suite("LayeringPipeline")
struct LayeringPipelineTests {
    let pipeTestGraph = tupleListGraph([
        ("Root1", "A"), ("A", "B"), ("A", "C"), ("B", "D"), ("B", "E"),
        ("E", "F"), ("B", "G"), ("Root2", "B"), ("Root3", "C"),
    ])

    @Test("runs pipe_test.py test_1: split, subcomponent, popularity, map, limit")
    func pipeTest1() throws {
        let result = try runPipeline("""
        [
          ["split_paths", ["B"]],
          ["over", "main", ["pipe", [["subcomponent_in", ["B"]], ["over", "rest", ["popularity_contest"]]]]],
          ["flatten"],
          ["map", ["remove_paths", "Root3"]],
          ["limit_layers", 5]
        ]
        """, on: pipeTestGraph)
        #expect(result.map(\.names) == [["B"], ["F"], ["D"], ["E"], ["G", "Root1", "A", "C", "Root2"]])
        // The edges into B were cut by split_paths, so only these survive.
        #expect(edgeNames(result[4]) == ["A->C", "Root1->A"])
    }

    @Test("runs pipe_test.py test_2: popularity, limit_layers and reverse")
    func pipeTest2() throws {
        let graph = tupleListGraph([("Root1", "A"), ("A", "B")], detached: ["Root2"])
        #expect(try runPipeline(#"[["popularity_contest"]]"#, on: graph).map(\.names) == [["B"], ["A"], ["Root1"], ["Root2"]])
        #expect(try runPipeline(#"[["popularity_contest"], ["limit_layers", 3]]"#, on: graph).map(\.names) == [["B"], ["A"], ["Root1", "Root2"]])
        #expect(try runPipeline(#"[["popularity_contest"], ["reverse"], ["limit_layers", 3]]"#, on: graph).map(\.names) == [["Root2"], ["Root1"], ["A", "B"]])
    }

    @Test("runs flatten_references_graph_test.py's split_paths cases")
    func flattenReferencesGraph() throws {
        let graph = try ReferenceGraph(json: Data(flattenFixture.utf8))
        let split = try LayeringPipeline(json: Data(#"[["split_paths", ["B"]]]"#.utf8))
        #expect(try split.run(on: graph) == [["B", "D"], ["C"], ["A"]])
        let nested = try LayeringPipeline(json: Data(#"[["split_paths", ["B"]], ["over", "main", ["subcomponent_in", ["B"]]]]"#.utf8))
        #expect(try nested.run(on: graph) == [["B"], ["D"], ["C"], ["A"]])
    }

    @Test("runs flatten_references_graph_test.py's exclude_paths cases")
    func excludePaths() throws {
        let graph = try ReferenceGraph(json: Data(flattenFixture.utf8))
        let split = try LayeringPipeline(json: Data(#"[["split_paths", ["B"]]]"#.utf8))
        #expect(try split.run(on: graph, excluding: ["A"]) == [["B", "C", "D"]])
        #expect(try split.run(on: graph, excluding: ["D"]) == [["B"], ["C"], ["A"]])
    }

    @Test("orders vertices by narSize like lib_test.py's references_graph_to_igraph")
    func vertexOrder() throws {
        let graph = try ReferenceGraph(nodes: [
            .init(path: "D", references: ["D"], narSize: 0),
            .init(path: "B", references: ["B"], narSize: 4),
            .init(path: "E", references: ["E"], narSize: 5),
            .init(path: "A", references: ["C", "B"], narSize: 10),
            .init(path: "C", references: ["C", "E", "D"], narSize: 6),
            .init(path: "F", references: ["F"], narSize: 2),
        ])
        let converted = try PipelineGraph(graph: graph)
        #expect(converted.names == ["D", "F", "B", "E", "C", "A"])
        #expect(edgeNames(converted) == ["A->B", "A->C", "C->D", "C->E"])
    }

    @Test("splits with children_of, subcomponent_out, split_every and remove_paths")
    func otherOperations() throws {
        let children = try runPipeline(#"[["split_paths", [{"children_of": "B"}]], ["flatten"]]"#, on: pipeTestGraph)
        #expect(children.map(\.names) == [["D", "E", "F", "G"], ["Root1", "A", "B", "C", "Root2", "Root3"]])
        let out = try runPipeline(#"[["subcomponent_out", ["E", "missing"]]]"#, on: pipeTestGraph)
        #expect(out.map(\.names) == [["E", "F"], ["Root1", "A", "B", "C", "D", "G", "Root2", "Root3"]])
        let empty = try runPipeline(#"[["subcomponent_in", []]]"#, on: pipeTestGraph)
        #expect(empty.map(\.names) == [[], ["Root1", "A", "B", "C", "D", "E", "F", "G", "Root2", "Root3"]])
        let chunks = try runPipeline(#"[["remove_paths", ["A", "B"]], ["split_every", 3]]"#, on: pipeTestGraph)
        #expect(chunks.map(\.names) == [["Root1", "C", "D"], ["E", "F", "G"], ["Root2", "Root3"]])
        let rootSplit = try runPipeline(#"[["split_paths", ["Root1"]]]"#, on: tupleListGraph([("Root1", "A")]))
        #expect(rootSplit.map(\.names) == [["Root1", "A"]])
        let noMatch = try runPipeline(#"[["split_paths", ["nothing"]]]"#, on: pipeTestGraph)
        #expect(noMatch.map(\.names) == [pipeTestGraph.names])
    }

    /// Cases checked against nixpkgs' own flatten_references_graph (run under Python
    /// with python-igraph): the graph in input order, the pipeline, its output.
    static let nixpkgsVectors: [(graph: String, pipeline: String, layers: [[String]])] = [
        // limit_layers always yields its merged rest, empty here; reverse moves it first,
        // the second limit_layers gives it a slot, and only the end drops it.
        (#"[{"path": "/nix/store/b-two", "references": [], "narSize": 1}, {"path": "/nix/store/a-one", "references": ["/nix/store/b-two"], "narSize": 2}]"#,
         #"[["popularity_contest"], ["limit_layers", 3], ["reverse"], ["limit_layers", 2]]"#,
         [["/nix/store/a-one", "/nix/store/b-two"]]),
        // Equal narSizes keep the input order, not path order.
        (#"[{"path": "/nix/store/c-z", "references": [], "narSize": 5}, {"path": "/nix/store/a-y", "references": [], "narSize": 5}, {"path": "/nix/store/b-x", "references": [], "narSize": 5}]"#,
         #"[["split_every", 1]]"#,
         [["/nix/store/c-z"], ["/nix/store/a-y"], ["/nix/store/b-x"]]),
        // subcomponent_in of nothing: an empty "main" that is dropped at the end.
        (#"[{"path": "/nix/store/c-z", "references": [], "narSize": 5}, {"path": "/nix/store/a-y", "references": [], "narSize": 5}, {"path": "/nix/store/b-x", "references": [], "narSize": 5}]"#,
         #"[["subcomponent_in", []]]"#,
         [["/nix/store/c-z", "/nix/store/a-y", "/nix/store/b-x"]]),
        (#"[{"path": "/nix/store/c-z", "references": ["/nix/store/a-y"], "narSize": 5}, {"path": "/nix/store/a-y", "references": [], "narSize": 5}, {"path": "/nix/store/b-x", "references": [], "narSize": 5}]"#,
         #"[["popularity_contest"], ["limit_layers", 5], ["reverse"]]"#,
         [["/nix/store/c-z"], ["/nix/store/b-x"], ["/nix/store/a-y"]]),
        // Generated cases from the differential run.
        (#"[{"path": "/nix/store/3bz2-zlib", "references": ["/nix/store/3bz2-zlib"], "narSize": 1000}, {"path": "/nix/store/cc33-bash", "references": [], "narSize": 1}, {"path": "/nix/store/1c20-x", "references": ["/nix/store/3bz2-zlib", "/nix/store/bc21-openssl-3"], "narSize": 3}, {"path": "/nix/store/bc21-openssl-3", "references": ["/nix/store/cc33-bash"], "narSize": 8}]"#,
         #"[["split_every", 4], ["map", ["popularity_contest"]], ["reverse"], ["limit_layers", 4]]"#,
         [["/nix/store/cc33-bash"], ["/nix/store/bc21-openssl-3"], ["/nix/store/3bz2-zlib"], ["/nix/store/1c20-x"]]),
        (#"[{"path": "/nix/store/30a2-glibc", "references": ["/nix/store/30a2-glibc"], "narSize": 1000}, {"path": "/nix/store/a1cz-x", "references": [], "narSize": 8}, {"path": "/nix/store/b002-a-b", "references": [], "narSize": 1}, {"path": "/nix/store/b1za-a-b", "references": [], "narSize": 1}, {"path": "/nix/store/zzb1-app", "references": [], "narSize": 5}]"#,
         #"[["split_every", 2], ["map", ["split_paths", []]], ["limit_layers", 4]]"#,
         [["/nix/store/b002-a-b", "/nix/store/b1za-a-b"], ["/nix/store/zzb1-app", "/nix/store/a1cz-x"], ["/nix/store/30a2-glibc"]]),
        (#"[{"path": "/nix/store/131b-zlib", "references": ["/nix/store/131b-zlib"], "narSize": 8}, {"path": "/nix/store/1bb0-app", "references": [], "narSize": 2}, {"path": "/nix/store/1zcb-zlib", "references": [], "narSize": 2}, {"path": "/nix/store/211b-glibc", "references": [], "narSize": 1000}, {"path": "/nix/store/3101-bash", "references": ["/nix/store/1bb0-app"], "narSize": 3}, {"path": "/nix/store/ccbc-a-b", "references": [], "narSize": 5}]"#,
         #"[["subcomponent_in", ["/nix/store/3101-bash", "/nix/store/ccbc-a-b"]], ["over", "main", ["subcomponent_out", ["/nix/store/211b-glibc"]]]]"#,
         [["/nix/store/3101-bash", "/nix/store/ccbc-a-b"], ["/nix/store/1bb0-app", "/nix/store/1zcb-zlib", "/nix/store/131b-zlib", "/nix/store/211b-glibc"]]),
        (#"[{"path": "/nix/store/cabz-a-b", "references": ["/nix/store/z300-glibc", "/nix/store/z300-glibc"], "narSize": 1000}, {"path": "/nix/store/z300-glibc", "references": ["/nix/store/z300-glibc", "/nix/store/ab01-glibc", "/nix/store/a20c-zlib"], "narSize": 5}, {"path": "/nix/store/b3cc-lib", "references": ["/nix/store/a20c-zlib"], "narSize": 1000}, {"path": "/nix/store/a20c-zlib", "references": ["/nix/store/a20c-zlib"], "narSize": 1000}, {"path": "/nix/store/ab01-glibc", "references": [], "narSize": 8}]"#,
         #"[["subcomponent_out", ["/nix/store/ab01-glibc"]], ["flatten"], ["limit_layers", 2], ["map", ["pipe", [["split_every", 2], ["limit_layers", 2]]]]]"#,
         [["/nix/store/ab01-glibc"], ["/nix/store/z300-glibc", "/nix/store/cabz-a-b"], ["/nix/store/b3cc-lib", "/nix/store/a20c-zlib"]]),
        // limit_layers merges a list of graphs in its rest as igraph's `graph + list` does.
        (#"[{"path": "/nix/store/00cb-a-b", "references": ["/nix/store/cb20-zlib", "/nix/store/abb1-glibc", "/nix/store/z0aa-glibc"], "narSize": 2}, {"path": "/nix/store/0z1a-app", "references": ["/nix/store/abb1-glibc", "/nix/store/cb20-zlib", "/nix/store/cb20-zlib"], "narSize": 3}, {"path": "/nix/store/abb1-glibc", "references": ["/nix/store/abb1-glibc"], "narSize": 1000}, {"path": "/nix/store/cb20-zlib", "references": ["/nix/store/cb20-zlib"], "narSize": 5}, {"path": "/nix/store/z0aa-glibc", "references": ["/nix/store/abb1-glibc"], "narSize": 2}, {"path": "/nix/store/zz11-a-b", "references": ["/nix/store/00cb-a-b", "/nix/store/abb1-glibc", "/nix/store/zz11-a-b"], "narSize": 8}]"#,
         #"[["popularity_contest"], ["map", ["split_every", 3]], ["limit_layers", 1]]"#,
         [["/nix/store/abb1-glibc", "/nix/store/cb20-zlib", "/nix/store/z0aa-glibc", "/nix/store/00cb-a-b", "/nix/store/zz11-a-b", "/nix/store/0z1a-app"]]),
        // popularity_contest over an empty list (from split_every of an empty graph)
        // yields nothing instead of failing, as in nixpkgs.
        (#"[{"path": "/nix/store/aa-app", "references": ["/nix/store/bb-lib"], "narSize": 2}, {"path": "/nix/store/bb-lib", "references": [], "narSize": 1}]"#,
         #"[["subcomponent_out", []], ["over", "main", ["pipe", [["split_every", 1], ["popularity_contest"]]]]]"#,
         [["/nix/store/bb-lib", "/nix/store/aa-app"]]),
    ]

    @Test("matches nixpkgs' flatten_references_graph on recorded vectors", arguments: 0..<10)
    func nixpkgsVector(_ index: Int) throws {
        let vector = Self.nixpkgsVectors[index]
        let graph = try ReferenceGraph(json: Data(vector.graph.utf8))
        #expect(try LayeringPipeline(json: Data(vector.pipeline.utf8)).run(on: graph) == vector.layers)
    }

    @Test("keeps limit_layers' empty rest as a graph until the very end")
    func emptyRest() throws {
        let graph = tupleListGraph([("Root1", "A")])
        let limited = try runPipeline(#"[["popularity_contest"], ["limit_layers", 3]]"#, on: graph)
        #expect(limited.map(\.names) == [["A"], ["Root1"], []])
    }

    @Test("rejects unknown operations and bad arguments with typed errors")
    func errors() throws {
        #expect(throws: LayeringError.unknownOperation("shuffle")) {
            try LayeringPipeline(json: Data(#"[["shuffle"]]"#.utf8))
        }
        #expect(throws: LayeringError.badArguments(operation: "limit_layers", reason: "the count must be a whole number above zero")) {
            try LayeringPipeline(json: Data(#"[["limit_layers", 0]]"#.utf8))
        }
        #expect(throws: LayeringError.badArguments(operation: "flatten", reason: "it takes 0 arguments but was given 1")) {
            try LayeringPipeline(json: Data(#"[["pipe", [["flatten", 1]]]]"#.utf8))
        }
        #expect(throws: LayeringError.badArguments(operation: "split_paths", reason: "an object entry must have the key \"children_of\"")) {
            try LayeringPipeline(json: Data(#"[["split_paths", [{"parents_of": "x"}]]]"#.utf8))
        }
        let graph = try ReferenceGraph(json: Data(flattenFixture.utf8))
        let missing = #expect(throws: LayeringError.self) {
            try LayeringPipeline(json: Data(#"[["split_paths", ["B"]], ["over", "nope", ["flatten"]]]"#.utf8)).run(on: graph)
        }
        #expect(missing?.description == "The layering pipeline step \"over\" found no key \"nope\" in its input.")
        #expect(throws: LayeringError.wrongInput(operation: "popularity_contest", expected: "a graph", got: "a dict")) {
            try LayeringPipeline(json: Data(#"[["split_paths", ["B"]], ["popularity_contest"]]"#.utf8)).run(on: graph)
        }
        let noSize = try ReferenceGraph(nodes: [.init(path: "X", references: [])])
        #expect(throws: LayeringError.missingNarSize("X")) {
            try LayeringPipeline(steps: [.popularityContest]).run(on: noSize)
        }
    }
}
