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
        let clock = JobClock(workers: workers)
        for worker in 0..<workers {
            group.enter()
            let group = self.group
            let thread = Thread {
                // Below the writer: what it streams now is needed before anything a worker
                // measures, and while it waits for a worker it leaves the cores to it anyway.
                // Before the buffer's hashing thread starts, which inherits it.
                Self.lowerPriority()
                let buffer = CopyBuffer()
                while true {
                    let position = next.add(1, ordering: .relaxed).oldValue
                    guard position < order.count else { break }
                    let index = order[position]
                    // A heavy layer earlier in the order streams before this one: measuring this
                    // one now would only slow the heavy one's first pass, the critical path, and
                    // waiting costs nothing, since the writer needs the heavy layer first. Without
                    // sizes (a conf names paths only) the heavy layer shows itself by taking long.
                    clock.waitWhileHeavy(before: index, worker: worker) { board.isCancelled }
                    clock.start(worker, layer: index)
                    defer { clock.finish(worker) }
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

    /// Lowers the calling thread's priority ten steps (on Linux a nice value is per thread);
    /// never the output's bytes. Ten: the writer's hashing thread and a worker's often share a
    /// core, where five steps down still took a quarter of it; not the lowest, or beside other
    /// processes (`check --jobs 2`) a worker the writer waits for would all but stop.
    private static func lowerPriority() {
        let which = __priority_which_t(PRIO_PROCESS.rawValue)
        errno = 0
        let current = getpriority(which, 0)
        guard errno == 0 else { return }
        _ = setpriority(which, 0, min(19, current + 10))
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

/// Which layer each worker is measuring and since when, so a worker can tell that an earlier
/// layer is a heavy one.
final class JobClock: Sendable {
    /// A first pass running this long (about 25 MiB hashed) is a heavy layer's.
    static let heavyAfter: UInt64 = 20_000_000
    private struct Job {
        var layer = 0
        var started: UInt64 = 0
    }

    private let jobs: Mutex<[Job]>

    init(workers: Int) { jobs = Mutex(Array(repeating: Job(), count: workers)) }

    func start(_ worker: Int, layer: Int, at now: UInt64 = DispatchTime.now().uptimeNanoseconds) {
        jobs.withLock { $0[worker] = Job(layer: layer, started: now) }
    }

    /// Between layers a worker weighs nothing, so no one waits for it.
    func finish(_ worker: Int) { jobs.withLock { $0[worker] = Job() } }

    /// Whether another worker has spent longer than `heavyAfter` on a layer before `layer`.
    func heavy(before layer: Int, worker: Int, at now: UInt64 = DispatchTime.now().uptimeNanoseconds) -> Bool {
        jobs.withLock { jobs in
            jobs.indices.contains { other in
                // `now` may precede a start another worker took since it was read.
                other != worker && jobs[other].started != 0 && jobs[other].layer < layer
                    && now > jobs[other].started && now - jobs[other].started > Self.heavyAfter
            }
        }
    }

    /// Waits, in short sleeps, while `heavy(before:)` holds or until `cancelled`. A waiting
    /// worker measures nothing, so two workers never wait for each other.
    func waitWhileHeavy(before layer: Int, worker: Int, cancelled: () -> Bool) {
        while heavy(before: layer, worker: worker) && !cancelled() {
            usleep(2_000)
        }
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
