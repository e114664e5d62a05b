#if canImport(Glibc)
import Glibc
#endif

/// Thin, throwing wrappers over the few system calls the builder needs. Paths are bytes, as
/// the kernel sees them.
public enum FileSystem {
    public struct Status: Sendable {
        public var mode: UInt32
        public var size: UInt64
        public var uid: UInt32
        public var gid: UInt32
        public var rdev: UInt64
        public var device: UInt64
        public var inode: UInt64
        public var mtimeSeconds: Int
        public var mtimeNanoseconds: Int

        public var type: UInt32 { mode & UInt32(S_IFMT) }
        public var isDirectory: Bool { type == UInt32(S_IFDIR) }
        public var isSymlink: Bool { type == UInt32(S_IFLNK) }
        public var isRegular: Bool { type == UInt32(S_IFREG) }
    }

    public static func withCString<T>(_ path: [UInt8], _ body: (UnsafePointer<CChar>) throws -> T) rethrows -> T {
        try body(cString(path))
    }

    /// A NUL-terminated copy, in one allocation: walks make one per entry per pass.
    public static func cString(_ bytes: [UInt8]) -> [CChar] {
        var name = [CChar]()
        name.reserveCapacity(bytes.count + 1)
        for byte in bytes { name.append(CChar(bitPattern: byte)) }
        name.append(0)
        return name
    }

    public static func lstatus(_ path: [UInt8]) throws -> Status {
        try status(path, follow: false)
    }

    public static func status(_ path: [UInt8], follow: Bool) throws -> Status {
        var info = stat()
        let rc = withCString(path) { follow ? stat($0, &info) : lstat($0, &info) }
        guard rc == 0 else { throw IOError.stat(display(path), errno: errno) }
        return Status(info)
    }

    public static func exists(_ path: [UInt8]) -> Bool {
        var info = stat()
        return withCString(path) { lstat($0, &info) } == 0
    }

    public static func readLink(_ path: [UInt8]) throws -> [UInt8] {
        var buffer = [CChar](repeating: 0, count: Int(PATH_MAX) + 1)
        let capacity = buffer.count
        let count = withCString(path) { readlink($0, &buffer, capacity) }
        guard count >= 0 else { throw IOError.readlink(display(path), errno: errno) }
        return buffer[0..<count].map { UInt8(bitPattern: $0) }
    }

    /// Entries of an open directory, sorted bytewise (the descriptor stays open).
    public static func sortedEntries(directory fd: Int32, display: @autoclosure () -> [UInt8]) throws -> [[UInt8]] {
        let copy = dup(fd)
        guard copy >= 0, let dir = fdopendir(copy) else {
            throw IOError.open(FileSystem.display(display()), errno: errno)
        }
        defer { closedir(dir) }
        return try readNames(dir, display: display())
    }

    /// Directory entries except `.` and `..`, sorted bytewise: the order CPython's sorted
    /// pathlib walk gives (code point order equals UTF-8 byte order), never readdir's.
    public static func sortedEntries(_ path: [UInt8]) throws -> [[UInt8]] {
        guard let dir = withCString(path, { opendir($0) }) else {
            throw IOError.open(display(path), errno: errno)
        }
        defer { closedir(dir) }
        return try readNames(dir, display: path)
    }

    private static func readNames(_ dir: OpaquePointer, display path: [UInt8]) throws -> [[UInt8]] {
        var names: [[UInt8]] = []
        while true {
            errno = 0
            guard let entry = readdir(dir) else {
                if errno != 0 { throw IOError.read(display(path), errno: errno) }
                break
            }
            let name = withUnsafeBytes(of: entry.pointee.d_name) { raw -> [UInt8] in
                let bytes = raw.bindMemory(to: UInt8.self)
                let end = bytes.firstIndex(of: 0) ?? bytes.count
                return Array(bytes[0..<end])
            }
            if name == [0x2E] || name == [0x2E, 0x2E] { continue }
            names.append(name)
        }
        names.sort { $0.lexicographicallyPrecedes($1) }
        return names
    }

    public static func display(_ path: [UInt8]) -> String { String(decoding: path, as: UTF8.self) }

