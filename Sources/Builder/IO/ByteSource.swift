import CZlib
#if canImport(Glibc)
import Glibc
#endif

/// A sequential byte stream: a file, a decompressed file, memory.
public protocol ByteSource {
    /// Reads up to `buffer.count` bytes; 0 means end of stream.
    mutating func read(into buffer: UnsafeMutableRawBufferPointer) throws -> Int
    /// Names the source in error messages.
    var label: String { get }
}

extension ByteSource {
    /// Reads exactly `count` bytes, or fewer only at end of stream.
    public mutating func readUpTo(_ count: Int) throws -> [UInt8] {
        var out = [UInt8](repeating: 0, count: count)
        var filled = 0
        while filled < count {
            let got = try out.withUnsafeMutableBytes { raw in
                try read(into: UnsafeMutableRawBufferPointer(rebasing: raw[filled..<count]))
            }
            if got == 0 { break }
            filled += got
        }
        out.removeLast(count - filled)
        return out
    }

    /// Everything left in the stream, for small files (confs, specs, fakeroot state).
    public mutating func readAll() throws -> [UInt8] {
        var bytes: [UInt8] = []
        while true {
            let chunk = try readUpTo(1 << 16)
            if chunk.isEmpty { return bytes }
            bytes += chunk
        }
    }

    /// Discards `count` bytes, failing if the stream ends first.
    public mutating func skip(_ count: UInt64, buffer: CopyBuffer) throws {
        var remaining = count
        while remaining > 0 {
            let want = Int(min(UInt64(buffer.bytes.count), remaining))
            let got = try read(into: UnsafeMutableRawBufferPointer(rebasing: buffer.bytes[0..<want]))
            guard got > 0 else { throw ArchiveError.truncated(label) }
            remaining -= UInt64(got)
        }
    }
}

public struct MemorySource: ByteSource {
    private let bytes: [UInt8]
    private var offset = 0
    public let label: String

    public init(_ bytes: [UInt8], label: String = "memory") {
        self.bytes = bytes
        self.label = label
    }

    public mutating func read(into buffer: UnsafeMutableRawBufferPointer) throws -> Int {
        let count = min(buffer.count, bytes.count - offset)
        guard count > 0 else { return 0 }
        bytes.withUnsafeBytes { raw in
            buffer.copyMemory(from: UnsafeRawBufferPointer(rebasing: raw[offset..<(offset + count)]))
        }
        offset += count
        return count
    }
}

/// A file read from the start, transparently gunzipped when it begins with the gzip magic
/// (CPython's `tarfile.open` does the same sniffing for base images).
public final class FileSource: ByteSource {
    public let label: String
    private let fd: Int32
    private var inflater: Inflater?

    public init(path: String) throws {
        label = path
        fd = open(path, O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else { throw IOError.open(path, errno: errno) }
        var magic: [UInt8] = [0, 0]
        let got = Glibc.read(fd, &magic, 2)
        lseek(fd, 0, SEEK_SET)
        if got == 2 && magic == [0x1F, 0x8B] {
            inflater = try Inflater(label: path)
        }
    }

    deinit { close(fd) }

    public var isCompressed: Bool { inflater != nil }

    public func read(into buffer: UnsafeMutableRawBufferPointer) throws -> Int {
        if let inflater {
            return try inflater.read(into: buffer) { raw in try self.rawRead(raw) }
        }
        return try rawRead(buffer)
    }

    private func rawRead(_ buffer: UnsafeMutableRawBufferPointer) throws -> Int {
        while true {
            let count = Glibc.read(fd, buffer.baseAddress, buffer.count)
            if count >= 0 { return count }
            if errno != EINTR { throw IOError.read(label, errno: errno) }
        }
    }
}

/// Pull-style gzip decompression (a reader asks for bytes), over the same zlib stream state
/// that `GunzipSink` pushes through; concatenated members are accepted as gzip(1) does.
final class Inflater {
    private let state: InflateState
    private var input: UnsafeMutableRawBufferPointer
    private var inputEnd = false
    private var finished = false
    private let label: String

    init(label: String) throws {
        self.label = label
        state = try InflateState(label: label)
        input = UnsafeMutableRawBufferPointer.allocate(byteCount: 1 << 16, alignment: 16)
    }

    deinit { input.deallocate() }

    private func refill(_ source: (UnsafeMutableRawBufferPointer) throws -> Int) throws {
        guard state.stream.avail_in == 0, !inputEnd else { return }
        let got = try source(input)
        if got == 0 {
            inputEnd = true
        } else {
            state.stream.next_in = input.baseAddress?.assumingMemoryBound(to: Bytef.self)
            state.stream.avail_in = uInt(got)
        }
    }

    func read(into buffer: UnsafeMutableRawBufferPointer, refill source: (UnsafeMutableRawBufferPointer) throws -> Int) throws -> Int {
        guard buffer.count > 0 else { return 0 }
        while !finished {
            try refill(source)
            state.stream.next_out = buffer.baseAddress?.assumingMemoryBound(to: Bytef.self)
            state.stream.avail_out = uInt(buffer.count)
            let rc = inflate(&state.stream, Z_NO_FLUSH)
            let produced = buffer.count - Int(state.stream.avail_out)
            switch rc {
            case Z_STREAM_END:
                // Another gzip member may follow; anything else after the end is ignored.
                try refill(source)
                if state.stream.avail_in > 0, state.stream.next_in.pointee == 0x1F {
                    inflateReset(&state.stream)
                } else {
                    finished = true
                }
            case Z_OK, Z_BUF_ERROR:
                if produced == 0 && inputEnd && state.stream.avail_in == 0 {
                    throw ArchiveError.truncated(label)
                }
            default:
                throw ArchiveError.corrupt(label, "gzip data is damaged")
            }
            if produced > 0 { return produced }
        }
        return 0
    }
}
