#if canImport(Glibc)
import Glibc
#endif

/// The one walk of a tree that everything shares (store layers, sizes, reference scans, the
/// customisation layer): pre-order, children sorted, symlinks never followed.
///
/// In `.python` order that is the order nixpkgs' stream script gets from `sorted()` over
/// `pathlib` paths (component lists compared by code point after surrogateescape decoding),
/// produced without holding the whole list; `.bytewise` is GNU tar's `--sort=name`.
///
/// The walk is iterative and works through directory descriptors (`fstatat`, `openat`,
/// `readlinkat`), so neither the call stack nor PATH_MAX limits how deep a tree may be: a
/// full path is only ever built for messages and tar names. At most `openDescriptorLimit`
/// ancestors stay open; deeper ones are reopened through `..` (and checked to be the same
/// directory) when the walk climbs back.
public enum StoreWalk {
    public enum Order: Sendable {
        /// CPython's `sorted()` of `pathlib` paths.
        case python
        /// `strcmp` per directory, as GNU tar `--sort=name`.
        case bytewise
    }

    static let openDescriptorLimit = 64

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

        /// The entry's own name (the root's is the whole root path).
        public var nameBytes: [UInt8] { name.dropLast().map { UInt8(bitPattern: $0) } }

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

    public static func forEach(root: [UInt8], order: Order = .python, _ body: (Entry) throws -> Void) throws {
        try walk(root: root, order: order) { entry in
            try body(entry)
            return true
        }
    }

    /// An open directory on the current descent and the children still to visit.
    private struct Frame {
        /// -1 while closed to bound the number of open descriptors.
        var fd: Int32
        /// Length of the walk's current relative path before this directory's name was added:
        /// one path is kept for the whole descent, not one per level (quadratic when deep).
        let parentLength: Int
        let names: [[UInt8]]
        var next = 0
        let device: UInt64
        let inode: UInt64
    }

    /// Like `forEach`, but `body` returns whether to descend into a directory entry.
    public static func walk(root: [UInt8], order: Order, _ body: (Entry) throws -> Bool) throws {
        let rootName = FileSystem.cString(root)
        let rootStatus = try stat(directory: AT_FDCWD, name: rootName, display: root)
        guard try body(Entry(directory: AT_FDCWD, name: rootName, root: root, relative: [], status: rootStatus)),
              rootStatus.isDirectory else { return }
        var stack: [Frame] = []
        defer { for frame in stack where frame.fd >= 0 { close(frame.fd) } }
        var relative: [UInt8] = []
        stack.append(try openFrame(AT_FDCWD, name: rootName, relative: [], parentLength: 0, status: rootStatus, root: root, order: order))
        while let top = stack.indices.last {
            guard stack[top].next < stack[top].names.count else {
                let finished = stack.removeLast()
                defer { close(finished.fd) }
                relative.removeLast(relative.count - finished.parentLength)
                if let parent = stack.indices.last, stack[parent].fd < 0 {
                    stack[parent].fd = try reopenParent(of: finished, as: stack[parent], display: relative.isEmpty ? root : joined(root, relative))
                }
                continue
            }
            let child = stack[top].names[stack[top].next]
            stack[top].next += 1
            let fd = stack[top].fd
            let name = FileSystem.cString(child)
            let path = relative.isEmpty ? child : joined(relative, child)
            let status = try stat(directory: fd, name: name, display: joined(root, path))
            guard try body(Entry(directory: fd, name: name, root: root, relative: path, status: status)),
                  status.isDirectory else { continue }
            let frame = try openFrame(fd, name: name, relative: path, parentLength: relative.count, status: status, root: root, order: order)
            if stack.count >= openDescriptorLimit {
                close(stack[top].fd)
                stack[top].fd = -1
            }
            stack.append(frame)
            relative = path
        }
    }

