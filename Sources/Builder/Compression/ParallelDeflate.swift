import CZlib
import Dispatch
import Foundation

/// gzip made as pigz makes it: the input is cut into fixed blocks, each deflated (zlib, level 6,
/// raw) on its own thread with the previous block's last 32 KiB as its dictionary and ended by a
/// sync flush (the last by the final block), then the blocks are joined in order between a fixed
/// header and the CRC-32 and length trailer. The result is one ordinary gzip member whose bytes
/// depend on the input, the block size and zlib alone: one thread or many give the same bytes.
///
/// A ring of slots, each with its own thread, holds the blocks in flight; the writer fills one
/// while the others compress, and emits each in turn, so memory is a few MiB per slot.
final class ParallelDeflateEngine: CompressionEngine {
    private let slots: [DeflateSlot]
    private var busy: [Bool]
    private var current = 0
    private var crc = crc32(0, nil, 0)
    private var length: UInt64 = 0
    private var started = false
    private var ended = false
    private let label: String

    init(label: String, workers: Int) throws {
        self.label = label
        // One more slot than workers: one fills while the others compress.
        var slots: [DeflateSlot] = []
        for _ in 0..<(max(1, workers) + 1) { slots.append(try DeflateSlot(label: label)) }
        self.slots = slots
        busy = Array(repeating: false, count: slots.count)
    }

    deinit {
        for (index, slot) in slots.enumerated() where busy[index] { slot.done.wait() }
        for slot in slots { slot.stop() }
    }

    func compress(_ input: UnsafeRawBufferPointer, end: Bool, emit: (UnsafeRawBufferPointer) throws -> Void) throws {
        guard !ended else { throw CompressionError.failed(label, library: "zlib", reason: "data after the end of the stream") }
        if !started {
            started = true
            try LayerCompression.gzipHeader.withUnsafeBytes { try emit($0) }
        }
        var offset = 0
        while offset < input.count {
            let take = min(input.count - offset, Int(UInt32.max))
            let chunk = UnsafeRawBufferPointer(rebasing: input[offset..<(offset + take)])
            crc = crc32(crc, chunk.baseAddress?.assumingMemoryBound(to: Bytef.self), uInt(take))
            offset += take
        }
        length += UInt64(input.count)
        offset = 0
        while offset < input.count {
            let slot = slots[current]
            let take = min(LayerCompression.gzipBlockSize - slot.fill, input.count - offset)
            UnsafeMutableRawBufferPointer(rebasing: slot.block[slot.fill..<(slot.fill + take)])
                .copyMemory(from: UnsafeRawBufferPointer(rebasing: input[offset..<(offset + take)]))
            slot.fill += take
            offset += take
            if slot.fill == LayerCompression.gzipBlockSize { try submit(last: false, emit: emit) }
        }
        guard end else { return }
        try submit(last: true, emit: emit)
        for _ in slots.indices {
            try collect(current, emit: emit)
            current = (current + 1) % slots.count
        }
        var trailer = [UInt8](repeating: 0, count: 8)
        for byte in 0..<4 {
            trailer[byte] = UInt8(truncatingIfNeeded: UInt64(crc) >> (8 * UInt64(byte)))
            trailer[4 + byte] = UInt8(truncatingIfNeeded: length >> (8 * UInt64(byte)))
        }
        try trailer.withUnsafeBytes { try emit($0) }
        ended = true
    }

    /// Hands the current block to its thread, then frees the next slot (emitting its block, the
    /// oldest in flight) and primes it with this block's last 32 KiB.
    private func submit(last: Bool, emit: (UnsafeRawBufferPointer) throws -> Void) throws {
        let slot = slots[current]
        slot.isLast = last
        busy[current] = true
        slot.start.signal()
        let next = (current + 1) % slots.count
        try collect(next, emit: emit)
        if !last { slots[next].prime(after: slot) }
        current = next
    }