    /// The user and group names CPython's `gettarinfo` would record (empty when unknown).
    public static func userName(_ uid: UInt32) -> [UInt8] {
        var entry = passwd()
        var result: UnsafeMutablePointer<passwd>?
        var buffer = [CChar](repeating: 0, count: 4096)
        guard getpwuid_r(uid, &entry, &buffer, buffer.count, &result) == 0, result != nil, let name = entry.pw_name else { return [] }
        return Array(String(cString: name).utf8)
    }

    public static func groupName(_ gid: UInt32) -> [UInt8] {
        var entry = group()
        var result: UnsafeMutablePointer<group>?
        var buffer = [CChar](repeating: 0, count: 4096)
        guard getgrgid_r(gid, &entry, &buffer, buffer.count, &result) == 0, result != nil, let name = entry.gr_name else { return [] }
        return Array(String(cString: name).utf8)
    }
}

extension FileSystem.Status {
    init(_ info: stat) {
        mode = UInt32(info.st_mode)
        size = UInt64(info.st_size)
        uid = info.st_uid
        gid = info.st_gid
        rdev = UInt64(info.st_rdev)
        device = UInt64(info.st_dev)
        inode = UInt64(info.st_ino)
        mtimeSeconds = Int(info.st_mtim.tv_sec)
        mtimeNanoseconds = Int(info.st_mtim.tv_nsec)
    }
}

/// A read-only file, read in chunks into a caller's buffer.
public struct ReadableFile: ~Copyable {
    public let fd: Int32
    private let base: [UInt8]
    private let relative: [UInt8]

    /// The file's path, for messages; kept in two parts so opening a file in a walk does not
    /// build a new path.
    public var path: [UInt8] { relative.isEmpty ? base : base + [0x2F] + relative }

    public init(path: [UInt8]) throws {
        let fd = FileSystem.withCString(path) { open($0, O_RDONLY | O_CLOEXEC) }
        guard fd >= 0 else { throw IOError.open(FileSystem.display(path), errno: errno) }
        self.fd = fd
        base = path
        relative = []
    }

    /// Opens `name` (NUL-terminated) inside an open directory, as a walk does.
    public init(directory: Int32, name: [CChar], root: [UInt8], relative: [UInt8]) throws {
        let fd = openat(directory, name, O_RDONLY | O_CLOEXEC | O_NOFOLLOW)
        guard fd >= 0 else {
            throw IOError.open(FileSystem.display(relative.isEmpty ? root : root + [0x2F] + relative), errno: errno)
        }
        self.fd = fd
        base = root
        self.relative = relative
    }

    deinit { close(fd) }

    /// Fills as much of `buffer` as one read gives; 0 at end of file.
    public func read(into buffer: UnsafeMutableRawBufferPointer) throws -> Int {
        while true {
            let count = Glibc.read(fd, buffer.baseAddress, buffer.count)
            if count >= 0 { return count }
            if errno != EINTR { throw IOError.read(FileSystem.display(path), errno: errno) }
        }
    }

    /// Streams exactly `size` bytes to `body`, failing if the file is shorter or longer: a
    /// store path that changes while it is archived must not yield a plausible member.
    public func copy(size: UInt64, buffer: UnsafeMutableRawBufferPointer, to body: (UnsafeRawBufferPointer) throws -> Void) throws {
        var remaining = size
        // Asking for one byte more than remains detects a file that grew without an extra
        // read call per file (most store files fit one read).
        while true {
            let want = Int(min(UInt64(buffer.count), remaining + 1))
            let got = try read(into: UnsafeMutableRawBufferPointer(rebasing: buffer[0..<want]))
            if got == 0 { break }
            guard UInt64(got) <= remaining else {
                throw IOError.shortRead(FileSystem.display(path), expected: size, got: size + UInt64(got) - remaining)
            }
            try body(UnsafeRawBufferPointer(rebasing: buffer[0..<got]))
            remaining -= UInt64(got)
            if remaining == 0 && want == got { continue }
            if remaining == 0 && want > got { break }
        }
        guard remaining == 0 else {
            throw IOError.shortRead(FileSystem.display(path), expected: size, got: size - remaining)
        }
    }
}
