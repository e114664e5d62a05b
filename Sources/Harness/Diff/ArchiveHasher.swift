import Builder

/// What the hasher learned about one docker-archive stream.
public struct ArchiveHashResult: Sendable, Codable, Equatable {
    /// sha256 of the whole stream as received (the image digest the harness compares).
    public var archiveDigest: Digest
    public var size: UInt64
    /// sha256 of the config member (`<hex>.json`): the image ID.
    public var configDigest: Digest
    public var manifestDigest: Digest
    public var repoTags: [String]
    /// In the order manifest.json lists them; `index` is 1-based, as in `layer N`.
    public var layers: [LayerResult]
}

/// A `ByteSink` fed a docker-archive stream as it arrives (a child's stdout, in chunks of any
/// size) that digests the stream, its config and manifest, and each layer member, without
/// keeping the archive: only the small JSON members are held.
///
/// The outer tar is parsed incrementally because chunk boundaries fall anywhere, including
/// inside a header block. After the first error every write fails with it, so a damaged stream
/// is never half-accounted.
public struct ArchiveHasher: ByteSink {
    public let label: String
    private var whole = HashingSink()
    private var phase = Phase.header
    private var block: [UInt8] = []
    private var assembler: TarHeaderAssembler
    private var current = Current.none
    private var members: [HashedMember] = []
    private var manifestBytes: [UInt8]?
    private var keptJSON: [String: [UInt8]] = [:]
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
        case member(name: String, hashing: HashingSink, kept: [UInt8]?)
    }

    private struct HashedMember {
        var name: String
        var digest: Digest
        var size: UInt64
    }

    /// `label` names the stream in errors (`control build's stdout`, a file path).
    public init(label: String) {
        self.label = label
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
        guard let manifestBytes else { throw ArchiveError.missingMember(label, DockerManifest.memberName) }
        let manifest = try DockerManifest.parse(manifestBytes, label: label)
        guard let configBytes = keptJSON[manifest.configName] else {
            throw ArchiveError.missingMember(label, manifest.configName)
        }
        let config = try ImageConfigHistory.parse(configBytes, label: label)
        let paths = ImageConfigHistory.layerPaths(config: config, layerCount: manifest.layers.count)

        // A name listed twice refers to successive members of that name.
        var used: [String: Int] = [:]
        var layers: [LayerResult] = []
        for (index, name) in manifest.layers.enumerated() {
            let occurrence = used[name, default: 0]
            used[name] = occurrence + 1
            let matching = members.filter { $0.name == name }
            guard occurrence < matching.count else { throw ArchiveError.missingMember(label, name) }
            let member = matching[occurrence]
            layers.append(LayerResult(index: index + 1, diffID: member.digest, size: member.size, paths: paths[index]))
        }
        let (archiveDigest, size) = whole.finalize()
        return ArchiveHashResult(
            archiveDigest: archiveDigest, size: size, configDigest: Digest.of(configBytes),
            manifestDigest: Digest.of(manifestBytes), repoTags: manifest.repoTags, layers: layers
        )
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
            throw ArchiveError.corrupt(label, "it is gzip-compressed, but a build streams an uncompressed docker-archive")
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
            let keep = try DockerManifest.keeps(name: name, size: size, label: label)
            current = .member(name: name, hashing: HashingSink(), kept: keep ? [] : nil)
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
        case .member(let name, var hashing, var kept):
            current = .none
            try hashing.write(chunk)
            kept?.append(contentsOf: chunk)
            current = .member(name: name, hashing: hashing, kept: kept)
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
        case let .member(name, hashing, kept):
            let (digest, count) = hashing.finalize()
            size = count
            members.append(HashedMember(name: name, digest: digest, size: count))
            if let kept {
                if name == DockerManifest.memberName { manifestBytes = kept } else { keptJSON[name] = kept }
            }
        }
        current = .none
        let padding = TarLayout.padding(for: size)
        phase = padding == 0 ? .header : .padding(remaining: padding)
    }
}
