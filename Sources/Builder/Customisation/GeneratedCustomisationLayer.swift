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

    public func outerHeader(name: String, size: UInt64, mtime: Int) -> TarHeader {
        defaultOuterHeader(name: name, size: size, mtime: mtime)
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

/// Walks a staged root the way StoreLayer walks a store path: pre-order, children sorted
/// bytewise, lstat only, hard links as full files.
struct RootPacker {
    var root: [UInt8]
    /// Root-relative path whose subtree is left out (`nix/store`).
    var excluded: [UInt8]
    var mtime: Int
    var ownership: FakerootState

    func write<S: ByteSink>(to sink: inout S, buffer: CopyBuffer) throws {
        var tar = TarWriter(sink: sink)
        defer { sink = tar.sink }
        try writeChildren(of: [], into: &tar, buffer: buffer)
        try tar.finish()
    }

    private func writeChildren<T: ByteSink>(of relative: [UInt8], into tar: inout TarWriter<T>, buffer: CopyBuffer) throws {
        let directory = relative.isEmpty ? root : root + [0x2F] + relative
        for name in try FileSystem.sortedEntries(directory) {
            let child = relative.isEmpty ? name : relative + [0x2F] + name
            if !excluded.isEmpty && child == excluded { continue }
            let host = directory + [0x2F] + name
            let status = try FileSystem.lstatus(host)
            try writeEntry(name: child, host: host, status: status, into: &tar, buffer: buffer)
            if status.isDirectory {
                try writeChildren(of: child, into: &tar, buffer: buffer)
            }
        }
    }

    private func writeEntry<T: ByteSink>(name: [UInt8], host: [UInt8], status: FileSystem.Status, into tar: inout TarWriter<T>, buffer: CopyBuffer) throws {
        var header = TarHeader(name: name, mode: status.mode & 0o7777, mtime: mtime)
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
            let file = try ReadableFile(path: host)
            try file.copy(size: status.size, buffer: buffer.bytes) { try tar.writeData($0) }
        case UInt32(S_IFDIR):
            header.typeflag = TarType.directory
            try tar.writeHeader(header)
        case UInt32(S_IFLNK):
            header.typeflag = TarType.symlink
            header.linkname = try FileSystem.readLink(host)
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
            throw IOError.unsupportedFileType(FileSystem.display(host))
        }
    }

    /// glibc's major()/minor() split of a 64-bit dev_t.
    static func split(_ rdev: UInt64) -> (Int, Int) {
        (Int(((rdev >> 8) & 0xFFF) | ((rdev >> 32) & ~UInt64(0xFFF))), Int((rdev & 0xFF) | ((rdev >> 12) & ~UInt64(0xFF))))
    }
}
