#if canImport(Glibc)
import Glibc
#endif

/// The one walk of a store tree that everything shares (layer writing, sizes, digests of
/// inputs): pre-order, children sorted bytewise, symlinks never followed. That order is the
/// component-wise sort of all paths that nixpkgs' stream script performs, produced without
/// holding the whole list.
///
/// The walk works through open directory descriptors (`fstatat`, `openat`, `readlinkat`), so the
/// kernel does not resolve a full path for every entry of every pass.
public enum StoreWalk {
    public struct Entry {
        /// The directory holding the entry (`AT_FDCWD` for the root).
        let directory: Int32
        /// The entry's name in `directory`, NUL-terminated.
        let name: [CChar]
        /// The walk's root, as given.
        public let root: [UInt8]
        /// Path relative to the root (empty for the root itself).
        public let relative: [UInt8]
        public let status: FileSystem.Status

        /// Host path, for messages.
        public var host: [UInt8] { relative.isEmpty ? root : root + [0x2F] + relative }

        public func open() throws -> ReadableFile {
            try ReadableFile(directory: directory, name: name, root: root, relative: relative)
        }

        public func readLink() throws -> [UInt8] {
            var buffer = [CChar](repeating: 0, count: Int(PATH_MAX) + 1)
            let capacity = buffer.count
            let count = readlinkat(directory, name, &buffer, capacity)
            guard count >= 0 else { throw IOError.readlink(FileSystem.display(host), errno: errno) }
            return buffer[0..<count].map { UInt8(bitPattern: $0) }
        }
    }

    public static func forEach(root: [UInt8], _ body: (Entry) throws -> Void) throws {
        let name = FileSystem.cString(root)
        let status = try stat(directory: AT_FDCWD, name: name, display: root)
        try body(Entry(directory: AT_FDCWD, name: name, root: root, relative: [], status: status))
        guard status.isDirectory else { return }
        try withDirectory(AT_FDCWD, name: name, display: root) { fd in
            try visitChildren(of: fd, root: root, relative: [], body)
        }
    }

    private static func visitChildren(of fd: Int32, root: [UInt8], relative: [UInt8], _ body: (Entry) throws -> Void) throws {
        for child in try FileSystem.sortedEntries(directory: fd, display: relative.isEmpty ? root : root + [0x2F] + relative) {
            let name = FileSystem.cString(child)
            let path = relative.isEmpty ? child : joined(relative, child)
            let status = try stat(directory: fd, name: name, display: root + [0x2F] + path)
            try body(Entry(directory: fd, name: name, root: root, relative: path, status: status))
            if status.isDirectory {
                try withDirectory(fd, name: name, display: root + [0x2F] + path) { childFD in
                    try visitChildren(of: childFD, root: root, relative: path, body)
                }
            }
        }
    }

    /// One allocation per joined path: the walk runs twice over every file.
    static func joined(_ head: [UInt8], _ tail: [UInt8]) -> [UInt8] {
        var path = [UInt8]()
        path.reserveCapacity(head.count + 1 + tail.count)
        path.append(contentsOf: head)
        path.append(0x2F)
        path.append(contentsOf: tail)
        return path
    }

    private static func stat(directory: Int32, name: [CChar], display: @autoclosure () -> [UInt8]) throws -> FileSystem.Status {
        var info = Glibc.stat()
        guard fstatat(directory, name, &info, AT_SYMLINK_NOFOLLOW) == 0 else {
            throw IOError.stat(FileSystem.display(display()), errno: errno)
        }
        return FileSystem.Status(info)
    }

    private static func withDirectory(_ parent: Int32, name: [CChar], display: @autoclosure () -> [UInt8], _ body: (Int32) throws -> Void) throws {
        let fd = openat(parent, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC)
        guard fd >= 0 else { throw IOError.open(FileSystem.display(display()), errno: errno) }
        defer { close(fd) }
        try body(fd)
    }

    /// Total bytes of regular files: our stand-in for Nix's narSize when no graph gives one.
    public static func size(of root: String) throws -> UInt64 {
        var total: UInt64 = 0
        try forEach(root: Array(root.utf8)) { entry in
            if entry.status.isRegular { total += entry.status.size }
        }
        return total
    }
}
