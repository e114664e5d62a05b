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

    /// Entries of an open directory, sorted bytewise (the descriptor stays open, read to its
    /// end).
    public static func sortedEntries(directory fd: Int32, display: @autoclosure () -> [UInt8]) throws -> [[UInt8]] {
        if let getdents = DirectoryEntries.getdents64 {
            return try DirectoryEntries.read(fd, getdents: getdents, display: display())
        }
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

    /// Names read with `getdents64` straight from the descriptor: `fdopendir` on a duplicate
    /// costs five more system calls per directory (dup, fstat, two fcntl, close), and a store
    /// walk lists every directory twice per layer.
    private enum DirectoryEntries {
        typealias GetDents = @convention(c) (Int32, UnsafeMutableRawPointer?, Int) -> Int

        /// glibc's wrapper (2.30 and later), which Swift's Glibc module does not declare; nil
        /// where it is missing, and the portable path is taken.
        static let getdents64: GetDents? = dlsym(nil, "getdents64").map { unsafeBitCast($0, to: GetDents.self) }

        /// `struct linux_dirent64`: 8-byte inode, 8-byte offset, 2-byte record length, 1-byte
        /// type, then the NUL-terminated name.
        static let recordLengthOffset = 16
        static let nameOffset = 19

        static func read(_ fd: Int32, getdents: GetDents, display path: [UInt8]) throws -> [[UInt8]] {
            var names: [[UInt8]] = []
            try withUnsafeTemporaryAllocation(byteCount: 32 << 10, alignment: 8) { buffer in
                while true {
                    let count = getdents(fd, buffer.baseAddress, buffer.count)
                    if count < 0 {
                        if errno == EINTR { continue }
                        throw IOError.read(display(path), errno: errno)
                    }
                    if count == 0 { break }
                    var record = 0
                    while record < count {
                        let length = Int(buffer.load(fromByteOffset: record + recordLengthOffset, as: UInt16.self))
                        let start = record + nameOffset
                        var end = start
                        while end < record + length && buffer[end] != 0 { end += 1 }
                        let dots = end - start
                        if !(dots <= 2 && dots > 0 && buffer[start] == 0x2E && (dots == 1 || buffer[start + 1] == 0x2E)) {
                            names.append(Array(buffer[start..<end]))
                        }
                        record += length
                    }
                }
            }
            names.sort { $0.lexicographicallyPrecedes($1) }
            return names
        }
    }

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

/// Failures while removing a tree we created.
public enum FileSystemError: Error, CustomStringConvertible, Equatable {
    case cannotRemove(String, errno: Int32)
    case mountPoint(String)
    case changedDuringRemoval(String)
    case refusedPath(String)

    public var description: String {
        switch self {
        case let .cannotRemove(path, code): "cannot remove \(path): \(IOError.reason(code))"
        case let .mountPoint(path): "\(path) is a mount point, so it was left in place rather than emptied"
        case let .changedDuringRemoval(path): "\(path) was moved while it was being removed, so removal stopped"
        case let .refusedPath(path): "\(path) names no removable directory entry"
        }
    }
}

extension FileSystem {
    /// Linux's `O_PATH` (the same on x86_64 and arm64), which Glibc's Swift module does not
    /// export: a descriptor that names an inode without the right to read it.
    static let openPathOnly: Int32 = 0o10000000

    /// Removes `path` and everything under it, touching nothing outside: a symlink is removed,
    /// never followed (every step is an `*at` call relative to a directory descriptor opened
    /// with `O_NOFOLLOW`), no mode is changed except that of a directory inside the tree that
    /// lacks the owner's rwx bits, and no mount point (another device, or a bind mount listed
    /// in `/proc/self/mountinfo`) is entered. Only one directory descriptor is open at a time,
    /// so depth is not limited by descriptors or stack. Removes what it can and then throws
    /// the first failure; a missing `path` is not a failure.
    public static func removeTree(_ path: String) throws {
        var bytes = Array(path.utf8)
        while bytes.count > 1, bytes.last == 0x2F { bytes.removeLast() }
        let slash = bytes.lastIndex(of: 0x2F)
        let name = slash.map { Array(bytes[($0 + 1)...]) } ?? bytes
        let parent: [UInt8] = slash.map { $0 == 0 ? [0x2F] : Array(bytes[..<$0]) } ?? [0x2E]
        guard !name.isEmpty, name != [0x2E], name != [0x2E, 0x2E] else { throw FileSystemError.refusedPath(path) }
        let parentFD = withCString(parent) { open($0, FileSystem.openPathOnly | O_DIRECTORY | O_CLOEXEC) }
        guard parentFD >= 0 else {
            if errno == ENOENT { return }
            throw FileSystemError.cannotRemove(path, errno: errno)
        }
        defer { close(parentFD) }
        var remover = TreeRemover(display: bytes, parentFD: parentFD, name: cString(name))
        try remover.run()
    }
}

/// The iterative walk behind `FileSystem.removeTree`: a stack of directories still being
/// emptied, each with the names left to remove; only the innermost has an open descriptor, and
/// climbing back re-opens `..` and checks it is the directory that was entered.
private struct TreeRemover {
    private struct Identity: Hashable {
        var device: UInt64
        var inode: UInt64
        init(_ info: stat) {
            device = UInt64(info.st_dev)
            inode = UInt64(info.st_ino)
        }
    }

    private struct Frame {
        var name: [CChar]
        var identity: Identity
        var remaining: [[UInt8]]
    }

    let display: [UInt8]
    let parentFD: Int32
    let name: [CChar]
    private var stack: [Frame] = []
    private var firstError: FileSystemError?

    init(display: [UInt8], parentFD: Int32, name: [CChar]) {
        self.display = display
        self.parentFD = parentFD
        self.name = name
    }

    mutating func run() throws {
        var info = stat()
        guard fstatat(parentFD, name, &info, AT_SYMLINK_NOFOLLOW) == 0 else {
            if errno == ENOENT { return }
            throw FileSystemError.cannotRemove(FileSystem.display(display), errno: errno)
        }
        guard info.st_mode & S_IFMT == S_IFDIR else {
            guard unlinkat(parentFD, name, 0) == 0 || errno == ENOENT else {
                throw FileSystemError.cannotRemove(FileSystem.display(display), errno: errno)
            }
            return
        }
        let device = info.st_dev
        let mounts = Self.mountPoints(under: display)
        var fd = try enter(parent: parentFD, name: name, expected: Identity(info))
        defer { close(fd) }
        while !stack.isEmpty {
            if let next = stack[stack.count - 1].remaining.popLast() {
                let entry = FileSystem.cString(next)
                guard fstatat(fd, entry, &info, AT_SYMLINK_NOFOLLOW) == 0 else {
                    if errno != ENOENT { record(.cannotRemove(currentPath(next), errno: errno)) }
                    continue
                }
                guard info.st_mode & S_IFMT == S_IFDIR else {
                    if unlinkat(fd, entry, 0) != 0 && errno != ENOENT { record(.cannotRemove(currentPath(next), errno: errno)) }
                    continue
                }
                guard info.st_dev == device, !mounts.contains(Identity(info)) else {
                    record(.mountPoint(currentPath(next)))
                    continue
                }
                do {
                    let child = try enter(parent: fd, name: entry, expected: Identity(info))
                    close(fd)
                    fd = child
                } catch let error as FileSystemError {
                    record(error)
                }
                continue
            }
            let finished = stack.removeLast()
            guard let parent = stack.last else {
                close(fd)
                fd = -1
                if unlinkat(parentFD, finished.name, AT_REMOVEDIR) != 0 && errno != ENOENT {
                    record(.cannotRemove(FileSystem.display(display), errno: errno))
                }
                break
            }
            let up = openat(fd, "..", O_RDONLY | O_DIRECTORY | O_CLOEXEC)
            var upInfo = stat()
            guard up >= 0, fstat(up, &upInfo) == 0, Identity(upInfo) == parent.identity else {
                if up >= 0 { close(up) }
                throw FileSystemError.changedDuringRemoval(currentPath(nil))
            }
            close(fd)
            fd = up
            if unlinkat(fd, finished.name, AT_REMOVEDIR) != 0 && errno != ENOENT {
                record(.cannotRemove(currentPath(finished.name.dropLast().map { UInt8(bitPattern: $0) }), errno: errno))
            }
        }
        if let firstError { throw firstError }
    }

    /// Opens a directory of the tree (never through a symlink), checks it is the one just
    /// examined, gives it the owner's rwx when it lacks them so its entries can be listed and
    /// removed, and pushes it with its names.
    private mutating func enter(parent: Int32, name: [CChar], expected: Identity) throws -> Int32 {
        let path = String(decoding: name.dropLast().map { UInt8(bitPattern: $0) }, as: UTF8.self)
        let handle = openat(parent, name, FileSystem.openPathOnly | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC)
        guard handle >= 0 else { throw FileSystemError.cannotRemove(currentPath(Array(path.utf8)), errno: errno) }
        defer { close(handle) }
        var info = stat()
        guard fstat(handle, &info) == 0, Identity(info) == expected else {
            throw FileSystemError.changedDuringRemoval(currentPath(Array(path.utf8)))
        }
        if info.st_mode & 0o700 != 0o700 {
            // fchmod refuses O_PATH descriptors; /proc's link names exactly the inode just
            // checked, so no name lookup can swap a symlink in between.
            _ = chmod("/proc/self/fd/\(handle)", (info.st_mode & 0o7777) | 0o700)
        }
        let fd = openat(handle, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC)
        guard fd >= 0 else { throw FileSystemError.cannotRemove(currentPath(Array(path.utf8)), errno: errno) }
        let names: [[UInt8]]
        do { names = try FileSystem.sortedEntries(directory: fd, display: Array(path.utf8)) } catch {
            let code = errno
            close(fd)
            throw FileSystemError.cannotRemove(currentPath(Array(path.utf8)), errno: code)
        }
        stack.append(Frame(name: name, identity: expected, remaining: names))
        return fd
    }

    private mutating func record(_ error: FileSystemError) {
        if firstError == nil { firstError = error }
    }

    /// The path of an entry of the innermost directory, for messages only.
    private func currentPath(_ entry: [UInt8]?) -> String {
        var path = display
        for frame in stack.dropFirst() { path += [0x2F] + frame.name.dropLast().map { UInt8(bitPattern: $0) } }
        if let entry { path += [0x2F] + entry }
        return FileSystem.display(path)
    }

    /// Mount points strictly inside `root` (bind mounts share the device, so only the mount
    /// table tells them apart), as the identities `fstatat` reports for them.
    private static func mountPoints(under root: [UInt8]) -> Set<Identity> {
        guard let resolved = FileSystem.withCString(root, { realpath($0, nil) }) else { return [] }
        let prefix = Array(String(cString: resolved).utf8) + [0x2F]
        free(resolved)
        guard var source = try? FileSource(path: "/proc/self/mountinfo"), let table = try? source.readAll() else { return [] }
        var found: Set<Identity> = []
        for line in table.split(separator: 0x0A) {
            let fields = line.split(separator: 0x20)
            guard fields.count > 4 else { continue }
            let point = unescapeMountField(fields[4])
            guard point.starts(with: prefix) else { continue }
            var info = stat()
            if FileSystem.withCString(point, { lstat($0, &info) }) == 0 { found.insert(Identity(info)) }
        }
        return found
    }

    /// mountinfo writes space, tab, newline and backslash as `\ooo`.
    private static func unescapeMountField(_ field: ArraySlice<UInt8>) -> [UInt8] {
        var out: [UInt8] = []
        var index = field.startIndex
        while index < field.endIndex {
            let byte = field[index]
            if byte == 0x5C, field.endIndex - index >= 4,
               let value = UInt8(String(decoding: field[(index + 1)...(index + 3)], as: UTF8.self), radix: 8) {
                out.append(value)
                index += 4
            } else {
                out.append(byte)
                index += 1
            }
        }
        return out
    }
}
