import Builder

/// What the hasher learned about one image stream.
public struct ArchiveHashResult: Sendable, Codable, Equatable {
    /// sha256 of the whole stream as received (the image digest the harness compares).
    public var archiveDigest: Digest
    public var size: UInt64
    /// sha256 of the config member (`<hex>.json`): the image ID.
    public var configDigest: Digest
    /// Of `manifest.json` for a docker-archive; of the OCI manifest (what a registry shows)
    /// for an OCI format.
    public var manifestDigest: Digest
    /// A docker-archive's `RepoTags`; an OCI index's tag annotation.
    public var repoTags: [String]
    /// In the order the manifest lists them; `index` is 1-based, as in `layer N`. An OCI
    /// layer carries its blob; its `diffID` is the config's and `size` is the blob's.
    public var layers: [LayerResult]
}

/// A `ByteSink` fed an image stream as it arrives (a child's stdout, in chunks of any size)
/// that digests the stream, its config and manifest, and each layer member, without keeping
/// the archive: only the small JSON members are held.
///
/// A docker-archive is resolved through `manifest.json`; an oci-archive through `oci-layout`
/// and `index.json` (``OCIArchiveView``), every `blobs/sha256/…` member checked against its
/// name as it passes; a dual archive both ways, and the two views must name the same config
/// and layer blobs.
///
/// The outer tar is parsed incrementally because chunk boundaries fall anywhere, including
/// inside a header block. After the first error every write fails with it, so a damaged stream
/// is never half-accounted.
public struct ArchiveHasher: ByteSink {
    public let label: String
    public let format: ImageFormat
    private var whole = HashingSink()
    private var phase = Phase.header
    private var block: [UInt8] = []
    private var assembler: TarHeaderAssembler
    private var current = Current.none
    private var members: [HashedMember] = []
    /// Members kept whole, by name (a later member of a name replaces an earlier one).
    private var kept: [String: [UInt8]] = [:]
    private var keptBytes: UInt64 = 0
    private var failure: ArchiveError?
    private var sawHeader = false

    private enum Phase: Equatable {
        case header
        case data(remaining: UInt64)
        case padding(remaining: Int)
        /// After the end-of-archive block; the rest (record padding, bounded as the reader
        /// bounds it) is only hashed.
        case end(trailer: UInt64)
    }

    private enum Current {
        case none
        case meta([UInt8])
        /// `sniff`: keep the member only if its first byte opens a JSON object (an OCI blob
        /// may be the config or manifest, or a layer that is never kept).
        case member(name: String, hashing: HashingSink, kept: [UInt8]?, sniff: Bool)
    }

    /// What an OCI stream may keep in memory altogether: its index, manifest and config are
    /// far smaller; small blobs that merely look like JSON count too, so the bound is hard.
    /// A variable only so tests need not stream this much.
    var keptLimit = ByteLimits.document

    private struct HashedMember {
        var name: String
        var digest: Digest
        var size: UInt64
    }

    /// `label` names the stream in errors (`control build's stdout`, a file path); `format`
    /// is what the stream must be (`oci-layout` is read as the oci-archive of that layout).
    public init(label: String, format: ImageFormat = .dockerArchive) {
        self.label = label
        self.format = format
        assembler = TarHeaderAssembler(label: label)
        block.reserveCapacity(TarLayout.blockSize)
    }

    public mutating func write(_ bytes: UnsafeRawBufferPointer) throws {
        if let failure { throw failure }
        try whole.write(bytes)
        do {
            try parse(bytes)
        } catch let error as ArchiveError {
            failure = error
            throw error
        }
    }

    public mutating func flush() throws {}

