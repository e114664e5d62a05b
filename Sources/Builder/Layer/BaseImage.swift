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

    /// Reads the archive once (it may be a pipe: `RereadableInput` keeps a copy for the layer
    /// passes), keeping only member positions and the small JSON members.
    public init(path: String) throws {
        self.path = path
        let input = try RereadableInput(path: path)
        var reader = TarReader(source: try input.firstPass())
        var members: [String: Member] = [:]
        var kept: [String: [UInt8]] = [:]
        while let header = try reader.next() {
            let name = header.nameString
            // Members are copied into the new image under their own headers: a name that
            // escapes the archive root must never get that far.
            if name.hasPrefix("/") || name.split(separator: "/", omittingEmptySubsequences: false).contains("..") {
                throw ArchiveError.invalidMetadata(path, "member \(name) has an absolute path or a .. component, which an image must not carry")
            }
            // CPython's getmember returns the last member of a name.
            members[name] = Member(header: header, dataOffset: reader.offset)
            if try DockerManifest.keeps(name: name, size: header.carriesData ? header.size : 0, label: path) {
                kept[name] = try reader.readAll(limit: DockerManifest.jsonLimit)
            } else {
                kept[name] = nil
            }
        }
        guard let manifestBytes = kept[DockerManifest.memberName] else { throw ArchiveError.missingMember(path, DockerManifest.memberName) }
        let manifest = try DockerManifest.parse(manifestBytes, label: path)
        let configName = manifest.configName
        guard let configMember = members[configName] else { throw ArchiveError.missingMember(path, configName) }
        // A config not named like one (`<hex>.json`) was not kept on the way; read it again.
        let configBytes = try kept[configName] ?? BaseImage.readMember(input: input, member: configMember)
        let config: JSONObject
        do {
            guard let object = try JSONParser.parse(configBytes).objectValue else {
                throw ArchiveError.invalidMetadata(path, "\(configName) is not a JSON object")
            }
            config = object
        } catch let error as ArchiveError {
            throw error
        } catch {
            throw ArchiveError.invalidMetadata(path, "\(configName) is not valid JSON (\(error))")
        }
        guard let diffIDs = config["rootfs"]?.objectValue?["diff_ids"]?.arrayValue?.compactMap(\.stringValue) else {
            throw ArchiveError.invalidMetadata(path, "\(configName) has no rootfs.diff_ids")
        }
        guard diffIDs.count == manifest.layers.count else {
            throw ArchiveError.invalidMetadata(path, "manifest.json lists \(manifest.layers.count) layers but \(configName) has \(diffIDs.count) diff_ids")
        }
        var layers: [BaseLayer] = []
        for (name, diffText) in zip(manifest.layers, diffIDs) {
            guard let member = members[name] else { throw ArchiveError.missingMember(path, name) }
            guard member.header.isRegular else {
                throw ArchiveError.invalidMetadata(path, "layer member \(name) is not a regular file")
            }
            guard let diffID = Digest(parsing: diffText) else {
                throw ArchiveError.invalidMetadata(path, "\(configName) has a malformed diff_id \(diffText)")
            }
            layers.append(BaseLayer(input: input, member: member, diffID: diffID))
        }
        self.layers = layers
        self.config = config
    }

    /// The base config's `config.Env`, which nixpkgs carries into the new image.
    public var env: [String] {
        config["config"]?.objectValue?["Env"]?.arrayValue?.compactMap(\.stringValue) ?? []
    }

    private static func readMember(input: RereadableInput, member: Member) throws -> [UInt8] {
        let size = member.header.carriesData ? member.header.size : 0
        guard size <= DockerManifest.jsonLimit else {
            throw ArchiveError.invalidMetadata(input.label, "\(member.header.nameString) is \(size) bytes, larger than any config")
        }
        var source = try input.reopen()
        try source.skip(member.dataOffset, buffer: CopyBuffer(size: 1 << 16))
        let bytes = try source.readUpTo(Int(size))
        guard bytes.count == Int(size) else { throw ArchiveError.truncated(input.label) }
        return bytes
    }
}

/// One layer of a base image, copied byte for byte under its own header.
public struct BaseLayer: Layer {
    let input: RereadableInput
    public let member: BaseImage.Member
    public let diffID: Digest

    public var archivePath: String { input.label }

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
        var source = try input.reopen()
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
