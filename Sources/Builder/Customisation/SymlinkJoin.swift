#if canImport(Glibc)
import Glibc
#endif

/// Where the image's store directory lives on the host: the customisation steps read store
/// entries through `hostDirectory` but must name them by `imageDirectory`.
public struct StoreBinding: Sendable, Hashable, Codable {
    public var imageDirectory: String
    public var hostDirectory: String

    public init(imageDirectory: String = "/nix/store", hostDirectory: String) {
        self.imageDirectory = imageDirectory
        self.hostDirectory = hostDirectory
    }

    /// The image store directory without its leading slash, as it appears inside the root.
    public var relativeImageDirectory: String {
        String(imageDirectory.drop { $0 == "/" })
    }
}

/// Stages the image root the way nixpkgs' `symlinkJoin` of the contents does: directories are
/// real (0755) and merged, everything else is a symlink to the entry's image path.
public struct SymlinkJoin: Sendable {
    /// A path two contents both provide; the earlier content's entry is kept.
    public struct Warning: Sendable, Equatable, CustomStringConvertible {
        /// Relative to the root (`bin/hello`).
        public var path: String
        public var kept: String
        public var ignored: String

        public init(path: String, kept: String, ignored: String) {
            self.path = path
            self.kept = kept
            self.ignored = ignored
        }

        public var description: String {
            "\(path) is provided by both \(kept) and \(ignored); keeping the one from \(kept)"
        }
    }

    public var contents: [StorePathMapping]
    public var store: StoreBinding

    public init(contents: [StorePathMapping], store: StoreBinding) {
        self.contents = contents
        self.store = store
    }

    /// Creates `root` (if needed) and merges every content path into it, in order.
    public func stage(into root: String) throws -> [Warning] {
        var state = JoinState(root: Array(root.utf8))
        try HostFiles.makeDirectory(state.root, allowExisting: true)
        for content in contents {
            let host = Array(content.hostPath.utf8)
            guard let status = try? FileSystem.status(host, follow: true) else {
                throw CustomisationError.contentMissing(content.hostPath)
            }
            guard status.isDirectory else { throw CustomisationError.contentIsFile(content.hostPath) }
            state.visiting = [EntryID(status)]
            try merge(host: host, image: Array(content.imagePath.utf8), content: content.imagePath, state: &state)
        }
        return state.warnings
    }

    /// An entry of the host or the staged root, by device and inode.
    private struct EntryID: Hashable {
        var device: UInt64
        var inode: UInt64
        init(_ status: FileSystem.Status) {
            device = status.device
            inode = status.inode
        }
    }

    private struct JoinState {
        var root: [UInt8]
        /// Which content first provided each entry of the root (by its identity there, so no
        /// path is kept per entry); names both sides of a clash.
        var owners: [EntryID: String] = [:]
        var warnings: [Warning] = []
        /// Directories on the current descent, so a symlink to an ancestor cannot recurse forever.
        var visiting: Set<EntryID> = []
    }

    /// Where the merge is: one host, image and root-relative path for the whole descent.
    private struct Position {
        var host: [UInt8]
        var image: [UInt8]
        var relative: [UInt8] = []
    }

    /// A directory being merged: its source and destination descriptors and the names still
    /// to merge from it.
    private struct MergeFrame {
        /// -1 while closed to bound the number of open descriptors.
        var source: Int32
        var destination: Int32
        let sourceID: EntryID
        let destinationID: EntryID
        /// The position to return to when this directory is done. A directory reached through
        /// a symlink keeps the whole parent position (its host path is not its parent's plus a
        /// name), and its parent keeps its descriptors (`..` would not lead back to it).
        let restore: Position
        let throughSymlink: Bool
        let names: [[UInt8]]
        var next = 0

        func close() {
            if source >= 0 { Glibc.close(source) }
            if destination >= 0 { Glibc.close(destination) }
        }
    }

