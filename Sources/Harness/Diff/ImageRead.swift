import Builder
#if canImport(Glibc)
import Glibc
#endif

/// How an image is packaged; the same image (config and layers) may come in any of these.
enum ImagePackaging: String, Sendable {
    case dockerArchive = "docker-archive"
    case ociArchive = "oci-archive"
    case dual
    case ociLayout = "oci-layout"
}

/// An input to compare: a tar (read once and indexed) or an OCI layout directory.
enum ImageSource {
    case archive(RereadableInput, MemberScan)
    case layout(String)

    static func open(_ path: String) throws -> ImageSource {
        var status = stat()
        if stat(path, &status) == 0, status.st_mode & S_IFMT == S_IFDIR { return .layout(path) }
        let input = try RereadableInput(path: path)
        return .archive(input, try MemberScan.read(input: input))
    }
}

/// What the diff sees of an input, whatever its packaging: its documents, and for each image
/// (an OCI index may list several) its config, manifest, and each layer's diff_id, blob and
/// where the blob's bytes are. Everything is checked as it is read: blob digests against their
/// names, sizes against descriptors, media types against what an image may hold, and (when a
/// layer is decompressed) the diff_id against the decompressed bytes.
struct ImageRead: LayerStreams {
    enum BlobLocation {
        case member(Int)
        case file(String)
    }

    struct Layer {
        var diffID: Digest
        var blob: OCIDescriptor
        var compression: LayerCompression
        var location: BlobLocation
    }

    struct Document {
        var digest: Digest
        var json: JSONValue
    }

    /// One image: a docker-archive's, or one an OCI index lists.
    struct Image {
        /// `image linux/arm64`, `image 1.0`, `image 2`: its platform, else its ref name, else
        /// its place in `index.json`; unique within its input.
        var name: String
        var platform: String?
        var refName: String?
        /// The OCI image manifest (nil in a docker-archive).
        var manifest: Document?
        var config: Document
        var layers: [Layer]
    }

    var label: String
    var packaging: ImagePackaging
    /// The compression libraries the build used, when known (`zlib 1.3, zstd 1.5.6`).
    var compressors: String?
    /// The stream's digest, for a tar.
    var streamDigest: Digest?
    /// The tar's members and what each is.
    var members: MemberTable?
    var index: Document?
    var layoutMarker: Document?
    /// The docker-archive `manifest.json` (docker-archive and dual).
    var dockerManifest: Document?
    /// At least one; several when an OCI index lists several image manifests.
    var images: [Image]
    /// The image whose layers `openLayer` reads: a diff compares one pair of images at a time.
    var current = 0
    private var cursor: ArchiveCursor?

    var image: Image { images[current] }

    static let manifestMediaTypes: Set<String> = [
        OCIDocuments.manifestMediaType, "application/vnd.docker.distribution.manifest.v2+json",
    ]
    static let configMediaTypes: Set<String> = [
        OCIDocuments.configMediaType, "application/vnd.docker.container.image.v1+json",
    ]
    static let dockerLayerMediaType = "application/vnd.docker.image.rootfs.diff.tar"
    static let dockerGzipLayerMediaType = "application/vnd.docker.image.rootfs.diff.tar.gzip"

    /// How a layer of this media type is stored; nil for what is not a layer.
    static func compression(ofLayerMediaType mediaType: String) -> LayerCompression? {
        switch mediaType {
        case "application/vnd.oci.image.layer.v1.tar", "application/vnd.oci.image.layer.nondistributable.v1.tar", dockerLayerMediaType:
            LayerCompression.none
        case "application/vnd.oci.image.layer.v1.tar+gzip", "application/vnd.oci.image.layer.nondistributable.v1.tar+gzip",
            dockerGzipLayerMediaType, "application/vnd.docker.image.rootfs.foreign.diff.tar.gzip":
            .gzip
        case "application/vnd.oci.image.layer.v1.tar+zstd", "application/vnd.oci.image.layer.nondistributable.v1.tar+zstd":
            .zstd
        default:
            nil
        }
    }

