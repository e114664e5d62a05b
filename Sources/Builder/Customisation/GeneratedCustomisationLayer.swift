#if canImport(Glibc)
import Glibc
#endif

/// The customisation layer built here from a staged root, as nixpkgs packs it with
/// `tar --sort=name --numeric-owner --mtime=@… --hard-dereference`: every entry below the root
/// (never the root itself), the image store directory's subtree left out, one mtime, owner 0:0
/// with no names unless fakeroot recorded otherwise, modes kept.
///
/// Our process is not under fakeroot, so the tar is written once to `layer.tar` in the work
/// directory (it is small) and both passes of the archive writer stream that file.
public struct GeneratedCustomisationLayer: Layer {
    public let layerPath: String
    public let diffID: Digest
    public let size: UInt64
    public let historyPaths: [String]

    public static let defaultHistoryLabel = "customisation layer"

    /// Packs `root` into `<workDirectory>/layer.tar`.
    public init(
        root: String, workDirectory: String, storeDirectory: String, mtime: Int,
        ownership: FakerootState = .empty, historyLabel: String = GeneratedCustomisationLayer.defaultHistoryLabel,
        buffer: CopyBuffer = CopyBuffer()
    ) throws {
        layerPath = workDirectory + "/layer.tar"
        historyPaths = [historyLabel]
        let packer = RootPacker(
            root: Array(root.utf8), excluded: Array(storeDirectory.drop { $0 == "/" }.utf8),
            mtime: mtime, ownership: ownership
        )
        let fd = try HostFiles.createFile(layerPath)
        defer { close(fd) }
        var sink = TeeHashingSink(FileDescriptorSink(fd: fd, label: layerPath))
        try packer.write(to: &sink, buffer: buffer)
        try sink.inner.flush()
        (diffID, size) = sink.hashing.finalize()
    }

    public var declaredDiffID: Digest? { diffID }

    /// What nixpkgs' stream script gets from `gettarinfo` on the `layer.tar` a daemon-built
    /// store path holds: Nix canonicalises it to 0444, owned by root (uid and gid 0, named
    /// `root` by the host's passwd and group files), whoever runs the build here.
    public func outerHeader(name: String, size: UInt64, mtime: Int) -> TarHeader {
        TarHeader(
            name: Array(name.utf8), mode: 0o444, uid: 0, gid: 0, size: size, mtime: mtime, typeflag: TarType.regular,
            uname: Array("root".utf8), gname: Array("root".utf8)
        )
    }

    /// The candidates the layer refers to. The tar itself is scanned, not the root: it holds
    /// exactly what ships (names, link targets, contents, no store subtree), as the nixpkgs
    /// output holding `layer.tar` is what Nix scans.
    public func references(among candidates: some Sequence<String>) throws -> [String] {
        try ReferenceScanner(candidates: candidates).scan(hostPath: layerPath)
    }

    public func write<S: ByteSink>(to sink: inout S, buffer: CopyBuffer) throws {
        let file = try ReadableFile(path: Array(layerPath.utf8))
        try file.copy(size: size, buffer: buffer.bytes) { try sink.write($0) }
    }
}

/// Walks a staged root the way StoreLayer walks a store path (iteratively, through directory
/// descriptors, so depth is unbounded) but in GNU tar's bytewise order, lstat only, hard links
/// as full files.
struct RootPacker {
    var root: [UInt8]
    /// Root-relative path whose subtree is left out (`nix/store`).
    var excluded: [UInt8]
    var mtime: Int
    var ownership: FakerootState

    func write<S: ByteSink>(to sink: inout S, buffer: CopyBuffer) throws {
        var tar = TarWriter(sink: sink)
        defer { sink = tar.sink }
        try StoreWalk.walk(root: root, order: .bytewise) { entry in
            if entry.relative.isEmpty { return true }
            if !excluded.isEmpty && entry.relative == excluded { return false }
            try writeEntry(entry, into: &tar, buffer: buffer)
            return true
        }
        try tar.finish()
    }

    private func writeEntry<T: ByteSink>(_ entry: StoreWalk.Entry, into tar: inout TarWriter<T>, buffer: CopyBuffer) throws {
        let status = entry.status
        var header = TarHeader(name: entry.relative, mode: status.mode & 0o7777, mtime: mtime)
        var type = status.type
        if let recorded = ownership.entry(for: status) {
            header.uid = recorded.uid
            header.gid = recorded.gid
            header.mode = recorded.mode & 0o7777
            type = recorded.type
            if type == UInt32(S_IFCHR) || type == UInt32(S_IFBLK) {
                (header.devmajor, header.devminor) = Self.split(recorded.rdev)
            }
        } else if type == UInt32(S_IFCHR) || type == UInt32(S_IFBLK) {
            (header.devmajor, header.devminor) = Self.split(status.rdev)
        }
        switch type {
        case UInt32(S_IFREG):
            header.typeflag = TarType.regular
            header.size = status.size
            try tar.writeHeader(header)
            let file = try entry.open()
            try file.copy(size: status.size, buffer: buffer.bytes) { try tar.writeData($0) }
        case UInt32(S_IFDIR):
            header.typeflag = TarType.directory
            try tar.writeHeader(header)
        case UInt32(S_IFLNK):
            header.typeflag = TarType.symlink
            header.linkname = try entry.readLink()
            try tar.writeHeader(header)
        case UInt32(S_IFIFO):
            header.typeflag = TarType.fifo
            try tar.writeHeader(header)
        case UInt32(S_IFCHR):
            header.typeflag = TarType.character
            try tar.writeHeader(header)
        case UInt32(S_IFBLK):
            header.typeflag = TarType.block
            try tar.writeHeader(header)
        default:
            throw IOError.unsupportedFileType(FileSystem.display(entry.host))
        }
    }

    /// glibc's major()/minor() split of a 64-bit dev_t.
    static func split(_ rdev: UInt64) -> (Int, Int) {
        (Int(((rdev >> 8) & 0xFFF) | ((rdev >> 32) & ~UInt64(0xFFF))), Int((rdev & 0xFF) | ((rdev >> 12) & ~UInt64(0xFF))))
    }
}
