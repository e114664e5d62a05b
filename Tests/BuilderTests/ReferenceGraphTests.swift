import Foundation
import Testing
@testable import Builder

@Suite("ReferenceGraph")
struct ReferenceGraphTests {
    @Test("reads the exportReferencesGraph array shape and drops self-references")
    func readsExportShape() throws {
        let json = """
        [
          {"path": "/nix/store/foo", "references": ["/nix/store/foo", "/nix/store/bar"], "narSize": 10, "closureSize": 30, "narHash": "sha256:x"},
          {"path": "/nix/store/bar", "references": ["/nix/store/bar", "/nix/store/tux"], "narSize": 20},
          {"path": "/nix/store/tux", "references": []},
          {"path": "/nix/store/hello", "references": []}
        ]
        """
        let graph = try ReferenceGraph(json: Data(json.utf8))
        // closure-graph.py's make_lookup test: self-references are dropped.
        #expect(graph.node("/nix/store/foo")?.references == ["/nix/store/bar"])
        #expect(graph.node("/nix/store/bar")?.references == ["/nix/store/tux"])
        #expect(graph.node("/nix/store/hello")?.references == [])
        #expect(graph.node("/nix/store/bar")?.narSize == 20)
        #expect(graph.node("/nix/store/tux")?.narSize == nil)
        // closure-graph.py's find_roots test.
        #expect(graph.roots == ["/nix/store/foo", "/nix/store/hello"])
    }

    @Test("reads the nix path-info object shape, including base-name references")
    func readsPathInfoShape() throws {
        let json = """
        {
          "/nix/store/aaa-app": {"references": ["/nix/store/aaa-app", "bbb-lib"], "narSize": 18446744073709551615},
          "/nix/store/bbb-lib": {"references": [], "narSize": 4}
        }
        """
        let graph = try ReferenceGraph(json: Data(json.utf8))
        #expect(graph.paths == ["/nix/store/aaa-app", "/nix/store/bbb-lib"])
        #expect(graph.node("/nix/store/aaa-app")?.references == ["/nix/store/bbb-lib"])
        #expect(graph.node("/nix/store/aaa-app")?.narSize == UInt64.max)
    }

    @Test("keeps the entries' input order, also through restriction")
    func inputOrder() throws {
        let json = #"{"/nix/store/ccc-c": {"references": ["/nix/store/aaa-a"]}, "/nix/store/aaa-a": {"references": []}, "/nix/store/bbb-b": {"references": []}}"#
        let graph = try ReferenceGraph(json: Data(json.utf8))
        #expect(graph.paths == ["/nix/store/aaa-a", "/nix/store/bbb-b", "/nix/store/ccc-c"])
        #expect(graph.nodesInInputOrder.map(\.path) == ["/nix/store/ccc-c", "/nix/store/aaa-a", "/nix/store/bbb-b"])
        let restricted = try graph.restricted(to: ["/nix/store/bbb-b", "/nix/store/ccc-c"])
        #expect(restricted.nodesInInputOrder.map(\.path) == ["/nix/store/ccc-c", "/nix/store/bbb-b"])
        #expect(restricted.node("/nix/store/ccc-c")?.references == [])
    }

    @Test("returns the sorted closure of the roots")
    func closure() throws {
        let graph = try ReferenceGraph(nodes: [
            .init(path: "/nix/store/c-top", references: ["/nix/store/b-mid"]),
            .init(path: "/nix/store/b-mid", references: ["/nix/store/a-low"]),
            .init(path: "/nix/store/a-low", references: []),
            .init(path: "/nix/store/d-other", references: ["/nix/store/a-low"]),
        ])
        #expect(try graph.closure(of: ["/nix/store/c-top"]) == ["/nix/store/a-low", "/nix/store/b-mid", "/nix/store/c-top"])
        #expect(throws: LayeringError.unknownRoot("/nix/store/x-missing")) {
            try graph.closure(of: ["/nix/store/x-missing"])
        }
    }

    @Test("rejects a reference to a path without an entry")
    func unknownReference() {
        let error = #expect(throws: LayeringError.self) {
            try ReferenceGraph(json: Data(#"[{"path": "/nix/store/foo", "references": ["/nix/store/gone"]}]"#.utf8))
        }
        #expect(error == .unknownReference(from: "/nix/store/foo", to: "/nix/store/gone"))
        #expect(error?.description == "/nix/store/foo references /nix/store/gone, which has no entry in the reference graph.")
    }

    @Test("rejects a cycle between distinct paths and names two of them")
    func cycle() {
        let error = #expect(throws: LayeringError.self) {
            try ReferenceGraph(nodes: [
                .init(path: "/nix/store/a", references: ["/nix/store/b"]),
                .init(path: "/nix/store/b", references: ["/nix/store/c"]),
                .init(path: "/nix/store/c", references: ["/nix/store/a"]),
                .init(path: "/nix/store/d", references: ["/nix/store/a"]),
            ])
        }
        #expect(error == .cycle("/nix/store/a", "/nix/store/b"))
        #expect(error?.description == "The reference graph has a cycle between /nix/store/a and /nix/store/b.")
    }

    @Test("rejects malformed entries with a sentence naming the entry")
    func malformed() {
        let missingPath = #expect(throws: LayeringError.self) {
            try ReferenceGraph(json: Data(#"[{"references": []}]"#.utf8))
        }
        #expect(missingPath == .malformedEntry(entry: "#0", reason: "it has no string \"path\""))
        let badReferences = #expect(throws: LayeringError.self) {
            try ReferenceGraph(json: Data(#"{"/nix/store/a": {"references": "x"}}"#.utf8))
        }
        #expect(badReferences?.description == "The reference graph entry /nix/store/a is malformed: it has no \"references\" array.")
        let badSize = #expect(throws: LayeringError.self) {
            try ReferenceGraph(json: Data(#"[{"path": "/nix/store/a", "references": [], "narSize": -1}]"#.utf8))
        }
        #expect(badSize == .malformedEntry(entry: "/nix/store/a", reason: "\"narSize\" is not a non-negative integer"))
        #expect(throws: LayeringError.malformedGraph(reason: "the top level is a string, not an array or an object")) {
            try ReferenceGraph(json: Data(#""nope""#.utf8))
        }
        #expect(throws: LayeringError.duplicatePath("/nix/store/a")) {
            try ReferenceGraph(json: Data(#"[{"path": "/nix/store/a", "references": []}, {"path": "/nix/store/a", "references": []}]"#.utf8))
        }
    }
}
