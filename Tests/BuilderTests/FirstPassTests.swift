@testable import Builder
import Testing

/// How the first pass shares the cores: the workers measuring small layers give way to the
/// one measuring a layer that outweighs all the others together.
@Suite("First pass")
struct FirstPassTests {
    static func layer(paths: Int) -> StoreLayer {
        StoreLayer(
            paths: (0..<paths).map { StorePathMapping(samePath: "/nix/store/\($0)-p") }, leadingDirectories: [],
            stamp: EntryStamp()
        )
    }

    static func yields(_ sizes: [Int], workers: Int) -> Bool {
        let layers: [any Layer] = sizes.map { layer(paths: $0) }
        return FirstPass<Int>.othersYield(layers, order: FirstPass<Int>.largestFirst(layers), workers: workers)
    }

    @Test("a bulk layer outweighing the rest has the other workers give way")
    func bulkLayer() {
        #expect(Self.yields([1, 1, 1, 131, 1], workers: 2))
    }

    @Test("layers of similar weight share the cores evenly")
    func evenLayers() {
        #expect(!Self.yields([1, 1, 1, 1], workers: 2))
        #expect(!Self.yields([3, 1, 1, 1], workers: 2))
    }

    @Test("a single worker or a single layer changes nothing")
    func nothingToShare() {
        #expect(!Self.yields([1, 131], workers: 1))
        #expect(!Self.yields([131], workers: 2))
    }

    static func layer(narSize: UInt64) -> StoreLayer {
        StoreLayer(paths: [StorePathMapping(samePath: "/nix/store/\(narSize)-p")], leadingDirectories: [], stamp: EntryStamp(), narSize: narSize)
    }

    @Test("takes the largest layer first, then the others in the order the writer streams them")
    func order() {
        let sizes: [UInt64] = [10, 20, 200 << 20, 5, 132 << 20, 1]
        let layers: [any Layer] = sizes.map { Self.layer(narSize: $0) }
        #expect(FirstPass<Int>.largestFirst(layers) == [2, 0, 1, 3, 4, 5])
        #expect(FirstPass<Int>.largestFirst([1, 3, 3, 1].map { Self.layer(paths: $0) }) == [1, 0, 2, 3])
        #expect(FirstPass<Int>.largestFirst([]).isEmpty)
    }

    @Test("weighs a layer by the graph's narSize when it has one, else by its paths")
    func cost() {
        #expect(Self.layer(narSize: 200 << 20).estimatedCost == 200 << 20)
        #expect(Self.layer(paths: 3).estimatedCost == 3 << 20)
        // One 200 MiB library among single-path layers: by paths they all weigh the same and
        // nobody gives way; by bytes the library's passes come first.
        #expect(!Self.yields([1, 1, 1, 1], workers: 2))
        let closure: [any Layer] = [1 << 10, 200 << 20, 8 << 20, 132 << 20].map { Self.layer(narSize: $0) }
        #expect(FirstPass<Int>.othersYield(closure, order: FirstPass<Int>.largestFirst(closure), workers: 2))
    }

    @Test("measures every layer once, whichever worker yields")
    func measuresAll() throws {
        let layers: [any Layer] = [1, 1, 9, 1].map { Self.layer(paths: $0) }
        let pass = FirstPass(layers: layers, workers: 2, progress: nil) { layer, _ in layer.historyPaths.count }
        defer { pass.stop() }
        #expect(try (0..<4).map { try pass.result($0) } == [1, 1, 9, 1])
    }
}
