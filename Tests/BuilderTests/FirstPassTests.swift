import Foundation
import Synchronization
import Testing
@testable import Builder

/// How the first pass shares the cores: the heaviest layer first, the others in the order the
/// writer streams them, and no layer started past a heavy one still being measured.
@Suite("First pass")
struct FirstPassTests {
    static func layer(paths: Int) -> StoreLayer {
        StoreLayer(
            paths: (0..<paths).map { StorePathMapping(samePath: "/nix/store/\($0)-p") }, leadingDirectories: [],
            stamp: EntryStamp()
        )
    }

    static func layer(narSize: UInt64) -> StoreLayer {
        StoreLayer(paths: [StorePathMapping(samePath: "/nix/store/\(narSize)-p")], leadingDirectories: [], stamp: EntryStamp(), narSize: narSize)
    }

    @Test("takes the largest layer first, then the others in the order the writer streams them")
    func order() {
        let sizes: [UInt64] = [10, 20, 200 << 20, 5, 132 << 20, 1]
        let layers: [any Layer] = sizes.map { Self.layer(narSize: $0) }
        #expect(FirstPass<Int>.largestFirst(layers) == [2, 0, 1, 3, 4, 5])
        #expect(FirstPass<Int>.largestFirst([1, 1, 131, 1].map { Self.layer(paths: $0) }) == [2, 0, 1, 3])
        #expect(FirstPass<Int>.largestFirst([1, 3, 3, 1].map { Self.layer(paths: $0) }) == [1, 0, 2, 3])
        #expect(FirstPass<Int>.largestFirst([]).isEmpty)
    }

    @Test("weighs a layer by the graph's narSize when it has one, else by its paths")
    func cost() {
        #expect(Self.layer(narSize: 200 << 20).estimatedCost == 200 << 20)
        #expect(Self.layer(paths: 3).estimatedCost == 3 << 20)
    }

    @Test("a layer measured for long is heavy for the layers after it, not for those before it")
    func heavyBefore() {
        let clock = JobClock(workers: 2)
        let ms: UInt64 = 1_000_000
        clock.start(0, layer: 47, at: 100 * ms)
        #expect(!clock.heavy(before: 48, worker: 1, at: 110 * ms), "10 ms in, it may yet be a light layer")
        #expect(clock.heavy(before: 48, worker: 1, at: 100 * ms + JobClock.heavyAfter + ms))
        #expect(!clock.heavy(before: 12, worker: 1, at: 300 * ms), "a layer before the heavy one streams first")
        #expect(!clock.heavy(before: 48, worker: 0, at: 300 * ms), "a worker does not wait for itself")
        // Read before another worker's start (a race between two workers): not heavy, no trap.
        clock.start(0, layer: 47, at: 400 * ms)
        #expect(!clock.heavy(before: 48, worker: 1, at: 399 * ms))
        clock.finish(0)
        #expect(!clock.heavy(before: 48, worker: 1, at: 300 * ms), "between layers a worker weighs nothing")
    }

    @Test("a worker waits while a heavy layer before its own is measured, and no longer than cancelled")
    func waits() {
        let clock = JobClock(workers: 2)
        clock.start(0, layer: 1, at: DispatchTime.now().uptimeNanoseconds - 2 * JobClock.heavyAfter)
        let waited = Mutex(false)
        let finished = DispatchSemaphore(value: 0)
        Thread {
            clock.waitWhileHeavy(before: 5, worker: 1) { false }
            waited.withLock { $0 = true }
            finished.signal()
        }.start()
        Thread.sleep(forTimeInterval: 0.05)
        #expect(!waited.withLock { $0 }, "the heavy layer is still being measured")
        clock.finish(0)
        #expect(finished.wait(timeout: .now() + 5) == .success)
        clock.start(0, layer: 1, at: DispatchTime.now().uptimeNanoseconds - 2 * JobClock.heavyAfter)
        clock.waitWhileHeavy(before: 5, worker: 1) { true }
    }

    @Test("measures every layer once, whichever order the workers take them in")
    func measuresAll() throws {
        let layers: [any Layer] = [1, 1, 9, 1].map { Self.layer(paths: $0) }
        let pass = FirstPass(layers: layers, workers: 2, progress: nil) { layer, _ in layer.historyPaths.count }
        defer { pass.stop() }
        #expect(try (0..<4).map { try pass.result($0) } == [1, 1, 9, 1])
    }

    @Test("measures every layer even when a heavy one holds the others back")
    func heavyHoldsBack() throws {
        // Layer 0 takes long enough to count as heavy; the layers after it wait, then run.
        let layers: [any Layer] = [1, 1, 1, 1].map { Self.layer(paths: $0) }
        let pass = FirstPass(layers: layers, workers: 2, progress: nil) { layer, _ in
            if layer.historyPaths.first == layers[0].historyPaths.first { Thread.sleep(forTimeInterval: 0.06) }
            return layer.historyPaths.count
        }
        defer { pass.stop() }
        #expect(try (0..<4).map { try pass.result($0) } == [1, 1, 1, 1])
    }
}
