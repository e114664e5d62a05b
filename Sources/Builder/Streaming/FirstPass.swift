import Dispatch
import Foundation
import Synchronization

/// The first pass over an image's layers, on dedicated threads, largest layers first, while the
/// caller streams each layer as soon as its own result is published. Every writer (docker
/// archive, OCI archive and layout) measures its layers this way; only what is measured differs.
final class FirstPass<Value: Sendable>: Sendable {
    private let board: ResultBoard<Value>
    private let group = DispatchGroup()

    /// At most four workers, so memory (a few MiB of buffers per worker) stays bounded on a
    /// many-core host.
    static var maximumWorkers: Int { 4 }

    /// `workers` caps the threads below one per core (a multi-threaded compressor needs fewer).
    /// One worker measures in layer order, so the writer can stream layer 1 while layer 2 is
    /// measured; several take the largest layer first, so the longest job does not start last,
    /// then the others in layer order, the order the writer needs them in: a second large layer
    /// further down is measured while the writer streams the first, not in competition with
    /// its first pass.
    init(
        layers: [any Layer], workers: Int? = nil, progress: (@Sendable (BuildProgress) -> Void)?,
        measure: @escaping @Sendable (any Layer, CopyBuffer) throws -> Value
    ) {
        board = ResultBoard(count: layers.count)
        let board = self.board
        // Dedicated threads, not GCD's pool: under `taskset -c 0` the pool may be one thread
        // wide, and that thread is the one waiting for these results.
        let workers = max(1, min(ProcessInfo.processInfo.activeProcessorCount, layers.count, workers ?? Self.maximumWorkers, Self.maximumWorkers))
        let order = workers == 1 ? Array(layers.indices) : Self.largestFirst(layers)
        let done = Atomic<Int>(0)
        let next = Atomic<Int>(0)
        let yields = Self.othersYield(layers, order: order, workers: workers)
        for _ in 0..<workers {
            group.enter()
            let group = self.group
            let thread = Thread {
                let buffer = CopyBuffer()
                var yielded = false
                while true {
                    let position = next.add(1, ordering: .relaxed).oldValue
                    guard position < order.count else { break }
                    // Only lowering: a thread cannot raise its priority back without privilege,
                    // and it need not (the largest layer is taken first).
                    if yields && position > 0 && !yielded {
                        Self.yieldToLargest()
                        yielded = true
                    }
                    let index = order[position]
                    guard !board.isCancelled else {
                        board.publish(index, .failure(TarWriterError.alreadyFailed))
                        continue
                    }
                    board.publish(index, Result { try measure(layers[index], buffer) })
                    progress?(.measured(layer: done.add(1, ordering: .relaxed).newValue, of: layers.count))
                }
                group.leave()
            }
            thread.stackSize = 1 << 20
            thread.start()
        }
    }

    /// The largest layer (the first of equals), then the rest in layer order.
    static func largestFirst(_ layers: [any Layer]) -> [Int] {
        guard let largest = layers.indices.max(by: { (layers[$0].estimatedCost, $1) < (layers[$1].estimatedCost, $0) }) else { return [] }
        return [largest] + layers.indices.filter { $0 != largest }
    }

    /// Whether the workers measuring the other layers should give way to the one measuring
    /// the largest: when one layer outweighs the rest (a bulk layer of most store paths), its
    /// first pass and then its second are the critical path, and the small layers' passes can
    /// run in its shadow instead of slowing it down.
    static func othersYield(_ layers: [any Layer], order: [Int], workers: Int) -> Bool {
        guard workers > 1, order.count > 1, let largest = order.first else { return false }
        // Weights from a graph may be anything up to UInt64.max: saturate rather than trap.
        let rest = order.dropFirst().reduce(UInt64(0)) { sum, index in
            let (total, overflow) = sum.addingReportingOverflow(layers[index].estimatedCost)
            return overflow ? .max : total
        }
        return layers[largest].estimatedCost > rest
    }

    /// Lowers the calling thread's priority (on Linux a nice value is per thread), and so that of
    /// the hashing thread it starts; never the output's bytes.
    private static func yieldToLargest() {
        let which = __priority_which_t(PRIO_PROCESS.rawValue)
        errno = 0
        let current = getpriority(which, 0)
        guard errno == 0 else { return }
        _ = setpriority(which, 0, min(19, current + 5))
    }

    /// Waits for one layer's result and hands it over: the board keeps nothing (a spilled blob
    /// is freed as soon as the writer is done with it). Each index is taken once.
    func result(_ index: Int) throws -> Value { try board.take(index) }

    /// Cancels what has not started and waits for the workers to end.
    func stop() {
        board.cancel()
        group.wait()
    }
}

/// Results published in any order and awaited in layer order.
private final class ResultBoard<Value: Sendable>: Sendable {
    private let slots: Mutex<[Result<Value, any Error>?]>
    private let ready: [DispatchSemaphore]
    private let cancelled = Atomic<Bool>(false)

    init(count: Int) {
        slots = Mutex(Array(repeating: nil, count: count))
        ready = (0..<count).map { _ in DispatchSemaphore(value: 0) }
    }

    var isCancelled: Bool { cancelled.load(ordering: .relaxed) }

    func cancel() { cancelled.store(true, ordering: .relaxed) }

    func publish(_ index: Int, _ result: Result<Value, any Error>) {
        slots.withLock { $0[index] = result }
        ready[index].signal()
    }

    func take(_ index: Int) throws -> Value {
        ready[index].wait()
        let outcome = slots.withLock { slots in
            defer { slots[index] = nil }
            return slots[index] ?? .failure(TarWriterError.alreadyFailed)
        }
        return try outcome.get()
    }
}