    init(source: ImageSource, compressors: String?) throws {
        switch source {
        case let .archive(input, scan):
            if scan.isOCILayout {
                var store = ArchiveBlobs(scan: scan, cursor: ArchiveCursor(input: input))
                let packaging: ImagePackaging = scan.lastMember(named: DockerManifest.memberName) == nil ? .ociArchive : .dual
                try self.init(layout: &store, label: input.label, packaging: packaging, compressors: compressors)
                cursor = store.cursor
                streamDigest = scan.streamDigest
                members = store.table(images)
            } else {
                try self.init(docker: try ArchiveIndex(scan: scan), scan: scan, compressors: compressors)
                cursor = ArchiveCursor(input: input)
            }
        case let .layout(path):
            var store = DirectoryBlobs(root: path)
            try self.init(layout: &store, label: path, packaging: .ociLayout, compressors: compressors)
        }
    }

    private init(docker index: ArchiveIndex, scan: MemberScan, compressors: String?) throws {
        label = scan.label
        packaging = .dockerArchive
        self.compressors = compressors
        streamDigest = scan.streamDigest
        members = index.table
        dockerManifest = Document(digest: index.manifestDigest, json: index.manifestJSON)
        // A layer stored uncompressed is named by its diffID; a gzipped one (which `build`
        // accepts in a base image) by the diff_id its config lists.
        let listed = try? Self.diffIDs(of: index.configJSON, layerCount: index.layerOrdinals.count, label: label)
        let layers = index.layerOrdinals.enumerated().map { position, ordinal -> Layer in
            let member = scan.members[ordinal]
            let gzipped = member.startsAsGzip
            return Layer(
                diffID: gzipped ? listed?[position] ?? member.digest : member.digest,
                blob: OCIDescriptor(
                    mediaType: gzipped ? Self.dockerGzipLayerMediaType : Self.dockerLayerMediaType, digest: member.digest, size: member.size),
                compression: gzipped ? .gzip : .none, location: .member(ordinal))
        }
        images = [Image(
            name: "image 1", platform: nil, refName: nil, manifest: nil, config: index.config,
            layers: layers)]
    }

    private init<Store: LayoutStore>(layout store: inout Store, label: String, packaging: ImagePackaging, compressors: String?) throws {
        self.label = label
        self.packaging = packaging
        self.compressors = compressors
        let layout = try OCILayout.open(&store, label: label)
        layoutMarker = layout.marker
        index = layout.index
        let names = Self.names(layout.entries)
        images = try zip(layout.entries, names).map { entry, name in
            let image = try layout.image(entry, &store, label: label)
            return Image(
                name: name, platform: entry.platform, refName: entry.refName, manifest: image.manifest, config: image.config,
                layers: image.layers)
        }
        if let dockerBytes = try store.document(DockerManifest.memberName) {
            _ = try DockerManifest.parse(dockerBytes, label: label)
            dockerManifest = Document(
                digest: Digest.of(dockerBytes), json: try OCILayout.parse(dockerBytes, DockerManifest.memberName, label: label))
        }
    }

    /// Each entry's name: its platform and ref name, else its place; a name given twice is
    /// told apart by its occurrence (`image linux/amd64 #2`).
    static func names(_ entries: [OCILayout.Entry]) -> [String] {
        var seen: [String: Int] = [:]
        return entries.map { entry in
            var name = switch (entry.platform, entry.refName) {
            case let (platform?, refName?): "image \(platform) (\(refName))"
            case let (platform?, nil): "image \(platform)"
            case let (nil, refName?): "image \(refName)"
            case (nil, nil): "image \(entry.position + 1)"
            }
            let occurrence = seen[name, default: 0]
            seen[name] = occurrence + 1
            if occurrence > 0 { name += " #\(occurrence + 1)" }
            return name
        }
    }

    /// The config's `rootfs.diff_ids`, one per layer.
    static func diffIDs(of config: JSONValue, layerCount: Int, label: String) throws -> [Digest] {
        guard let values = config.objectValue?["rootfs"]?.objectValue?["diff_ids"]?.arrayValue else {
            throw ArchiveError.invalidMetadata(label, "the config has no rootfs.diff_ids")
        }
        let digests = values.compactMap { value in value.stringValue.flatMap { $0.hasPrefix("sha256:") ? Digest(parsing: $0) : nil } }
        guard digests.count == values.count else {
            throw ArchiveError.invalidMetadata(label, "the config's rootfs.diff_ids holds something other than sha256 digests")
        }
        guard digests.count == layerCount else {
            throw ArchiveError.invalidMetadata(label, "the config lists \(digests.count) diff_ids for \(layerCount) layers")
        }
        return digests
    }