    /// The results once the stream has ended; fails if it stopped inside a member or lacks
    /// the manifest, the config or a layer the manifest lists.
    public func finish() throws -> ArchiveHashResult {
        if let failure { throw failure }
        switch phase {
        case .end: break
        case .header where block.isEmpty: break  // CPython accepts a missing end-of-archive marker.
        default: throw ArchiveError.truncated(label)
        }
        let (archiveDigest, size) = whole.finalize()
        switch format {
        case .dockerArchive:
            return try dockerView(archiveDigest: archiveDigest, size: size)
        case .ociArchive, .ociLayout:
            return try ociView(archiveDigest: archiveDigest, size: size)
        case .dual:
            let oci = try ociView(archiveDigest: archiveDigest, size: size)
            let docker = try dockerView(archiveDigest: archiveDigest, size: size)
            guard docker.configDigest == oci.configDigest else {
                throw ArchiveError.invalidMetadata(
                    label, "manifest.json names config \(docker.configDigest) but the OCI manifest \(oci.configDigest)")
            }
            let dockerLayers = docker.layers.map(\.diffID), ociLayers = oci.layers.compactMap(\.blob?.digest)
            guard dockerLayers == ociLayers else {
                throw ArchiveError.invalidMetadata(
                    label, "manifest.json lists layers \(dockerLayers.map(\.description).joined(separator: ", ")) "
                        + "but the OCI manifest \(ociLayers.map(\.description).joined(separator: ", "))")
            }
            return oci
        }
    }

    private func dockerView(archiveDigest: Digest, size: UInt64) throws -> ArchiveHashResult {
        guard let manifestBytes = kept[DockerManifest.memberName] else {
            throw ArchiveError.missingMember(label, DockerManifest.memberName)
        }
        let manifest = try DockerManifest.parse(manifestBytes, label: label)
        guard let configBytes = kept[manifest.configName] else {
            throw ArchiveError.missingMember(label, manifest.configName)
        }
        let config = try ImageConfigHistory.parse(configBytes, label: label)
        let paths = ImageConfigHistory.layerPaths(config: config, layerCount: manifest.layers.count)

        // A name listed twice refers to successive members of that name; in a dual archive,
        // identical layers share one blob, stored once.
        var used: [String: Int] = [:]
        var layers: [LayerResult] = []
        for (index, name) in manifest.layers.enumerated() {
            let occurrence = used[name, default: 0]
            used[name] = occurrence + 1
            let matching = members.filter { $0.name == name }
            guard let member = occurrence < matching.count ? matching[occurrence] : format == .dual ? matching.last : nil else {
                throw ArchiveError.missingMember(label, name)
            }
            layers.append(LayerResult(index: index + 1, diffID: member.digest, size: member.size, paths: paths[index]))
        }
        return ArchiveHashResult(
            archiveDigest: archiveDigest, size: size, configDigest: Digest.of(configBytes),
            manifestDigest: Digest.of(manifestBytes), repoTags: manifest.repoTags, layers: layers
        )
    }

    private func ociView(archiveDigest: Digest, size: UInt64) throws -> ArchiveHashResult {
        var blobs: [Digest: OCIArchiveView.Blob] = [:]
        for (ordinal, member) in members.enumerated() where member.name.hasPrefix(OCILayoutNames.blobPrefix) {
            blobs[member.digest] = OCIArchiveView.Blob(digest: member.digest, size: member.size, ordinal: ordinal)
        }
        let resolved = try OCIArchiveView(label: label, kept: kept, blobs: blobs).resolve()
        let layers = resolved.layers.enumerated().map { index, layer in
            LayerResult(
                index: index + 1, diffID: layer.diffID, size: layer.blob.size, paths: resolved.paths[index],
                blob: LayerBlob(
                    digest: layer.blob.digest, size: layer.blob.size, mediaType: layer.blob.mediaType,
                    compression: layer.compression, compressorVersion: nil))
        }
        return ArchiveHashResult(
            archiveDigest: archiveDigest, size: size, configDigest: resolved.config.digest,
            manifestDigest: resolved.manifest.digest, repoTags: resolved.tag.map { [$0] } ?? [], layers: layers)
    }

    /// Whether a member is kept whole (`sniff`: only if it turns out to be JSON).
    private func keeps(name: String, size: UInt64) throws -> (keep: Bool, sniff: Bool) {
        if format != .ociArchive && format != .ociLayout, try DockerManifest.keeps(name: name, size: size, label: label) {
            return (true, false)
        }
        guard format.isOCI else { return (false, false) }
        if OCILayoutNames.documents.contains(name) {
            try OCILayoutNames.checkDocument(name, size: size, label: label)
            return (true, false)
        }
        if name.hasPrefix(OCILayoutNames.blobPrefix), size <= DockerManifest.jsonLimit { return (true, true) }
        return (false, false)
    }