    private func collect(_ index: Int, emit: (UnsafeRawBufferPointer) throws -> Void) throws {
        guard busy[index] else { return }
        let slot = slots[index]
        slot.done.wait()
        busy[index] = false
        if let failure = slot.failure {
            throw CompressionError.failed(label, library: "zlib", reason: "deflate returned \(failure)")
        }
        try emit(UnsafeRawBufferPointer(rebasing: slot.output[0..<slot.produced]))
        slot.fill = 0
    }
}

/// One block in flight: its input (with the dictionary before it), its output, a raw deflate
/// stream reused from block to block, and the thread that compresses it. Semaphores order every
/// access between the writer and that thread.
private final class DeflateSlot: @unchecked Sendable {
    static let window = 32 << 10

    let block = UnsafeMutableRawBufferPointer.allocate(byteCount: LayerCompression.gzipBlockSize, alignment: 64)
    let dictionary = UnsafeMutableRawBufferPointer.allocate(byteCount: window, alignment: 64)
    let output: UnsafeMutableRawBufferPointer
    let stream = UnsafeMutablePointer<z_stream>.allocate(capacity: 1)
    var fill = 0
    var hasDictionary = false
    var isLast = false
    var produced = 0
    var failure: Int32?
    private var stopping = false
    let start = DispatchSemaphore(value: 0)
    let done = DispatchSemaphore(value: 0)

    init(label: String) throws {
        stream.initialize(to: z_stream())
        // -15: raw deflate (the gzip wrapper is written once, around all blocks).
        let rc = deflateInit2_(stream, LayerCompression.gzipLevel, Z_DEFLATED, -MAX_WBITS, 8, Z_DEFAULT_STRATEGY, ZLIB_VERSION, Int32(MemoryLayout<z_stream>.size))
        guard rc == Z_OK else {
            // deinit frees the buffers; deflateEnd ignores a stream whose init failed.
            output = UnsafeMutableRawBufferPointer.allocate(byteCount: 0, alignment: 1)
            throw CompressionError.cannotStart(label, library: "zlib", reason: "deflateInit2 returned \(rc)")
        }
        // A sync flush adds at most a few bytes to what deflateBound allows for.
        output = UnsafeMutableRawBufferPointer.allocate(byteCount: Int(deflateBound(stream, uLong(LayerCompression.gzipBlockSize))) + 64, alignment: 64)
        let thread = Thread { [self] in run() }
        thread.stackSize = 1 << 18
        thread.start()
    }

    deinit {
        deflateEnd(stream)
        stream.deallocate()
        block.deallocate()
        dictionary.deallocate()
        output.deallocate()
    }

    /// Ends the thread (the slot must not be busy).
    func stop() {
        stopping = true
        start.signal()
        done.wait()
    }

    /// The previous block's last 32 KiB become this block's dictionary.
    func prime(after previous: DeflateSlot) {
        let tail = UnsafeRawBufferPointer(rebasing: previous.block[(previous.fill - Self.window)..<previous.fill])
        dictionary.copyMemory(from: tail)
        hasDictionary = true
    }

    private func run() {
        while true {
            start.wait()
            if stopping { break }
            compressBlock()
            done.signal()
        }
        done.signal()
    }

    private func compressBlock() {
        failure = nil
        deflateReset(stream)
        if hasDictionary {
            let rc = deflateSetDictionary(stream, dictionary.baseAddress?.assumingMemoryBound(to: Bytef.self), uInt(Self.window))
            guard rc == Z_OK else { failure = rc; return }
        }
        stream.pointee.next_in = block.baseAddress?.assumingMemoryBound(to: Bytef.self)
        stream.pointee.avail_in = uInt(fill)
        stream.pointee.next_out = output.baseAddress?.assumingMemoryBound(to: Bytef.self)
        stream.pointee.avail_out = uInt(output.count)
        let rc = deflate(stream, isLast ? Z_FINISH : Z_SYNC_FLUSH)
        produced = output.count - Int(stream.pointee.avail_out)
        let complete = isLast ? rc == Z_STREAM_END : (rc == Z_OK && stream.pointee.avail_in == 0 && stream.pointee.avail_out > 0)
        if !complete { failure = rc }
    }
}
