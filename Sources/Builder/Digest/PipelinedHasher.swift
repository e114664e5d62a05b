import Crypto
import Dispatch
import Foundation
import Synchronization

/// A SHA-256 sink whose hashing runs on its own thread, so reading files (or writing the
/// output) and hashing overlap on two cores. Bytes land in a small ring of fixed chunks, so
/// memory stays bounded however large the stream; a file read can fill a chunk in place
/// (`fill`), so its bytes are copied once, by the kernel.
///
/// Every layer is hashed twice (the first pass learns its diffID, the second proves the store did
/// not change); doing that hashing beside the I/O rather than after it is what keeps the writer
/// close to `tar | sha256sum`.
///
/// One hasher serves any number of streams in turn: `finalize` ends a stream and leaves the
/// thread and chunks ready for the next, so a pass that measures many layers starts one thread
/// and allocates its chunks once. The thread ends when the last copy of the hasher goes away.
public struct PipelinedHasher: ByteSink {
    private let state: State

    public init(chunkSize: Int = 1 << 19, chunks: Int = 8) {
        state = State(chunkSize: max(1, chunkSize), chunks: max(2, chunks))
    }

    public func write(_ bytes: UnsafeRawBufferPointer) throws {
        try state.append(bytes) { _ in }
    }

    public func flush() throws {}

    /// Reads straight into the current chunk.
    public func fill(
        atMost count: Int, scratch: UnsafeMutableRawBufferPointer, _ body: (UnsafeMutableRawBufferPointer) throws -> Int
    ) throws -> Int {
        try state.fill(atMost: count, body: body) { _ in }
    }

    /// Ends the stream: waits for the hashing thread and returns the digest and byte count of
    /// everything written since the previous `finalize`.
    public func finalize() -> (digest: Digest, size: UInt64) {
        state.finish()
    }

    /// Ends the stream, if one was begun, without a result: after an error, so the next
    /// stream starts empty.
    public func discard() {
        _ = state.finish()
    }

    /// Appends `bytes`, handing each chunk to `forward` before it is hashed.
    func write(_ bytes: UnsafeRawBufferPointer, forward: (UnsafeRawBufferPointer) throws -> Void) throws {
        try state.append(bytes, forward: forward)
    }

    /// `fill`, handing each chunk to `forward` before it is hashed.
    func fill(
        atMost count: Int, forward: (UnsafeRawBufferPointer) throws -> Void, _ body: (UnsafeMutableRawBufferPointer) throws -> Int
    ) throws -> Int {
        try state.fill(atMost: count, body: body, forward: forward)
    }

    /// Whether the hashing thread is still running, for tests that prove it ends.
    var threadProbe: ThreadProbe { state.probe }

    /// Hands the bytes of the current chunk not yet forwarded to `forward` (a flush).
    func forwardPending(_ forward: (UnsafeRawBufferPointer) throws -> Void) throws {
        try state.forwardPending(forward)
    }

    /// The producer's side. It does not share itself with the hashing thread, so dropping the
    /// last hasher, even mid-stream on an error path, still ends that thread (in `deinit`).
    private final class State: @unchecked Sendable {
        private let channel: Channel
        private var producerSlot = 0
        private var fill = 0
        /// How much of the current chunk was already handed to a forward (a tee's output).
        private var forwarded = 0
        private var count: UInt64 = 0

        var probe: ThreadProbe { channel.probe }

        init(chunkSize: Int, chunks: Int) {
            channel = Channel(chunkSize: chunkSize, chunks: chunks)
            let channel = self.channel
            let thread = Thread { channel.consume() }
            thread.stackSize = 1 << 18
            thread.start()
        }

        deinit {
            _ = finish()
            channel.lengths[producerSlot] = Channel.terminate
            channel.full.signal()
            channel.stopped.wait()
        }

        func append(_ bytes: UnsafeRawBufferPointer, forward: (UnsafeRawBufferPointer) throws -> Void) throws {
            var offset = 0
            while offset < bytes.count {
                let slot = channel.slots[producerSlot]
                let take = min(slot.count - fill, bytes.count - offset)
                UnsafeMutableRawBufferPointer(rebasing: slot[fill..<(fill + take)])
                    .copyMemory(from: UnsafeRawBufferPointer(rebasing: bytes[offset..<(offset + take)]))
                fill += take
                offset += take
                count += UInt64(take)
                if fill == slot.count { try submit(forward: forward) }
            }
        }