    private mutating func parse(_ bytes: UnsafeRawBufferPointer) throws {
        var offset = 0
        while offset < bytes.count {
            let available = bytes.count - offset
            switch phase {
            case .header:
                let take = min(TarLayout.blockSize - block.count, available)
                block.append(contentsOf: UnsafeRawBufferPointer(rebasing: bytes[offset..<(offset + take)]))
                offset += take
                if block.count == TarLayout.blockSize {
                    try headerComplete()
                    block.removeAll(keepingCapacity: true)
                }
            case let .data(remaining):
                let take = Int(min(UInt64(available), remaining))
                try consume(UnsafeRawBufferPointer(rebasing: bytes[offset..<(offset + take)]))
                offset += take
                if remaining == UInt64(take) {
                    try memberComplete()
                } else {
                    phase = .data(remaining: remaining - UInt64(take))
                }
            case let .padding(remaining):
                let take = min(available, remaining)
                offset += take
                phase = remaining == take ? .header : .padding(remaining: remaining - take)
            case let .end(trailer):
                let total = trailer + UInt64(available)
                guard total <= TarLayout.trailerLimit else { throw ArchiveError.endless(label) }
                phase = .end(trailer: total)
                offset = bytes.count
            }
        }
    }

    private mutating func headerComplete() throws {
        if !sawHeader, block.starts(with: [0x1F, 0x8B]) {
            throw ArchiveError.corrupt(label, "it is gzip-compressed, but a build streams an uncompressed \(format.rawValue)")
        }
        sawHeader = true
        switch try assembler.accept(block: block) {
        case .end:
            phase = .end(trailer: 0)
        case let .meta(size):
            current = .meta([])
            try begin(size: size)
        case let .member(header):
            let name = header.nameString
            let size = header.carriesData ? header.size : 0
            let (keep, sniff) = try keeps(name: name, size: size)
            current = .member(name: name, hashing: HashingSink(), kept: keep ? [] : nil, sniff: sniff)
            try begin(size: size)
        }
    }

    private mutating func begin(size: UInt64) throws {
        if size == 0 {
            try memberComplete()
        } else {
            phase = .data(remaining: size)
        }
    }

    private mutating func consume(_ chunk: UnsafeRawBufferPointer) throws {
        switch current {
        case .none:
            break
        case var .meta(bytes):
            current = .none  // Drop the reference so the append does not copy.
            bytes.append(contentsOf: chunk)
            current = .meta(bytes)
        case .member(let name, var hashing, var kept, var sniff):
            current = .none
            try hashing.write(chunk)
            if sniff, let first = chunk.first {
                sniff = false
                if first != UInt8(ascii: "{") { kept = nil }
            }
            if kept != nil {
                keptBytes += UInt64(chunk.count)
                guard !format.isOCI || keptBytes <= keptLimit else {
                    throw ArchiveError.invalidMetadata(
                        label, "its JSON members add up to more than \(keptLimit) bytes, more than an image's metadata")
                }
                kept?.append(contentsOf: chunk)
            }
            current = .member(name: name, hashing: hashing, kept: kept, sniff: sniff)
        }
    }

    private mutating func memberComplete() throws {
        var size: UInt64 = 0
        switch current {
        case .none:
            break
        case let .meta(bytes):
            size = UInt64(bytes.count)
            try assembler.acceptMeta(bytes)
        case let .member(name, hashing, kept, _):
            let (digest, count) = hashing.finalize()
            size = count
            members.append(HashedMember(name: name, digest: digest, size: count))
            if format.isOCI, name.hasPrefix(OCILayoutNames.blobPrefix) { try OCILayoutNames.checkBlob(name, digest: digest, label: label) }
            if let kept { self.kept[name] = kept }
        }
        current = .none
        let padding = TarLayout.padding(for: size)
        phase = padding == 0 ? .header : .padding(remaining: padding)
    }
}
