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
            state.visiting = [DirectoryID(status)]
            try merge(host: host, image: Array(content.imagePath.utf8), relative: [], content: content.imagePath, state: &state)
        }
        return state.warnings
    }

    private struct DirectoryID: Hashable {
        var device: UInt64
        var inode: UInt64
        init(_ status: FileSystem.Status) {
            device = status.device
            inode = status.inode
        }
    }

    private struct JoinState {
        var root: [UInt8]
        /// Which content first provided each root-relative path; names both sides of a clash.
        var owners: [[UInt8]: String] = [:]
        var warnings: [Warning] = []
        /// Directories on the current descent, so a symlink to an ancestor cannot recurse forever.
        var visiting: Set<DirectoryID> = []
    }

    /// A directory being merged and the names still to merge from it.
    private struct MergeFrame {
        var host: [UInt8]
        var image: [UInt8]
        var relative: [UInt8]
        var id: DirectoryID?
        var names: [[UInt8]]
        var next = 0
    }

    /// Iterative (an explicit stack, not recursion), so a deep content tree cannot overflow
    /// the call stack.
    private func merge(host: [UInt8], image: [UInt8], relative: [UInt8], content: String, state: inout JoinState) throws {
        var stack = [MergeFrame(host: host, image: image, relative: relative, id: nil, names: try FileSystem.sortedEntries(host))]
        while let top = stack.indices.last {
            guard stack[top].next < stack[top].names.count else {
                if let id = stack.removeLast().id { state.visiting.remove(id) }
                continue
            }
            let name = stack[top].names[stack[top].next]
            stack[top].next += 1
            let (host, image, relative) = (stack[top].host, stack[top].image, stack[top].relative)
            let hostEntry = host + [0x2F] + name
            let imageEntry = image + [0x2F] + name
            let rel = relative.isEmpty ? name : relative + [0x2F] + name
            let destination = state.root + [0x2F] + rel
            let status = try FileSystem.lstatus(hostEntry)
            let existing = try? FileSystem.lstatus(destination)
            let owner = state.owners[rel] ?? "the staged root"

            guard let source = try directorySource(hostEntry: hostEntry, imageEntry: imageEntry, imageParent: image, status: status) else {
                if let existing {
                    if existing.isDirectory {
                        throw CustomisationError.directoryFileClash(path: FileSystem.display(rel), directoryIn: owner, fileIn: content)
                    }
                    state.warnings.append(Warning(path: FileSystem.display(rel), kept: owner, ignored: content))
                } else {
                    try HostFiles.makeSymlink(destination, target: imageEntry)
                    state.owners[rel] = content
                }
                continue
            }
            if let existing {
                guard existing.isDirectory else {
                    throw CustomisationError.directoryFileClash(path: FileSystem.display(rel), directoryIn: content, fileIn: owner)
                }
            } else {
                try HostFiles.makeDirectory(destination)
                state.owners[rel] = content
            }
            guard state.visiting.insert(source.id).inserted else {
                throw CustomisationError.symlinkLoop(link: FileSystem.display(hostEntry))
            }
            stack.append(MergeFrame(
                host: source.host, image: source.image, relative: rel, id: source.id, names: try FileSystem.sortedEntries(source.host)
            ))
        }
    }

    /// What to merge for an entry that is, or leads to, a directory; nil for anything joined as
    /// a symlink.
    private func directorySource(hostEntry: [UInt8], imageEntry: [UInt8], imageParent: [UInt8], status: FileSystem.Status) throws -> (host: [UInt8], image: [UInt8], id: DirectoryID)? {
        if status.isDirectory { return (hostEntry, imageEntry, DirectoryID(status)) }
        guard status.isSymlink else { return nil }
        if let resolved = try resolveInStore(link: hostEntry, parent: imageParent) {
            guard resolved.status.isDirectory else { return nil }
            return (resolved.host, resolved.image, DirectoryID(resolved.status))
        }
        // Outside the store only the host can say whether it is a directory; a directory there
        // would pull host files into the image, so it is refused rather than merged.
        if (try? FileSystem.status(hostEntry, follow: true))?.isDirectory == true {
            let target = (try? FileSystem.readLink(hostEntry)) ?? []
            throw CustomisationError.symlinkOutsideStore(link: FileSystem.display(imageEntry), target: FileSystem.display(target))
        }
        return nil
    }

    /// Follows a chain of symlinks in image terms; nil as soon as a step leaves the store or
    /// dangles. The host's own resolution is not used because absolute targets name the image
    /// store, which need not exist on the host.
    private func resolveInStore(link: [UInt8], parent: [UInt8]) throws -> (host: [UInt8], image: [UInt8], status: FileSystem.Status)? {
        var currentHost = link
        var currentParent = parent
        for _ in 0..<40 {
            let target = try FileSystem.readLink(currentHost)
            let image = Self.normalise(target, relativeTo: currentParent)
            guard let host = hostPath(forImage: image), let status = try? FileSystem.lstatus(host) else { return nil }
            if !status.isSymlink { return (host, image, status) }
            currentHost = host
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
