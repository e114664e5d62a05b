import Builder

/// One full read of a tar of an image (docker-archive, oci-archive or dual): every member's
/// header, digest and size, the stream's digest, and the small members an image's documents
/// may be (kept in memory within a budget; anything else is read again when needed).
///
/// What it reads is validated on the way: a member named by an absolute path or with a `..`
/// component is refused, and a blob of an OCI layout must hold bytes whose digest is its name.
struct MemberScan {
    struct Member {
        var header: TarHeader
        var digest: Digest
        var size: UInt64
        /// Whether the data starts with gzip's magic bytes (a docker-archive layer may be gzipped).
        var startsAsGzip: Bool
    }

    /// A blob up to this size is kept from the first read (configs and manifests are far smaller).
    static let keptBlobLimit: UInt64 = 1 << 20
    /// At most this much blob content is kept per archive; later blobs are read again if needed.
    static let keptBlobBudget = 16 << 20

    var label: String
    var members: [Member]
    /// sha256 of the (decompressed) stream.
    var streamDigest: Digest
    /// Contents of the kept members, by position.
    var kept: [Int: [UInt8]]

    /// Whether the tar holds an OCI image layout (oci-archive or dual).
    var isOCILayout: Bool { lastMember(named: OCILayoutNames.index) != nil }

    func lastMember(named name: String) -> Int? {
        members.lastIndex { $0.header.nameString == name }
    }

    static func read(input: RereadableInput) throws -> MemberScan {
        let label = input.label
        var reader = TarReader(source: HashingSource(try input.firstPass()))
        var members: [Member] = []
        var kept: [Int: [UInt8]] = [:]
        var budget = keptBlobBudget
        while let header = try reader.next() {
            let name = header.nameString
            try checkName(name, label: label)
            let size = header.carriesData ? header.size : 0
            let isBlob = name.hasPrefix(OCILayoutNames.blobPrefix) && header.carriesData
            var keep = try DockerManifest.keeps(name: name, size: size, label: label) || OCILayoutNames.documents.contains(name)
            if OCILayoutNames.documents.contains(name) { try OCILayoutNames.checkDocument(name, size: size, label: label) }
            if isBlob, size <= keptBlobLimit, size <= budget {
                keep = true
                budget -= Int(size)
            }
            var hashing = HashingSink()
            var bytes: [UInt8] = []
            var first: [UInt8] = []
            try reader.forEachChunk { chunk in
                try hashing.write(chunk)
                if first.count < 2 { first += chunk.prefix(2 - first.count) }
                if keep { bytes.append(contentsOf: chunk) }
            }
            let digest = hashing.finalize().digest
            if isBlob { try OCILayoutNames.checkBlob(name, digest: digest, label: label) }
            if keep { kept[members.count] = bytes }
            members.append(Member(header: header, digest: digest, size: size, startsAsGzip: first == [0x1F, 0x8B]))
        }
        try reader.drainTrailer()
        return MemberScan(label: label, members: members, streamDigest: reader.source.hashing.finalize().digest, kept: kept)
    }

    /// Refuses a member name that would leave the archive's root if it were unpacked.
    static func checkName(_ name: String, label: String) throws {
        if name.hasPrefix("/") || name.split(separator: "/", omittingEmptySubsequences: false).contains("..") {
            throw ArchiveError.invalidMetadata(label, "member \(name) is an absolute path or climbs out with '..'; refusing it")
        }
    }
}

/// The fixed names of an OCI image layout (image-layout.md).
enum OCILayoutNames {
    static let index = "index.json"
    static let marker = "oci-layout"
    static let blobPrefix = "blobs/sha256/"
    static let documents: Set<String> = [index, marker]

    static func blobPath(_ digest: Digest) -> String { blobPrefix + digest.hex }

    /// Refuses `index.json` or `oci-layout` larger than any such document, before keeping it.
    static func checkDocument(_ name: String, size: UInt64, label: String) throws {
        guard size <= DockerManifest.jsonLimit else {
            throw ArchiveError.invalidMetadata(label, "\(name) is \(size) bytes, larger than any such document")
        }
    }

    /// Refuses a blob member (`blobs/sha256/…`) whose bytes do not have the digest its name says:
    /// a layout's blobs are content-addressed, and everything else trusts that.
    static func checkBlob(_ name: String, digest: Digest, label: String) throws {
        let hex = String(name.dropFirst(blobPrefix.count))
        guard Digest.isHex64(hex) else {
            throw ArchiveError.invalidMetadata(label, "\(name) is not named by a sha256 digest")
        }
        guard digest.hex == hex else {
            throw ArchiveError.invalidMetadata(label, "blob \(name) holds bytes whose digest is \(digest), not its name")
        }
    }
}