    // MARK: Layers

    /// Layers are the same layer when their diff_ids are, however each is stored.
    var pairingDigests: [Digest] { image.layers.map(\.diffID) }

    /// Which image a layer belongs to, when the input holds several.
    private var imagePrefix: String { images.count > 1 ? "\(image.name) " : "" }

    func layerLabel(_ position: Int) -> String {
        "\(label) (\(imagePrefix)layer \(position + 1), blob \(image.layers[position].blob.digest))"
    }

    /// The decompressed tar of a layer, hashed as it is read so its diff_id can be checked.
    mutating func openLayer(_ position: Int) throws -> TarReader<HashingSource<LayerBlobSource<BlobSource>>> {
        let layer = image.layers[position]
        let label = layerLabel(position)
        let raw: BlobSource
        switch layer.location {
        case let .member(ordinal):
            guard var cursor else { throw ArchiveError.missingMember(self.label, layer.blob.digest.description) }
            raw = BlobSource(label: label, storage: .member(MemberDataSource(outer: try cursor.take(ordinal: ordinal))))
            self.cursor = cursor
        case let .file(path):
            raw = BlobSource(label: label, storage: .file(try RawFileSource(path: path, label: label)))
        }
        return TarReader(source: HashingSource(try LayerBlobSource(raw, compression: layer.compression)), label: label)
    }

    /// Reads what is left of a layer's stream, checks the diff_id, and hands the archive's
    /// reader back for the next layer.
    mutating func closeLayer(_ position: Int, _ reader: inout TarReader<HashingSource<LayerBlobSource<BlobSource>>>) throws {
        try reader.drainTrailer()
        if case let .member(data) = reader.source.inner.inner.storage { cursor?.giveBack(data.outer) }
        let actual = reader.source.hashing.finalize().digest
        let layer = image.layers[position]
        guard actual == layer.diffID else {
            throw ArchiveError.invalidMetadata(
                label, "\(imagePrefix)layer \(position + 1) (blob \(layer.blob.digest)) decompresses to \(actual), not the diff_id \(layer.diffID) its config lists")
        }
    }

    /// Decompresses a layer only to check its diff_id.
    mutating func verifyDiffID(_ position: Int) throws {
        var reader = try openLayer(position)
        let buffer = CopyBuffer(size: 1 << 16)
        while try reader.source.read(into: buffer.bytes) > 0 {}
        try closeLayer(position, &reader)
    }
}

/// A blob's raw bytes: the data of a member of the archive, or a file of the layout.
struct BlobSource: ByteSource {
    enum Storage {
        case member(MemberDataSource<FileSource>)
        case file(RawFileSource)
    }

    let label: String
    var storage: Storage

    mutating func read(into buffer: UnsafeMutableRawBufferPointer) throws -> Int {
        switch storage {
        case var .member(data):
            let got = try data.read(into: buffer)
            storage = .member(data)
            return got
        case let .file(file):
            return try file.read(into: buffer)
        }
    }
}

/// A file read as it is, never decompressed and never through a symlink (a layout's blobs and
/// documents are plain files).
final class RawFileSource: ByteSource {
    let label: String
    let fd: Int32

    init(path: String, label: String) throws {
        self.label = label
        fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW)
        guard fd >= 0 else { throw IOError.open(label, errno: errno) }
        var status = stat()
        guard fstat(fd, &status) == 0 else {
            let code = errno
            close(fd)
            throw IOError.stat(label, errno: code)
        }
        guard status.st_mode & S_IFMT == S_IFREG else {
            close(fd)
            throw ArchiveError.invalidMetadata(label, "not a regular file")
        }
    }

    deinit { close(fd) }

    func read(into buffer: UnsafeMutableRawBufferPointer) throws -> Int {
        while true {
            let count = Glibc.read(fd, buffer.baseAddress, buffer.count)
            if count >= 0 { return count }
            if errno != EINTR { throw IOError.read(label, errno: errno) }
        }
    }
}

