/// A store path as it is read on the host and named in the image.
public struct StorePathMapping: Sendable, Hashable, Codable {
    public var hostPath: String
    public var imagePath: String

    public init(hostPath: String, imagePath: String) {
        self.hostPath = hostPath
        self.imagePath = imagePath
    }

    public init(samePath path: String) { self.init(hostPath: path, imagePath: path) }
}

/// A layer of store paths: the store's parent directories, then each path and everything below
/// it, sorted component by component, stamped with one owner and mtime (nixpkgs'
/// `archive_paths_to`).
public struct StoreLayer: Layer {
    public var paths: [StorePathMapping]
    /// Directories that open the layer (`/nix`, `/nix/store`), mode 0755.
    public var leadingDirectories: [String]
    public var stamp: EntryStamp
    public var historyPaths: [String]
    /// Write modes as Nix canonicalises a store (0444/0555 files, 0555 directories) instead
    /// of as found: a host folder standing in for a store carries its checkout's umask.
    public var canonicalModes: Bool
    /// The layer's bytes as the closure graph gives them (the sum of its paths' `narSize`),
    /// when it gives them for every path.
    public var narSize: UInt64?

    public init(
        paths: [StorePathMapping], leadingDirectories: [String], stamp: EntryStamp, historyPaths: [String]? = nil,
        canonicalModes: Bool = false, narSize: UInt64? = nil
    ) {
        self.paths = paths
        self.leadingDirectories = leadingDirectories
        self.stamp = stamp
        self.historyPaths = historyPaths ?? paths.map(\.imagePath)
        self.canonicalModes = canonicalModes
        self.narSize = narSize
    }

    public var declaredDiffID: Digest? { nil }

    /// The graph's bytes when it has them; else paths, 1 MiB each, since counting bytes would
    /// mean walking the store once more. A real closure's sizes are far from even (one
    /// 200 MiB library among paths of kilobytes), and the largest layer's two passes are the
    /// critical path.
    public var estimatedCost: UInt64 { narSize ?? UInt64(paths.count) << 20 }

    public func outerHeader(name: String, size: UInt64, mtime: Int) -> TarHeader {
        defaultOuterHeader(name: name, size: size, mtime: mtime)
    }

    // Layers are written through `any Layer`, so without these the walk would run as unspecialised
    // generic code, looking up type metadata and calling through witness tables for every entry
    // of both passes. The first pass always hashes; the second mostly streams a docker archive.
    @_specialize(where S == PipelinedHasher)
    @_specialize(where S == ChunkedTeeSink<TarMemberDataSink<FileDescriptorSink>>)
    public func write<S: ByteSink>(to sink: inout S, buffer: CopyBuffer) throws {
        let owner = Owner(stamp)
        var tar = TarWriter(sink: sink)
        defer { sink = tar.sink }
        for directory in leadingDirectories {
            try tar.writeHeader(owner.header(name: Array(directory.utf8), mode: 0o755, type: TarType.directory))
        }
        for path in paths {
            try writeTree(host: Array(path.hostPath.utf8), image: Array(path.imagePath.utf8), owner: owner, into: &tar, buffer: buffer)
        }
        try tar.finish()
    }

    /// The stamp with its names as bytes once, not once per entry.
    private struct Owner {
        let stamp: EntryStamp
        let uname: [UInt8]
        let gname: [UInt8]

        init(_ stamp: EntryStamp) {
            self.stamp = stamp
            uname = Array(stamp.uname.utf8)
            gname = Array(stamp.gname.utf8)
        }

        func header(name: [UInt8], mode: UInt32, type: UInt8, size: UInt64 = 0, linkname: [UInt8] = []) -> TarHeader {
            TarHeader(
                name: name, mode: mode, uid: stamp.uid, gid: stamp.gid, size: size, mtime: stamp.mtime,
                typeflag: type, linkname: linkname, uname: uname, gname: gname
            )
        }
    }

    private func writeTree<T: ByteSink>(host: [UInt8], image: [UInt8], owner: Owner, into tar: inout TarWriter<T>, buffer: CopyBuffer) throws {
        try StoreWalk.forEach(root: host) { entry in
            let name = entry.relative.isEmpty ? image : StoreWalk.joined(image, entry.relative)
            try writeEntry(entry, image: name, owner: owner, into: &tar, buffer: buffer)
        }
    }

    private func writeEntry<T: ByteSink>(
        _ entry: StoreWalk.Entry, image: [UInt8], owner: Owner, into tar: inout TarWriter<T>, buffer: CopyBuffer
    ) throws {
        let status = entry.status
        var mode = status.mode & 0o7777
        if canonicalModes {
            switch status.type {
            case UInt32(S_IFDIR): mode = 0o555
            case UInt32(S_IFLNK): mode = 0o777
            default: mode = mode & 0o111 != 0 ? 0o555 : 0o444
            }
        }
        switch status.type {
        case UInt32(S_IFREG):
            // A hard link is written as a full file, as the reference does.
            try tar.writeHeader(owner.header(name: image, mode: mode, type: TarType.regular, size: status.size))
            let file = try entry.open()
            try tar.writeData(from: file, size: status.size, scratch: buffer.bytes)
        case UInt32(S_IFDIR):
            try tar.writeHeader(owner.header(name: image, mode: mode, type: TarType.directory))
        case UInt32(S_IFLNK):
            try tar.writeHeader(owner.header(name: image, mode: mode, type: TarType.symlink, linkname: try entry.readLink()))
        case UInt32(S_IFIFO):
            try tar.writeHeader(owner.header(name: image, mode: mode, type: TarType.fifo))
        case UInt32(S_IFCHR), UInt32(S_IFBLK):
            var header = owner.header(name: image, mode: mode, type: status.type == UInt32(S_IFCHR) ? TarType.character : TarType.block)
            // glibc's major()/minor() split of a 64-bit dev_t.
            header.devmajor = Int(((status.rdev >> 8) & 0xFFF) | ((status.rdev >> 32) & ~UInt64(0xFFF)))
            header.devminor = Int((status.rdev & 0xFF) | ((status.rdev >> 12) & ~UInt64(0xFF)))
            try tar.writeHeader(header)
        default:
            throw IOError.unsupportedFileType(FileSystem.display(entry.host))
        }
    }
}

#if canImport(Glibc)
import Glibc
#endif
