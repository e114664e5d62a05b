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

/// Inputs that are too large, or of a kind that cannot be read the way they must be.
public enum InputError: Error, CustomStringConvertible, Equatable {
    case tooLarge(String, limit: UInt64)

    public var description: String {
        switch self {
        case let .tooLarge(file, limit): "\(file) is larger than \(InputError.size(limit)), more than such a file can be"
        }
    }

    static func size(_ bytes: UInt64) -> String {
        bytes >= 1 << 20 && bytes % (1 << 20) == 0 ? "\(bytes >> 20) MiB" : "\(bytes) bytes"
    }
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

    /// Everything left in the stream, for small files (confs, specs, fakeroot state). A stream
    /// that goes on past `limit` (a device such as /dev/zero, a runaway pipe) is refused rather
    /// than held in memory.
    public mutating func readAll(limit: UInt64 = ByteLimits.document) throws -> [UInt8] {
        var bytes: [UInt8] = []
        while true {
            let chunk = try readUpTo(1 << 16)
            if chunk.isEmpty { return bytes }
            guard UInt64(bytes.count + chunk.count) <= limit else { throw InputError.tooLarge(label, limit: limit) }
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

/// How much of an input may be held in memory.
public enum ByteLimits {
    /// JSON documents (specs, confs, manifests, configs) and other small text inputs: far more
    /// than any real one, small enough to hold.
    public static let document: UInt64 = 64 << 20
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

/// Any source, transparently gunzipped when it begins with the gzip magic. The magic is peeked
/// and then handed on, never sought back to, so a pipe loses nothing.
public struct GunzipSniffingSource<Inner: ByteSource>: ByteSource {
    public var inner: Inner
    private var peeked: [UInt8]
    private var inflater: Inflater?

    public init(_ inner: Inner) throws {
        self.inner = inner
        peeked = try self.inner.readUpTo(2)
        if peeked == [0x1F, 0x8B] { inflater = try Inflater(label: inner.label) }
    }

    public var label: String { inner.label }
    public var isCompressed: Bool { inflater != nil }

    public mutating func read(into buffer: UnsafeMutableRawBufferPointer) throws -> Int {
        if let inflater {
            return try inflater.read(into: buffer) { raw in try self.readRaw(into: raw) }
        }
        return try readRaw(into: buffer)
    }

    private mutating func readRaw(into buffer: UnsafeMutableRawBufferPointer) throws -> Int {
        guard !peeked.isEmpty else { return try inner.read(into: buffer) }
        let count = min(buffer.count, peeked.count)
        for index in 0..<count { buffer[index] = peeked[index] }
        peeked.removeFirst(count)
        return count
    }
}

/// A file descriptor read from where it stands; it does not own the descriptor. With `copy`,
/// every byte read is also written there (the spool of a `RereadableInput`).
struct DescriptorSource: ByteSource {
    let fd: Int32
    let label: String
    var copy: Int32?

    mutating func read(into buffer: UnsafeMutableRawBufferPointer) throws -> Int {
        while true {
            let count = Glibc.read(fd, buffer.baseAddress, buffer.count)
            if count >= 0 {
                if let copy { try Self.writeAll(copy, UnsafeRawBufferPointer(rebasing: buffer[0..<count]), label: label) }
                return count
            }
            if errno != EINTR { throw IOError.read(label, errno: errno) }
        }
    }

    private static func writeAll(_ fd: Int32, _ bytes: UnsafeRawBufferPointer, label: String) throws {
        var offset = 0
        while offset < bytes.count {
            let count = Glibc.write(fd, bytes.baseAddress?.advanced(by: offset), bytes.count - offset)
            if count < 0 && errno == EINTR { continue }
            guard count > 0 else { throw IOError.write("the temporary copy of \(label)", errno: errno) }
            offset += count
        }
    }
}

/// A file read from the start, transparently gunzipped when it begins with the gzip magic
/// (CPython's `tarfile.open` does the same sniffing for base images). It may be a pipe.
public final class FileSource: ByteSource {
    public let label: String
    private let fd: Int32
    private var body: GunzipSniffingSource<DescriptorSource>

    public convenience init(path: String) throws {
        try self.init(path: path, label: path, copy: nil)
    }

    init(path: String, label: String, copy: Int32?) throws {
        self.label = label
        let fd = open(path, O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else { throw IOError.open(label, errno: errno) }
        self.fd = fd
        do {
            body = try GunzipSniffingSource(DescriptorSource(fd: fd, label: label, copy: copy))
        } catch {
            close(fd)
            throw error
        }
    }

    deinit { close(fd) }

    public var isCompressed: Bool { body.isCompressed }

    public func read(into buffer: UnsafeMutableRawBufferPointer) throws -> Int {
        try body.read(into: buffer)
    }
}

/// An input that is read more than once (a base image, an archive being compared). A regular
/// file is simply reopened; anything else (a pipe, a FIFO, a device) is copied to an unlinked
/// temporary file while the first pass reads it, and later passes read that copy, so a pipe
/// works and nothing is left behind whatever happens to the process. The first pass bounds the
/// copy: it reads only as far as the format allows.
public final class RereadableInput: Sendable {
    /// The name the user gave, for messages.
    public let label: String
    private let reopenPath: String
    private let spool: Int32?

    public init(path: String) throws {
        label = path
        var status = stat()
        guard stat(path, &status) == 0 else { throw IOError.open(path, errno: errno) }
        guard status.st_mode & S_IFMT != S_IFREG else {
            reopenPath = path
            spool = nil
            return
        }
        let directory = getenv("TMPDIR").map { String(cString: $0) }.flatMap { $0.isEmpty ? nil : $0 } ?? "/tmp"
        var template = Array("\(directory)/repro-check-spool-XXXXXX".utf8CString)
        let fd = template.withUnsafeMutableBufferPointer { buffer in buffer.baseAddress.map { mkstemp($0) } ?? -1 }
        guard fd >= 0 else { throw IOError.open(directory, errno: errno) }
        _ = fcntl(fd, F_SETFD, FD_CLOEXEC)
        unlink(template)
        spool = fd
        reopenPath = "/proc/self/fd/\(fd)"
    }

    deinit { if let spool { close(spool) } }

    /// Whether the input is copied as it is first read.
    public var isSpooled: Bool { spool != nil }

    /// The first pass over the input; call it once, before any `reopen`.
    public func firstPass() throws -> FileSource {
        try FileSource(path: label, label: label, copy: spool)
    }

    /// Another pass from the start, over what the first pass read.
    public func reopen() throws -> FileSource {
        try FileSource(path: reopenPath, label: label, copy: nil)
    }
}
