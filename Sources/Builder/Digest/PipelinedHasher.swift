import Crypto
import Dispatch
import Foundation

/// A SHA-256 sink whose hashing runs on its own thread, so reading files (or writing the
/// output) and hashing overlap on two cores. Bytes are copied into a small ring of fixed chunks,
/// so memory stays bounded however large the stream.
///
/// Every layer is hashed twice (the first pass learns its diffID, the second proves the store did
/// not change); doing that hashing beside the I/O rather than after it is what keeps the writer
/// close to `tar | sha256sum`.
public struct PipelinedHasher: ByteSink {
    private let state: State

    public init(chunkSize: Int = 1 << 20, chunks: Int = 4) {
        state = State(chunkSize: chunkSize, chunks: chunks)
    }

    public mutating func write(_ bytes: UnsafeRawBufferPointer) throws {
        state.append(bytes)
    }

    public mutating func flush() throws {}

    /// Waits for the hashing thread and returns the digest and byte count.
    public func finalize() -> (digest: Digest, size: UInt64) {
        state.finish()
    }

    /// The producer's side. It does not share itself with the hashing thread, so dropping a
    /// hasher on an error path still ends that thread (in `deinit`).
    private final class State: @unchecked Sendable {
        private let channel: Channel
        private var producerSlot = 0
        private var fill = 0
        private var count: UInt64 = 0
        private var finished = false

        init(chunkSize: Int, chunks: Int) {
            channel = Channel(chunkSize: chunkSize, chunks: chunks)
            let channel = self.channel
            let thread = Thread { channel.consume() }
            thread.stackSize = 1 << 18
            thread.start()
        }

        deinit {
            if !finished { _ = finish() }
        }

        func append(_ bytes: UnsafeRawBufferPointer) {
            var offset = 0
            count += UInt64(bytes.count)
            while offset < bytes.count {
                let slot = channel.slots[producerSlot]
                let take = min(slot.count - fill, bytes.count - offset)
                UnsafeMutableRawBufferPointer(rebasing: slot[fill..<(fill + take)])
                    .copyMemory(from: UnsafeRawBufferPointer(rebasing: bytes[offset..<(offset + take)]))
                fill += take
                offset += take
                if fill == slot.count { submit() }
            }
        }

        private func submit() {
            channel.lengths[producerSlot] = fill
            channel.full.signal()
            channel.empty.wait()
            producerSlot = (producerSlot + 1) % channel.slots.count
            fill = 0
        }

        func finish() -> (digest: Digest, size: UInt64) {
            if !finished {
                finished = true
                if fill > 0 { submit() }
                // A zero-length slot tells the hashing thread to stop.
                channel.lengths[producerSlot] = 0
                channel.full.signal()
                channel.done.wait()
            }
            return (channel.result ?? Digest.of([UInt8]()), count)
        }
    }

    /// What the two threads share; semaphores order every access to a slot and its length.
    /// The lengths are raw memory, not an array: writing one element of a Swift array checks
    /// and may copy the whole buffer while the other thread reads another element, a data race
    /// ThreadSanitizer reports.
    private final class Channel: @unchecked Sendable {
        let slots: [UnsafeMutableRawBufferPointer]
        let lengths: UnsafeMutableBufferPointer<Int>
        /// Free slots besides the one the producer is filling.
        let empty: DispatchSemaphore
        let full = DispatchSemaphore(value: 0)
        let done = DispatchSemaphore(value: 0)
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

        func consume() {
            var hasher = SHA256()
            var slot = 0
            while true {
                full.wait()
                let length = lengths[slot]
                if length == 0 { break }
                hasher.update(bufferPointer: UnsafeRawBufferPointer(rebasing: slots[slot][0..<length]))
                slot = (slot + 1) % slots.count
                empty.signal()
            }
            result = Digest(bytes: hasher.finalize())
            done.signal()
        }
    }
}
