/// A base image (`fromImage`): a docker-archive tarball, plain or gzip, whose layers are copied
/// first, with their own headers, and whose config supplies diff_ids and Env.
public struct BaseImage: Sendable {
    public struct Member: Sendable {
        public var header: TarHeader
        /// Where the member's data starts in the decompressed stream.
        public var dataOffset: UInt64
    }

    public let path: String
    public let layers: [BaseLayer]
    public let config: JSONObject

    public init(path: String) throws {
        self.path = path
        var reader = TarReader(source: try FileSource(path: path))
        var members: [String: Member] = [:]
        while let header = try reader.next() {
            // CPython's getmember returns the last member of a name.
            members[header.nameString] = Member(header: header, dataOffset: reader.offset)
        }
        func read(_ name: String) throws -> JSONObject {
            guard let member = members[name] else { throw ArchiveError.missingMember(path, name) }
            let bytes = try BaseImage.readMember(path: path, member: member)
            let value: JSONValue
            do { value = try JSONParser.parse(bytes) } catch {
                throw ArchiveError.invalidMetadata(path, "\(name) is not valid JSON (\(error))")
            }
            guard let object = value.objectValue else { throw ArchiveError.invalidMetadata(path, "\(name) is not a JSON object") }
            return object
        }
        guard let manifestMember = members["manifest.json"] else { throw ArchiveError.missingMember(path, "manifest.json") }
        let manifestBytes = try BaseImage.readMember(path: path, member: manifestMember)
        guard let manifest = try? JSONParser.parse(manifestBytes), let first = manifest.arrayValue?.first?.objectValue else {
            throw ArchiveError.invalidMetadata(path, "manifest.json is not a list of image entries")
        }
        guard let configName = first["Config"]?.stringValue else {
            throw ArchiveError.invalidMetadata(path, "manifest.json names no Config")
        }
        guard let layerNames = first["Layers"]?.arrayValue?.compactMap(\.stringValue) else {
            throw ArchiveError.invalidMetadata(path, "manifest.json names no Layers")
        }
        let config = try read(configName)
        guard let diffIDs = config["rootfs"]?.objectValue?["diff_ids"]?.arrayValue?.compactMap(\.stringValue) else {
            throw ArchiveError.invalidMetadata(path, "\(configName) has no rootfs.diff_ids")
        }
        guard diffIDs.count == layerNames.count else {
            throw ArchiveError.invalidMetadata(path, "manifest.json lists \(layerNames.count) layers but \(configName) has \(diffIDs.count) diff_ids")
        }
        var layers: [BaseLayer] = []
        for (name, diffText) in zip(layerNames, diffIDs) {
            guard let member = members[name] else { throw ArchiveError.missingMember(path, name) }
            guard let diffID = Digest(parsing: diffText) else {
                throw ArchiveError.invalidMetadata(path, "\(configName) has a malformed diff_id \(diffText)")
            }
            layers.append(BaseLayer(archivePath: path, member: member, diffID: diffID))
        }
        self.layers = layers
        self.config = config
    }

    /// The base config's `config.Env`, which nixpkgs carries into the new image.
    public var env: [String] {
        config["config"]?.objectValue?["Env"]?.arrayValue?.compactMap(\.stringValue) ?? []
    }

    static func readMember(path: String, member: Member) throws -> [UInt8] {
        var source = try FileSource(path: path)
        let buffer = CopyBuffer(size: 1 << 16)
        try source.skip(member.dataOffset, buffer: buffer)
        let bytes = try source.readUpTo(Int(member.header.size))
        guard bytes.count == Int(member.header.size) else { throw ArchiveError.truncated(path) }
        return bytes
    }
}

/// One layer of a base image, copied byte for byte under its own header.
public struct BaseLayer: Layer {
    public let archivePath: String
    public let member: BaseImage.Member
    public let diffID: Digest

    public var historyPaths: [String] { [member.header.nameString] }
    public var declaredDiffID: Digest? { diffID }

    public func outerHeader(name: String, size: UInt64, mtime: Int) -> TarHeader { member.header }

    public var estimatedCost: UInt64 { member.header.size }

    /// A raw digest other than the diff_id is fine when the member is a gzipped layer whose
    /// uncompressed tar has that diff_id.
    public func verify(firstPass digest: Digest, buffer: CopyBuffer) throws {
        guard digest != diffID else { return }
        let content = try contentDigest(buffer: buffer)
        guard content == diffID else {
            throw ImageBuildError.baseLayerMismatch(archive: archivePath, member: memberName, declared: diffID, actual: content)
        }
    }

    /// The outer member keeps the base archive's name, not `<diffID>/layer.tar`.
    public var memberName: String { member.header.nameString }

    public func write<S: ByteSink>(to sink: inout S, buffer: CopyBuffer) throws {
        var source = try FileSource(path: archivePath)
        try source.skip(member.dataOffset, buffer: buffer)
        var remaining = member.header.size
        while remaining > 0 {
            let want = Int(min(UInt64(buffer.bytes.count), remaining))
            let got = try source.read(into: UnsafeMutableRawBufferPointer(rebasing: buffer.bytes[0..<want]))
            guard got > 0 else { throw ArchiveError.truncated(archivePath) }
            try sink.write(UnsafeRawBufferPointer(rebasing: buffer.bytes[0..<got]))
            remaining -= UInt64(got)
        }
    }

    /// The digest of the layer's uncompressed tar, which is what a diff_id names; a docker
    /// archive may hold a layer gzipped.
    public func contentDigest(buffer: CopyBuffer) throws -> Digest {
        var head = MemorySink()
        var probe = PrefixSink(limit: 2, inner: head)
        try? write(to: &probe, buffer: buffer)
        head = probe.inner
        guard head.bytes == [0x1F, 0x8B] else { return try measure(buffer: buffer).digest }
        var sink = HashingSink()
        var inflating = try GunzipSink(inner: sink, label: archivePath)
        try write(to: &inflating, buffer: buffer)
        try inflating.finish()
        sink = inflating.inner
        return sink.finalize().digest
    }
}

/// Keeps only the first `limit` bytes, then stops the writer by throwing.
struct PrefixSink<Inner: ByteSink>: ByteSink {
    struct Enough: Error {}
    let limit: Int
    var inner: Inner
    private var seen = 0

    init(limit: Int, inner: Inner) {
        self.limit = limit
        self.inner = inner
    }

    mutating func write(_ bytes: UnsafeRawBufferPointer) throws {
        let take = min(limit - seen, bytes.count)
        if take > 0 { try inner.write(UnsafeRawBufferPointer(rebasing: bytes[0..<take])) }
        seen += take
        if seen >= limit { throw Enough() }
    }

    mutating func flush() throws {}
}
