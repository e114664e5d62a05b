#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Where streamed bytes go. Layers, the outer archive and the hashers all write through this,
/// so a layer can be written once to a hasher and once to the output by the same code.
public protocol ByteSink {
    mutating func write(_ bytes: UnsafeRawBufferPointer) throws
    mutating func flush() throws
    /// Lets a producer (a file read) put up to `count` bytes straight into the sink's own
    /// memory: `body` gets between 1 and `count` writable bytes and returns how many it filled,
    /// which are then written. A sink that keeps no memory lends `scratch` and writes from it.
    /// Returns what `body` returned; when `body` throws, nothing is written.
    mutating func fill(
        atMost count: Int, scratch: UnsafeMutableRawBufferPointer, _ body: (UnsafeMutableRawBufferPointer) throws -> Int
    ) throws -> Int
}

extension ByteSink {
    public mutating func fill(
        atMost count: Int, scratch: UnsafeMutableRawBufferPointer, _ body: (UnsafeMutableRawBufferPointer) throws -> Int
    ) throws -> Int {
        let region = UnsafeMutableRawBufferPointer(rebasing: scratch[0..<max(1, min(count, scratch.count))])
        let got = try body(region)
        if got > 0 { try write(UnsafeRawBufferPointer(rebasing: region[0..<got])) }
        return got
    }

    public mutating func write(_ bytes: [UInt8]) throws {
        try bytes.withUnsafeBytes { try write($0) }
    }

    public mutating func writeZeros(_ count: Int) throws {
        var remaining = count
        let zeros = ZeroBlock.bytes
        while remaining > 0 {
            let chunk = min(remaining, zeros.count)
            try zeros.withUnsafeBytes { try write(UnsafeRawBufferPointer(rebasing: $0[0..<chunk])) }
            remaining -= chunk
        }
    }
}

/// Padding source, allocated once: every tar member ends with some.
private enum ZeroBlock {
    static let bytes = [UInt8](repeating: 0, count: 10240)
}

/// Collects bytes in memory: for small members (config, manifest) and tests only.
public struct MemorySink: ByteSink {
    public private(set) var bytes: [UInt8] = []
    public init() {}
    public mutating func write(_ chunk: UnsafeRawBufferPointer) throws { bytes.append(contentsOf: chunk) }
    public mutating func flush() throws {}
}

/// A buffered writer on a file descriptor. The buffer is fixed-size, so memory stays flat
/// however much is written.
public final class FileDescriptorSink: ByteSink {
    public let fd: Int32
    /// Names the destination in error messages (`stdout`, or the output path).
    public let label: String
    private var buffer: UnsafeMutableRawBufferPointer
    private var used = 0
    public private(set) var written: UInt64 = 0

    public init(fd: Int32, label: String, bufferSize: Int = 1 << 20) {
        self.fd = fd
        self.label = label
        buffer = UnsafeMutableRawBufferPointer.allocate(byteCount: bufferSize, alignment: 16)
    }

    deinit { buffer.deallocate() }

    public func write(_ bytes: UnsafeRawBufferPointer) throws {
        if bytes.count >= buffer.count / 2 {
            // Large writes (a whole chunk of a layer) bypass the buffer instead of copying
            // through it: what is buffered goes first, in one more system call.
            try flush()
            try writeAll(bytes)
            return
        }
        var offset = 0
        while offset < bytes.count {
            let chunk = min(buffer.count - used, bytes.count - offset)
            UnsafeMutableRawBufferPointer(rebasing: buffer[used..<(used + chunk)])
                .copyMemory(from: UnsafeRawBufferPointer(rebasing: bytes[offset..<(offset + chunk)]))
            used += chunk
            offset += chunk
            if used == buffer.count { try flush() }
        }
    }

    /// Reads straight into the buffer.
    public func fill(
        atMost count: Int, scratch: UnsafeMutableRawBufferPointer, _ body: (UnsafeMutableRawBufferPointer) throws -> Int
    ) throws -> Int {
        if used == buffer.count { try flush() }
        let got = try body(UnsafeMutableRawBufferPointer(rebasing: buffer[used..<(used + max(1, min(count, buffer.count - used)))]))
        used += got
        if used == buffer.count { try flush() }
        return got
    }

    public func flush() throws {
        guard used > 0 else { return }
        try writeAll(UnsafeRawBufferPointer(rebasing: buffer[0..<used]))
        used = 0
    }

    private func writeAll(_ bytes: UnsafeRawBufferPointer) throws {
        var offset = 0
        while offset < bytes.count {
            guard let base = bytes.baseAddress else { return }
            let n = Glibc.write(fd, base + offset, bytes.count - offset)
            if n < 0 {
                if errno == EINTR { continue }
                throw IOError.write(label, errno: errno)
            }
            offset += n
            written += UInt64(n)
        }
    }
}

/// File-system and stream failures, each naming the file and the system's reason.
public enum IOError: Error, CustomStringConvertible, Equatable {
    case open(String, errno: Int32)
    case read(String, errno: Int32)
    case write(String, errno: Int32)
    case stat(String, errno: Int32)
    case readlink(String, errno: Int32)
    case rename(String, errno: Int32)
    case shortRead(String, expected: UInt64, got: UInt64)
    case unsupportedFileType(String)

    public var description: String {
        switch self {
        case let .open(path, code): "cannot open \(path): \(IOError.reason(code))"
        case let .read(path, code): "cannot read \(path): \(IOError.reason(code))"
        case let .write(path, code): "cannot write to \(path): \(IOError.reason(code))"
        case let .stat(path, code): "cannot stat \(path): \(IOError.reason(code))"
        case let .readlink(path, code): "cannot read the symlink \(path): \(IOError.reason(code))"
        case let .rename(path, code): "cannot move the output into place at \(path): \(IOError.reason(code))"
        case let .shortRead(path, expected, got):
            "\(path) changed while being read: expected \(expected) bytes, got \(got)"
        case let .unsupportedFileType(path): "\(path) is a socket or other file type a tar cannot hold"
        }
    }

    static func reason(_ code: Int32) -> String {
        guard let text = strerror(code) else { return "error \(code)" }
        return String(cString: text)
    }
}
