import Dispatch
import Foundation
import Synchronization

/// Runs blocking jobs (child builds that sit in `poll` for seconds) on their own threads, not
/// on Swift concurrency's cooperative pool or GCD's, which must never be blocked that long.
enum Parallel {
    static func run<T: Sendable>(_ jobs: [@Sendable () -> T]) -> [T] {
        if jobs.count == 1, let job = jobs.first { return [job()] }
        let results = Mutex<[Int: T]>([:])
        let group = DispatchGroup()
        for (index, job) in jobs.enumerated() {
            group.enter()
            let thread = Thread {
                let value = job()
                results.withLock { $0[index] = value }
                group.leave()
            }
            thread.start()
        }
        group.wait()
        let collected = results.withLock { $0 }
        return jobs.indices.compactMap { collected[$0] }
    }
}

/// At most `--jobs` builds at once, however many specs are in flight.
final class BuildSlots: Sendable {
    private let semaphore: DispatchSemaphore

    init(_ count: Int) { semaphore = DispatchSemaphore(value: max(1, count)) }

    func with<T>(_ body: () throws -> T) rethrows -> T {
        semaphore.wait()
        defer { semaphore.signal() }
        return try body()
    }
}
