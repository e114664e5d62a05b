import Builder
import Foundation
import Synchronization
import Testing

/// The archive writer's second pass: each layer streamed once more and proved identical to the
/// first pass, the proof possibly finishing while the next layer streams but always before the
/// config and manifest are written.
@Suite("Image archive writer")
struct ImageArchiveWriterTests {
    /// A layer whose bytes differ from the second write on, as a store path changed between
    /// the two passes would.
    final class ChangingLayer: Layer, Sendable {
        private let writes = Atomic<Int>(0)
        let historyPaths = ["changing layer"]
        var declaredDiffID: Digest? { nil }

        func write<S: ByteSink>(to sink: inout S, buffer: CopyBuffer) throws {
            let first = writes.add(1, ordering: .relaxed).oldValue == 0
            var tar = TarWriter(sink: sink)
            try tar.add(TarHeader(name: "data", mtime: 1), content: Array((first ? "before" : "after!").utf8))
            try tar.finish()
            sink = tar.sink
        }

        func outerHeader(name: String, size: UInt64, mtime: Int) -> TarHeader {
            defaultOuterHeader(name: name, size: size, mtime: mtime)
        }
    }

    @Test("refuses to complete an archive whose last layer changed between the passes")
    func lastLayerChanged() throws {
        let temporary = try FixtureStore.temporaryDirectory("writer-changed")
        defer { FixtureStore.remove(temporary) }
        var (plan, _) = try ReferenceArchiveTests.plan("many-layers", under: temporary)
        plan.customisation = ChangingLayer()
        let layers = plan.storeLayers.count + 1
        let collected = Collected()
        #expect {
            _ = try ImageArchiveWriter(plan: plan).write(to: CollectingSink(collected))
        } throws: { error in
            guard case let .storeChanged(layer, first, second)? = error as? ImageBuildError else { return false }
            return layer == layers && first != second
        }
        // What did stream holds every layer but stops before the members that would claim the
        // archive complete.
        let text = String(decoding: collected.bytes, as: UTF8.self)
        #expect(text.contains("after!"))
        #expect(!text.contains("manifest.json"))
    }

    final class Collected: @unchecked Sendable {
        var bytes: [UInt8] = []
    }

    /// Keeps what was written where the test can see it after the writer threw.
    struct CollectingSink: ByteSink {
        let collected: Collected
        init(_ collected: Collected) { self.collected = collected }
        mutating func write(_ bytes: UnsafeRawBufferPointer) throws { collected.bytes.append(contentsOf: bytes) }
        mutating func flush() throws {}
    }

    @Test("streams the same bytes and diffIDs however many layers there are", arguments: ["basic", "many-layers"])
    func sameAsMeasured(_ name: String) throws {
        let temporary = try FixtureStore.temporaryDirectory("writer-\(name)")
        defer { FixtureStore.remove(temporary) }
        let (plan, _) = try ReferenceArchiveTests.plan(name, under: temporary)
        let (result, sink) = try ImageArchiveWriter(plan: plan).write(to: MemorySink())
        var reader = TarReader(source: MemorySource(sink.bytes))
        var diffIDs: [Digest] = []
        while let header = try reader.next() {
            guard header.nameString.hasSuffix("/layer.tar") else { continue }
            let bytes = try reader.readAll()
            diffIDs.append(Digest.of(bytes))
            #expect(header.nameString == "\(Digest.of(bytes).hex)/layer.tar")
        }
        #expect(diffIDs == result.diffIDs)
        #expect(result.layerSizes.count == diffIDs.count)
    }
}