/// A layout inside a tar (oci-archive, dual): the first read checked every blob's digest.
struct ArchiveBlobs: LayoutStore {
    let scan: MemberScan
    var cursor: ArchiveCursor

    mutating func document(_ name: String) throws -> [UInt8]? {
        scan.lastMember(named: name).map { scan.kept[$0] ?? [] }
    }

    mutating func blob(_ digest: Digest) throws -> (UInt64, ImageRead.BlobLocation)? {
        guard let ordinal = scan.lastMember(named: OCILayoutNames.blobPath(digest)) else { return nil }
        return (scan.members[ordinal].size, .member(ordinal))
    }

    mutating func bytes(at location: ImageRead.BlobLocation) throws -> [UInt8] {
        guard case let .member(ordinal) = location else { return [] }
        if let kept = scan.kept[ordinal] { return kept }
        var reader = try cursor.take(ordinal: ordinal)
        let bytes = try reader.readAll(limit: DockerManifest.jsonLimit)
        cursor.giveBack(reader)
        return bytes
    }

    /// The archive's members and what each is.
    func table(_ images: [ImageRead.Image]) -> MemberTable {
        var documents: [Int: String] = [:]
        for name in [OCILayoutNames.index, OCILayoutNames.marker, DockerManifest.memberName] {
            if let ordinal = scan.lastMember(named: name) { documents[ordinal] = name }
        }
        let blobs = images.map { image in
            MemberTable.ImageBlobs(
                manifest: image.manifest.flatMap { scan.lastMember(named: OCILayoutNames.blobPath($0.digest)) },
                config: scan.lastMember(named: OCILayoutNames.blobPath(image.config.digest)),
                layers: image.layers.compactMap { layer -> Int? in
                    guard case let .member(ordinal) = layer.location else { return nil }
                    return ordinal
                })
        }
        return MemberTable(members: scan.members, documents: documents, images: blobs)
    }
}

/// A layout directory: each blob it names is hashed whole when first looked up.
struct DirectoryBlobs: LayoutStore {
    let root: String
    /// Sizes of the blobs already hashed: images of one index often share blobs (two ref names
    /// on one manifest share all of them), and each is hashed once.
    private var checked: [Digest: UInt64] = [:]

    init(root: String) { self.root = root }

    /// The file at `path`, or nil when there is none.
    private static func file(_ path: String) throws -> RawFileSource? {
        var status = stat()
        guard lstat(path, &status) == 0 else {
            if errno == ENOENT { return nil }
            throw IOError.stat(path, errno: errno)
        }
        return try RawFileSource(path: path, label: path)
    }

    mutating func document(_ name: String) throws -> [UInt8]? {
        guard var file = try Self.file("\(root)/\(name)") else { return nil }
        return try file.readAll(limit: DockerManifest.jsonLimit)
    }

    mutating func blob(_ digest: Digest) throws -> (UInt64, ImageRead.BlobLocation)? {
        let path = "\(root)/\(OCILayoutNames.blobPath(digest))"
        if let size = checked[digest] { return (size, .file(path)) }
        guard let file = try Self.file(path) else { return nil }
        var hashing = HashingSink()
        let buffer = CopyBuffer(size: 1 << 16)
        while true {
            let got = try file.read(into: buffer.bytes)
            if got == 0 { break }
            try hashing.write(UnsafeRawBufferPointer(rebasing: buffer.bytes[0..<got]))
        }
        let (actual, size) = hashing.finalize()
        guard actual == digest else {
            throw ArchiveError.invalidMetadata(path, "the blob holds bytes whose digest is \(actual), not its name")
        }
        checked[digest] = size
        return (size, .file(path))
    }

    mutating func bytes(at location: ImageRead.BlobLocation) throws -> [UInt8] {
        guard case let .file(path) = location else { return [] }
        var file = try RawFileSource(path: path, label: path)
        return try file.readAll(limit: DockerManifest.jsonLimit)
    }
}
