import Foundation
import Testing
@testable import Builder

/// The first pass measures the heaviest layer first; a spec's closure graph says which it is.
@Suite("Layer weight")
struct LayerWeightTests {
    @Test("a store layer weighs what the graph's narSize says, and nothing when a path has none")
    func weightFromGraph() async throws {
        let root = try FixtureStore.temporaryDirectory("layer-weight")
        defer { FixtureStore.remove(root) }
        let big = "/nix/store/aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa-big", small = "/nix/store/bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb-small"
        let bare = "/nix/store/cccccccccccccccccccccccccccccccc-bare"
        for path in [big, small, bare] {
            try FileManager.default.createDirectory(atPath: root + "/store" + path.dropFirst("/nix/store".count), withIntermediateDirectories: true)
            try Data("\(path)\n".utf8).write(to: URL(fileURLWithPath: root + "/store" + path.dropFirst("/nix/store".count) + "/file"))
        }
        func resolve(graph: String) async throws -> [UInt64?] {
            try Data(graph.utf8).write(to: URL(fileURLWithPath: root + "/graph.json"))
            let spec = try ImageSpec.decode(Array(#"""
                {"name": "weights", "tag": "t", "store": "store", "graph": "graph.json", "contents": ["\#(big)", "\#(small)", "\#(bare)"],
                 "created": "1970-01-01T00:00:01Z"}
                """#.utf8), file: root + "/spec.json", relativeTo: root)
            let work = try SpecResolver.makeWorkDirectory(kind: "test")
            defer { SpecResolver.removeWorkDirectory(work) }
            let resolved = try await SpecResolver(spec: spec).resolve(workDirectory: work)
            return resolved.plan.storeLayers.map(\.narSize)
        }
        let sized = try await resolve(graph: """
            [{"path": "\(big)", "narSize": 209715200, "references": []},
             {"path": "\(small)", "narSize": 4096, "references": []},
             {"path": "\(bare)", "narSize": 512, "references": []}]
            """)
        #expect(sized.count == 3)
        #expect(sized.contains(209_715_200) && sized.contains(4096) && sized.contains(512))
        let partial = try await resolve(graph: """
            [{"path": "\(big)", "narSize": 209715200, "references": []},
             {"path": "\(small)", "references": []},
             {"path": "\(bare)", "narSize": 512, "references": []}]
            """)
        #expect(partial.filter { $0 == nil }.count == 1)
    }

    @Test("sizes that add up past 2^64 weigh the most a layer can, without trapping")
    func saturates() throws {
        let graph = try ReferenceGraph(nodes: [
            .init(path: "/nix/store/a-x", references: [], narSize: UInt64.max - 1),
            .init(path: "/nix/store/b-y", references: [], narSize: 1 << 63),
        ])
        #expect(SpecResolver.narSize(of: ["/nix/store/a-x", "/nix/store/b-y"], in: graph) == UInt64.max)
        #expect(SpecResolver.narSize(of: ["/nix/store/b-y"], in: graph) == 1 << 63)
        let layers: [any Layer] = [1, UInt64.max, UInt64.max - 1].map { size in
            StoreLayer(paths: [StorePathMapping(samePath: "/nix/store/\(size)-p")], leadingDirectories: [], stamp: EntryStamp(), narSize: size)
        }
        #expect(FirstPass<Int>.largestFirst(layers) == [1, 0, 2])
        #expect(!FirstPass<Int>.othersYield(layers, order: FirstPass<Int>.largestFirst(layers), workers: 2))
    }
}