    /// Iterative (an explicit stack) and relative to directory descriptors on both sides, so a
    /// content tree of any depth merges without recursion or a path longer than PATH_MAX; at
    /// most `StoreWalk.openDescriptorLimit` levels keep their descriptors open.
    private func merge(host: [UInt8], image: [UInt8], content: String, state: inout JoinState) throws {
        var position = Position(host: host, image: image)
        var stack: [MergeFrame] = []
        defer { for frame in stack { frame.close() } }
        let source = try Self.openDirectory(AT_FDCWD, FileSystem.cString(host), follow: true, display: host)
        let rootFrame = try Self.closingOnError(source.fd) { () throws -> MergeFrame in
            let destination = try Self.openDirectory(AT_FDCWD, FileSystem.cString(state.root), follow: true, display: state.root)
            return try Self.closingOnError(destination.fd) {
                MergeFrame(
                    source: source.fd, destination: destination.fd, sourceID: source.id, destinationID: destination.id,
                    restore: position, throughSymlink: true, names: try FileSystem.sortedEntries(directory: source.fd, display: host)
                )
            }
        }
        stack.append(rootFrame)
        while let top = stack.indices.last {
            guard stack[top].next < stack[top].names.count else {
                let finished = stack.removeLast()
                defer { finished.close() }
                if top > 0 { state.visiting.remove(finished.sourceID) }
                position = finished.restore
                if let parent = stack.indices.last, stack[parent].source < 0 {
                    let root = state.root
                    stack[parent].source = try StoreWalk.reopenParent(
                        of: finished.source, device: stack[parent].sourceID.device, inode: stack[parent].sourceID.inode, display: position.host
                    )
                    stack[parent].destination = try StoreWalk.reopenParent(
                        of: finished.destination, device: stack[parent].destinationID.device, inode: stack[parent].destinationID.inode,
                        display: root + [0x2F] + position.relative
                    )
                }
                continue
            }
            let name = stack[top].names[stack[top].next]
            stack[top].next += 1
            let cName = FileSystem.cString(name)
            let (sourceFD, destinationFD) = (stack[top].source, stack[top].destination)
            let hostEntry = StoreWalk.joined(position.host, name)
            let imageEntry = StoreWalk.joined(position.image, name)
            let rel = position.relative.isEmpty ? name : StoreWalk.joined(position.relative, name)
            let status = try Self.lstat(sourceFD, cName, display: hostEntry)
            let existing = try? Self.lstat(destinationFD, cName, display: rel)
            let owner = existing.flatMap { state.owners[EntryID($0)] } ?? "the staged root"

            guard let child = try directorySource(
                directory: sourceFD, name: cName, hostEntry: hostEntry, imageEntry: imageEntry, imageParent: position.image, status: status
            ) else {
                if let existing {
                    if existing.isDirectory {
                        throw CustomisationError.directoryFileClash(path: FileSystem.display(rel), directoryIn: owner, fileIn: content)
                    }
                    state.warnings.append(Warning(path: FileSystem.display(rel), kept: owner, ignored: content))
                } else {
                    let made = FileSystem.withCString(imageEntry) { symlinkat($0, destinationFD, cName) }
                    guard made == 0 else { throw CustomisationError.cannotCreate(FileSystem.display(state.root + [0x2F] + rel), errno: errno) }
                    state.owners[EntryID(try Self.lstat(destinationFD, cName, display: rel))] = content
                }
                continue
            }
            let root = state.root
            let frame = try Self.closingOnError(child.fd) { () throws -> MergeFrame in
                if let existing, !existing.isDirectory {
                    throw CustomisationError.directoryFileClash(path: FileSystem.display(rel), directoryIn: content, fileIn: owner)
                }
                if existing == nil, mkdirat(destinationFD, cName, 0o700) != 0 {
                    throw CustomisationError.cannotCreate(FileSystem.display(root + [0x2F] + rel), errno: errno)
                }
                let made = try Self.openDirectory(destinationFD, cName, follow: false, display: root + [0x2F] + rel)
                return try Self.closingOnError(made.fd) {
                    if existing == nil {
                        // Set after creation, so the host umask never shows in the layer.
                        fchmod(made.fd, 0o755)
                        state.owners[made.id] = content
                    }
                    guard state.visiting.insert(child.id).inserted else {
                        throw CustomisationError.symlinkLoop(link: FileSystem.display(hostEntry))
                    }
                    return MergeFrame(
                        source: child.fd, destination: made.fd, sourceID: child.id, destinationID: made.id,
                        restore: position, throughSymlink: child.resolved != nil,
                        names: try FileSystem.sortedEntries(directory: child.fd, display: child.resolved?.host ?? hostEntry)
                    )
                }
            }
            if stack.count >= StoreWalk.openDescriptorLimit && !frame.throughSymlink {
                stack[top].close()
                stack[top].source = -1
                stack[top].destination = -1
            }
            stack.append(frame)
            position.host = child.resolved?.host ?? hostEntry
            position.image = child.resolved?.image ?? imageEntry
            position.relative = rel
        }
    }

    /// `body`'s result, closing `fd` if it throws: descriptors handed on only once a frame holds them.
    private static func closingOnError<T>(_ fd: Int32, _ body: () throws -> T) throws -> T {
        do { return try body() } catch {
            Glibc.close(fd)
            throw error
        }
    }

    private static func lstat(_ directory: Int32, _ name: [CChar], display: @autoclosure () -> [UInt8]) throws -> FileSystem.Status {
        var info = stat()
        guard fstatat(directory, name, &info, AT_SYMLINK_NOFOLLOW) == 0 else {
            throw IOError.stat(FileSystem.display(display()), errno: errno)
        }
        return FileSystem.Status(info)
    }

