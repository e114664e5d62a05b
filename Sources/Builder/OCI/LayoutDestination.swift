#if canImport(Glibc)
import Glibc
#endif

/// Where the files of an image layout go: members of a tar stream (oci-archive, dual) or files
/// in a directory (oci-layout). A file's size is declared before its bytes, as a tar header needs.
public protocol LayoutDestination {
    associatedtype FileSink: ByteSink
    mutating func addDirectory(_ path: String) throws
    mutating func beginFile(_ path: String, size: UInt64) throws -> FileSink
    mutating func endFile(_ sink: FileSink) throws
    /// Bytes written so far, for progress.
    var offset: UInt64 { get }
}

extension LayoutDestination {
    mutating func addFile(_ path: String, content: [UInt8]) throws {
        var sink = try beginFile(path, size: UInt64(content.count))
        try sink.write(content)
        try endFile(sink)
    }
}

/// Layout files as members of a tar stream, stamped like every other member: mode 0644 (0755
/// for directories), owner 0, the plan's mtime.
public struct TarLayoutDestination<Sink: ByteSink>: LayoutDestination {
    public private(set) var tar: TarWriter<Sink>
    let mtime: Int

    public init(sink: Sink, mtime: Int) {
        tar = TarWriter(sink: sink)
        self.mtime = mtime
    }

    public var offset: UInt64 { tar.offset }

    public mutating func addDirectory(_ path: String) throws {
        try tar.writeHeader(TarHeader(name: path, mode: 0o755, mtime: mtime, typeflag: TarType.directory))
    }

    public mutating func beginFile(_ path: String, size: UInt64) throws -> TarMemberDataSink<Sink> {
        try tar.writeHeader(TarHeader(name: path, mode: 0o644, size: size, mtime: mtime))
        return TarMemberDataSink(outer: tar)
    }

    public mutating func endFile(_ sink: TarMemberDataSink<Sink>) throws { tar = sink.outer }

    /// Ends the tar and returns the flushed sink.
    public mutating func finish() throws -> Sink {
        try tar.finish()
        var sink = tar.sink
        try sink.flush()
        return sink
    }
}

/// Layout files in a directory this process created (and so may remove): modes are set
/// explicitly (0644, 0755) so the umask never reaches them, and each file's size is checked
/// against what was declared.
public final class DirectoryLayoutDestination: LayoutDestination {
    public let root: String
    /// What the errors call the output (its final name).
    let label: String
    private var created: [String] = []
    public private(set) var offset: UInt64 = 0

    public init(root: String, label: String) {
        self.root = root
        self.label = label
    }

    public func addDirectory(_ path: String) throws {
        let full = root + "/" + path
        guard mkdir(full, 0o700) == 0 else { throw IOError.open("\(label)/\(path)", errno: errno) }
        created.append(path)
        guard chmod(full, 0o755) == 0 else { throw IOError.write("\(label)/\(path)", errno: errno) }
    }

    public func beginFile(_ path: String, size: UInt64) throws -> SizedFileSink {
        let fd = open(root + "/" + path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW, 0o600)
        guard fd >= 0 else { throw IOError.open("\(label)/\(path)", errno: errno) }
        created.append(path)
        guard fchmod(fd, 0o644) == 0 else {
            close(fd)
            throw IOError.write("\(label)/\(path)", errno: errno)
        }
        return SizedFileSink(file: FileDescriptorSink(fd: fd, label: "\(label)/\(path)", bufferSize: 1 << 18), member: path, declared: size)
    }

    public func endFile(_ sink: SizedFileSink) throws {
        defer { close(sink.file.fd) }
        try sink.file.flush()
        guard sink.file.written == sink.declared else {
            throw TarWriterError.dataUnderflow(member: sink.member, declared: sink.declared, written: sink.file.written)
        }
        guard fsync(sink.file.fd) == 0 else { throw IOError.write(sink.file.label, errno: errno) }
        offset += sink.declared
    }

    /// Writes a layout into a new directory beside `path` and renames it to `path` only when
    /// `body` has finished; on failure the temporary directory and everything in it is removed.
    /// An existing `path` is never replaced (the rename refuses a non-empty directory).
    ///
    /// `makeTemporary` creates the temporary directory (mode 0700) given its path; a caller
    /// that must remove it on an interrupt registers it there, atomically with its creation.
    public static func write<R>(
        to path: String, makeTemporary: (String) throws -> Void = DirectoryLayoutDestination.makeDirectory,
        _ body: (DirectoryLayoutDestination) throws -> R
    ) throws -> R {
        let trimmed = path.count > 1 && path.hasSuffix("/") ? String(path.dropLast()) : path
        let slash = trimmed.lastIndex(of: "/")
        let directory = slash.map { trimmed[..<$0].isEmpty ? "/" : String(trimmed[..<$0]) } ?? "."
        let base = slash.map { String(trimmed[trimmed.index(after: $0)...]) } ?? trimmed
        var existing = stat()
        if lstat(trimmed, &existing) == 0 && (existing.st_mode & S_IFMT) != S_IFDIR {
            throw LayoutError.outputExists(path)
        }
        let temporary = "\(directory)/.\(base).tmp-\(getpid())"
        try makeTemporary(temporary)
        let destination = DirectoryLayoutDestination(root: temporary, label: path)
        do {
            guard chmod(temporary, 0o755) == 0 else { throw IOError.write(path, errno: errno) }
            let result = try body(destination)
            guard rename(temporary, trimmed) == 0 else {
                throw errno == ENOTEMPTY || errno == EEXIST || errno == ENOTDIR
                    ? LayoutError.outputExists(path) : IOError.rename(path, errno: errno)
            }
            return result
        } catch {
            destination.removeCreated()
            throw error
        }
    }

    public static func makeDirectory(_ path: String) throws {
        guard mkdir(path, 0o700) == 0 else { throw IOError.open(path, errno: errno) }
    }

    /// Removes what this destination created, deepest first, never following a symlink.
    public func removeCreated() {
        for path in created.reversed() {
            let full = root + "/" + path
            if unlink(full) != 0 { rmdir(full) }
        }
        rmdir(root)
    }
}

/// A file that must receive exactly its declared number of bytes.
public struct SizedFileSink: ByteSink {
    let file: FileDescriptorSink
    let member: String
    let declared: UInt64
    private var received: UInt64 = 0

    init(file: FileDescriptorSink, member: String, declared: UInt64) {
        self.file = file
        self.member = member
        self.declared = declared
    }

    public mutating func write(_ bytes: UnsafeRawBufferPointer) throws {
        received += UInt64(bytes.count)
        guard received <= declared else { throw TarWriterError.dataOverflow(member: member, declared: declared) }
        try file.write(bytes)
    }

    public mutating func flush() throws { try file.flush() }
}

public enum LayoutError: Error, CustomStringConvertible, Equatable {
    case outputExists(String)

    public var description: String {
        switch self {
        case let .outputExists(path): "\(path) already exists and is not an empty directory; remove it or choose another output"
        }
    }
}