        func fill(
            atMost wanted: Int, body: (UnsafeMutableRawBufferPointer) throws -> Int, forward: (UnsafeRawBufferPointer) throws -> Void
        ) throws -> Int {
            let slot = channel.slots[producerSlot]
            let region = UnsafeMutableRawBufferPointer(rebasing: slot[fill..<(fill + min(max(wanted, 1), slot.count - fill))])
            let got = try body(region)
            precondition(got >= 0 && got <= region.count, "a fill reported more bytes than it was given")
            fill += got
            count += UInt64(got)
            if fill == slot.count { try submit(forward: forward) }
            return got
        }

        func forwardPending(_ forward: (UnsafeRawBufferPointer) throws -> Void) throws {
            guard fill > forwarded else { return }
            let bytes = UnsafeRawBufferPointer(rebasing: channel.slots[producerSlot][forwarded..<fill])
            forwarded = fill
            try forward(bytes)
        }

        /// Hands the full chunk to the hashing thread (after `forward` saw it) and takes the
        /// next free one. The chunk is submitted even when `forward` throws, so the ring stays
        /// consistent for `finish`.
        private func submit(forward: (UnsafeRawBufferPointer) throws -> Void) throws {
            var failure: (any Error)?
            do { try forwardPending(forward) } catch { failure = error }
            channel.lengths[producerSlot] = fill
            channel.full.signal()
            channel.empty.wait()
            producerSlot = (producerSlot + 1) % channel.slots.count
            fill = 0
            forwarded = 0
            if let failure { throw failure }
        }

        func finish() -> (digest: Digest, size: UInt64) {
            if fill > 0 {
                // Whatever a caller forwards happened in forwardPending; here only hashing.
                forwarded = fill
                try? submit { _ in }
            }
            channel.lengths[producerSlot] = Channel.endOfStream
            channel.full.signal()
            channel.done.wait()
            let size = count
            count = 0
            return (channel.result ?? Digest.of([UInt8]()), size)
        }
    }

    /// What the two threads share; semaphores order every access to a slot and its length.
    /// The lengths are raw memory, not an array: writing one element of a Swift array checks
    /// and may copy the whole buffer while the other thread reads another element, a data race
    /// ThreadSanitizer reports.
    private final class Channel: @unchecked Sendable {
        static let endOfStream = -1
        static let terminate = -2

        let slots: [UnsafeMutableRawBufferPointer]
        let lengths: UnsafeMutableBufferPointer<Int>
        /// Free slots besides the one the producer is filling.
        let empty: DispatchSemaphore
        let full = DispatchSemaphore(value: 0)
        let done = DispatchSemaphore(value: 0)
        let stopped = DispatchSemaphore(value: 0)
        let probe = ThreadProbe()
        var result: Digest?

        init(chunkSize: Int, chunks: Int) {
            slots = (0..<chunks).map { _ in UnsafeMutableRawBufferPointer.allocate(byteCount: chunkSize, alignment: 64) }
            lengths = UnsafeMutableBufferPointer<Int>.allocate(capacity: chunks)
            lengths.initialize(repeating: 0)
            empty = DispatchSemaphore(value: chunks - 1)
        }

        deinit {
            for slot in slots { slot.deallocate() }
            lengths.deallocate()
        }

        /// The hashing thread: chunks in ring order; an end-of-stream marker publishes the
        /// digest and starts a new stream in the same slot.
        func consume() {
            var hasher = SHA256()
            var slot = 0
            while true {
                full.wait()
                let length = lengths[slot]
                if length == Self.terminate { break }
                if length == Self.endOfStream {
                    result = Digest(bytes: hasher.finalize())
                    hasher = SHA256()
                    done.signal()
                    continue
                }
                hasher.update(bufferPointer: UnsafeRawBufferPointer(rebasing: slots[slot][0..<length]))
                slot = (slot + 1) % slots.count
                empty.signal()
            }
            probe.running.store(false, ordering: .releasing)
            stopped.signal()
        }
    }
}

/// Outlives the hasher it watches: whether its thread has ended.
final class ThreadProbe: Sendable {
    let running = Atomic<Bool>(true)
    var isRunning: Bool { running.load(ordering: .acquiring) }
}