    private static func openFrame(
        _ parent: Int32, name: [CChar], relative: [UInt8], parentLength: Int, status: FileSystem.Status, root: [UInt8], order: Order
    ) throws -> Frame {
        // Built only for a message: a path per directory would make a deep walk quadratic twice.
        func display() -> [UInt8] { relative.isEmpty ? root : joined(root, relative) }
        let fd = openat(parent, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC)
        guard fd >= 0 else { throw IOError.open(FileSystem.display(display()), errno: errno) }
        do {
            var names = try FileSystem.sortedEntries(directory: fd, display: display())
            if order == .python { PythonNameOrder.reorder(&names) }
            return Frame(fd: fd, parentLength: parentLength, names: names, device: status.device, inode: status.inode)
        } catch {
            close(fd)
            throw error
        }
    }

    /// The parent of a finished directory, through `..`; it must still be the directory the
    /// walk came down through, or the tree changed under the walk.
    private static func reopenParent(of child: Frame, as parent: Frame, display: @autoclosure () -> [UInt8]) throws -> Int32 {
        try reopenParent(of: child.fd, device: parent.device, inode: parent.inode, display: display())
    }

    /// `..` of an open directory, which must be the directory (`device`, `inode`) the caller
    /// came down through; shared with the symlink join, which bounds descriptors the same way.
    static func reopenParent(of child: Int32, device: UInt64, inode: UInt64, display: @autoclosure () -> [UInt8]) throws -> Int32 {
        let fd = openat(child, "..", O_RDONLY | O_DIRECTORY | O_CLOEXEC)
        guard fd >= 0 else { throw IOError.open(FileSystem.display(display()), errno: errno) }
        var info = Glibc.stat()
        guard fstat(fd, &info) == 0, UInt64(info.st_dev) == device, UInt64(info.st_ino) == inode else {
            close(fd)
            throw StoreWalkError.changedDuringWalk(FileSystem.display(display()))
        }
        return fd
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

    /// Total bytes of regular files: our stand-in for Nix's narSize when no graph gives one.
    public static func size(of root: String) throws -> UInt64 {
        var total: UInt64 = 0
        try forEach(root: Array(root.utf8), order: .bytewise) { entry in
            if entry.status.isRegular { total += entry.status.size }
        }
        return total
    }
}

public enum StoreWalkError: Error, CustomStringConvertible, Equatable {
    case changedDuringWalk(String)

    public var description: String {
        switch self {
        case let .changedDuringWalk(path): "\(path) was moved or replaced while it was being read"
        }
    }
}

/// CPython's order of file names: `os.fsdecode` turns each byte that is not part of valid
/// UTF-8 into U+DC80–U+DCFF (surrogateescape), and `str` compares by code point. For valid
/// UTF-8 that equals byte order, so names are only re-sorted when one is not valid UTF-8.
public enum PythonNameOrder {
    /// Re-sorts bytewise-sorted names into CPython's order.
    public static func reorder(_ names: inout [[UInt8]]) {
        guard names.contains(where: { !UTF8Scan.isValid($0) }) else { return }
        names = names.map { (codePoints($0), $0) }
            .sorted { $0.0.lexicographicallyPrecedes($1.0) }
            .map(\.1)
    }

    /// The code points CPython decodes a name to (`surrogateescape` for undecodable bytes).
    public static func codePoints(_ name: [UInt8]) -> [UInt32] {
        var points: [UInt32] = []
        points.reserveCapacity(name.count)
        var index = 0
        while index < name.count {
            guard let length = UTF8Scan.validSequenceLength(name, at: index) else {
                points.append(0xDC00 + UInt32(name[index]))
                index += 1
                continue
            }
            var scalar = length == 1 ? UInt32(name[index]) : UInt32(name[index]) & (0xFF >> (length + 1))
            for offset in 1..<length {
                scalar = scalar << 6 | UInt32(name[index + offset] & 0x3F)
            }
            points.append(scalar)
            index += length
        }
        return points
    }

    /// Whether `a` sorts before `b` in CPython's order.
    public static func precedes(_ a: [UInt8], _ b: [UInt8]) -> Bool {
        codePoints(a).lexicographicallyPrecedes(codePoints(b))
    }
}