    private static func openDirectory(_ parent: Int32, _ name: [CChar], follow: Bool, display: [UInt8]) throws -> (fd: Int32, id: EntryID) {
        let fd = openat(parent, name, O_RDONLY | O_DIRECTORY | O_CLOEXEC | (follow ? 0 : O_NOFOLLOW))
        guard fd >= 0 else { throw IOError.open(FileSystem.display(display), errno: errno) }
        var info = stat()
        guard fstat(fd, &info) == 0 else {
            let code = errno
            Glibc.close(fd)
            throw IOError.stat(FileSystem.display(display), errno: code)
        }
        return (fd, EntryID(FileSystem.Status(info)))
    }

    /// What to merge for an entry that is, or leads to, a directory (opened); nil for anything
    /// joined as a symlink. `resolved` is set when a symlink led there.
    private func directorySource(
        directory: Int32, name: [CChar], hostEntry: [UInt8], imageEntry: [UInt8], imageParent: [UInt8], status: FileSystem.Status
    ) throws -> (fd: Int32, resolved: (host: [UInt8], image: [UInt8])?, id: EntryID)? {
        if status.isDirectory {
            let opened = try Self.openDirectory(directory, name, follow: false, display: hostEntry)
            return (opened.fd, nil, opened.id)
        }
        guard status.isSymlink else { return nil }
        let target = try Self.readLink(directory, name, display: hostEntry)
        if let resolved = try resolveInStore(target: target, parent: imageParent, link: hostEntry) {
            guard resolved.status.isDirectory else { return nil }
            let opened = try Self.openDirectory(AT_FDCWD, FileSystem.cString(resolved.host), follow: false, display: resolved.host)
            return (opened.fd, (resolved.host, resolved.image), opened.id)
        }
        // Outside the store only the host can say whether it is a directory; a directory there
        // would pull host files into the image, so it is refused rather than merged.
        var info = stat()
        if fstatat(directory, name, &info, 0) == 0, FileSystem.Status(info).isDirectory {
            throw CustomisationError.symlinkOutsideStore(link: FileSystem.display(imageEntry), target: FileSystem.display(target))
        }
        return nil
    }

    private static func readLink(_ directory: Int32, _ name: [CChar], display: @autoclosure () -> [UInt8]) throws -> [UInt8] {
        var buffer = [CChar](repeating: 0, count: Int(PATH_MAX) + 1)
        let capacity = buffer.count
        let count = readlinkat(directory, name, &buffer, capacity)
        guard count >= 0 else { throw IOError.readlink(FileSystem.display(display()), errno: errno) }
        return buffer[0..<count].map { UInt8(bitPattern: $0) }
    }

    /// Follows a chain of symlinks in image terms, starting from the first link's `target`;
    /// nil as soon as a step leaves the store or dangles. The host's own resolution is not used
    /// because absolute targets name the image store, which need not exist on the host.
    private func resolveInStore(target first: [UInt8], parent: [UInt8], link: [UInt8]) throws -> (host: [UInt8], image: [UInt8], status: FileSystem.Status)? {
        var target = first
        var currentParent = parent
        for _ in 0..<40 {
            let image = Self.normalise(target, relativeTo: currentParent)
            guard let host = hostPath(forImage: image), let status = try? FileSystem.lstatus(host) else { return nil }
            if !status.isSymlink { return (host, image, status) }
            target = try FileSystem.readLink(host)
            currentParent = Array(image[..<(image.lastIndex(of: 0x2F) ?? 0)])
        }
        throw CustomisationError.symlinkLoop(link: FileSystem.display(link))
    }

    /// The host path of an image path inside the store: through the content mapping that
    /// covers it, else through the store binding; nil outside the store.
    func hostPath(forImage image: [UInt8]) -> [UInt8]? {
        let storePrefix = Array(store.imageDirectory.utf8) + [0x2F]
        guard image.starts(with: storePrefix), image.count > storePrefix.count else { return nil }
        for mapping in contents {
            let prefix = Array(mapping.imagePath.utf8)
            if image == prefix { return Array(mapping.hostPath.utf8) }
            if image.starts(with: prefix + [0x2F]) { return Array(mapping.hostPath.utf8) + image[prefix.count...] }
        }
        return Array(store.hostDirectory.utf8) + image[(storePrefix.count - 1)...]
    }

    /// Lexical resolution of a link target against the directory holding the link.
    static func normalise(_ target: [UInt8], relativeTo parent: [UInt8]) -> [UInt8] {
        var components: [ArraySlice<UInt8>] = target.first == 0x2F ? [] : parent.split(separator: 0x2F)
        for component in target.split(separator: 0x2F) {
            if component == [0x2E] { continue }
            if component == [0x2E, 0x2E] {
                if !components.isEmpty { components.removeLast() }
                continue
            }
            components.append(component)
        }
        var out: [UInt8] = []
        for component in components { out += [0x2F] + component }
        return out.isEmpty ? [0x2F] : out
    }
}
