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
        let order = layers.indices.sorted { (layers[$0].estimatedCost, $1) > (layers[$1].estimatedCost, $0) }
        return FirstPass<Int>.othersYield(layers, order: order, workers: workers)
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

    @Test("measures every layer once, whichever worker yields")
    func measuresAll() throws {
        let layers: [any Layer] = [1, 1, 9, 1].map { Self.layer(paths: $0) }
        let pass = FirstPass(layers: layers, workers: 2, progress: nil) { layer, _ in layer.historyPaths.count }
        defer { pass.stop() }
        #expect(try (0..<4).map { try pass.result($0) } == [1, 1, 9, 1])
    }
}
