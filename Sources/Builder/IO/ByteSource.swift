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

/// Streaming gzip decompression with zlib, accepting concatenated members as gzip(1) does.
final class Inflater {
    private var stream = z_stream()
    private var input: UnsafeMutableRawBufferPointer
    private var inputEnd = false
    private var finished = false
    private let label: String

    init(label: String) throws {
        self.label = label
        input = UnsafeMutableRawBufferPointer.allocate(byteCount: 1 << 16, alignment: 16)
        // 16 + MAX_WBITS selects the gzip wrapper.
        let rc = inflateInit2_(&stream, 16 + MAX_WBITS, ZLIB_VERSION, Int32(MemoryLayout<z_stream>.size))
        guard rc == Z_OK else { throw ArchiveError.corrupt(label, "zlib could not start (\(rc))") }
    }

    deinit {
        inflateEnd(&stream)
        input.deallocate()
    }

    func read(into buffer: UnsafeMutableRawBufferPointer, refill: (UnsafeMutableRawBufferPointer) throws -> Int) throws -> Int {
        guard buffer.count > 0 else { return 0 }
        while !finished {
            if stream.avail_in == 0 && !inputEnd {
                let got = try refill(input)
                if got == 0 {
                    inputEnd = true
                } else {
                    stream.next_in = input.baseAddress?.assumingMemoryBound(to: Bytef.self)
                    stream.avail_in = uInt(got)
                }
            }
            stream.next_out = buffer.baseAddress?.assumingMemoryBound(to: Bytef.self)
            stream.avail_out = uInt(buffer.count)
            let rc = inflate(&stream, Z_NO_FLUSH)
            let produced = buffer.count - Int(stream.avail_out)
            switch rc {
            case Z_STREAM_END:
                // Another gzip member may follow; anything else after the end is ignored.
                if stream.avail_in > 0 || !inputEnd {
                    if stream.avail_in == 0 {
                        let got = try refill(input)
                        if got == 0 { inputEnd = true } else {
                            stream.next_in = input.baseAddress?.assumingMemoryBound(to: Bytef.self)
                            stream.avail_in = uInt(got)
                        }
                    }
                    if stream.avail_in > 0, stream.next_in.pointee == 0x1F {
                        inflateReset(&stream)
                    } else {
                        finished = true
                    }
                } else {
                    finished = true
                }
            case Z_OK, Z_BUF_ERROR:
                if produced == 0 && inputEnd && stream.avail_in == 0 {
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
