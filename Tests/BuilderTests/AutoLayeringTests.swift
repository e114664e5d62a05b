import Testing
@testable import Builder

@Suite("AutoLayering")
struct AutoLayeringTests {
    // app (100) -> lib1 (50), lib2 (30); lib1, lib2 -> libc (40); tool (60) -> libc.
    let graph: ReferenceGraph = {
        let nodes: [ReferenceGraph.Node] = [
            .init(path: "/nix/store/a1-app", references: ["/nix/store/a1-app", "/nix/store/l1-lib1", "/nix/store/l2-lib2"], narSize: 100),
            .init(path: "/nix/store/t1-tool", references: ["/nix/store/c1-libc"], narSize: 60),
            .init(path: "/nix/store/l1-lib1", references: ["/nix/store/c1-libc"], narSize: 50),
            .init(path: "/nix/store/c1-libc", references: [], narSize: 40),
            .init(path: "/nix/store/l2-lib2", references: ["/nix/store/c1-libc"], narSize: 30),
        ]
        return (try? ReferenceGraph(nodes: nodes)) ?? ReferenceGraph.emptyForTests
    }()

    @Test("gives every path its own layer when the limit allows, ordered by closure size")
    func unlimited() throws {
        // Traced by hand through auto-layer.py: app, tool, lib1, libc, lib2 become
        // primaries in that order; closure sizes 40, 70, 90, 100, 220.
        #expect(try AutoLayering.layers(graph: graph, limit: 100) == [
            ["/nix/store/c1-libc"], ["/nix/store/l2-lib2"], ["/nix/store/l1-lib1"],
            ["/nix/store/t1-tool"], ["/nix/store/a1-app"],
        ])
    }

    @Test("stops at the first primary that would exceed the limit")
    func limited() throws {
        // After app and tool: libc is shared by both, app keeps lib1 and lib2.
        #expect(try AutoLayering.layers(graph: graph, limit: 3) == [
            ["/nix/store/c1-libc"], ["/nix/store/t1-tool"],
            ["/nix/store/a1-app", "/nix/store/l1-lib1", "/nix/store/l2-lib2"],
        ])
        #expect(try AutoLayering.layers(graph: graph, limit: 2) == [
            ["/nix/store/t1-tool"],
            // path_key order: by name (app, lib1, lib2, libc), not by hash.
            ["/nix/store/a1-app", "/nix/store/l1-lib1", "/nix/store/l2-lib2", "/nix/store/c1-libc"],
        ])
        #expect(try AutoLayering.layers(graph: graph, limit: 1) == [[
            "/nix/store/a1-app", "/nix/store/l1-lib1", "/nix/store/l2-lib2",
            "/nix/store/c1-libc", "/nix/store/t1-tool",
        ]])
    }

    @Test("breaks closure-size ties by the first path's name, then hash")
    func ties() throws {
        let tied = try ReferenceGraph(nodes: [
            .init(path: "/nix/store/aaa-beta", references: [], narSize: 10),
            .init(path: "/nix/store/zzz-alpha", references: [], narSize: 10),
        ])
        #expect(try AutoLayering.layers(graph: tied, limit: 10) == [["/nix/store/zzz-alpha"], ["/nix/store/aaa-beta"]])
    }

    @Test("takes equal-size primaries last input entry first, as auto-layer.py's stable sort and pop")
    func inputOrderTies() throws {
        // Checked against auto-layer.py: b-lib2 comes before a-lib in the input, so
        // a-lib is popped (and split off) first.
        let graph = try ReferenceGraph(nodes: [
            .init(path: "/nix/store/c-app", references: ["/nix/store/a-lib", "/nix/store/b-lib2"], narSize: 10),
            .init(path: "/nix/store/b-lib2", references: [], narSize: 5),
            .init(path: "/nix/store/a-lib", references: [], narSize: 5),
        ])
        #expect(try AutoLayering.layers(graph: graph, limit: 2) == [["/nix/store/a-lib"], ["/nix/store/c-app", "/nix/store/b-lib2"]])
    }

    @Test("drops ignored paths from the result but not from the split")
    func ignoring() throws {
        let layers = try AutoLayering.layers(graph: graph, ignoring: ["/nix/store/t1-tool", "/nix/store/a1-app"], limit: 3)
        #expect(layers == [["/nix/store/c1-libc"], ["/nix/store/l1-lib1", "/nix/store/l2-lib2"]])
    }

    @Test("needs narSize for every path")
    func missingSize() throws {
        let unsized = try ReferenceGraph(nodes: [.init(path: "/nix/store/a-x", references: [])])
        #expect(throws: LayeringError.missingNarSize("/nix/store/a-x")) {
            try AutoLayering.layers(graph: unsized, limit: 5)
        }
    }
}

extension ReferenceGraph {
    /// A stand-in so a fixture that fails to build shows up as failing expectations.
    static var emptyForTests: ReferenceGraph {
        (try? ReferenceGraph(nodes: [])) ?? { fatalError("an empty graph is always valid") }()
    }
}
