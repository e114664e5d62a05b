import Builder

/// Explains how two images differ, the way diffoci and diffoscope do: down to the layer, the
/// entry path and the header field, or the config key path. Two docker-archives are compared
/// here; anything involving an OCI layout (oci-archive, dual, oci-layout) by `ImageDiff`.
///
/// Causes come first: entries inside layers, layers present on one side or moved, config and
/// manifest keys that differ by themselves, outer member headers. What merely follows from
/// them (layer digests, `rootfs.diff_ids`, the manifest's `Config` and `Layers`) is said once,
/// last. Layers are paired by digest, so a layer moved to another position is the same layer.
///
/// Each archive is read once to index its members and keep its two JSON documents; the layers
/// that differ are then streamed again, pairwise. Memory holds member and entry metadata (and
/// small files of a layer whose entries no longer line up, within a budget), never a layer.
public enum ArchiveDiff {
    /// Past this many differences in one part (a layer, the config), the rest are counted.
    public static let defaultLimit = 50

    /// The differences between `control` and `experiment`: docker-archive files (optionally
    /// gzip-compressed), oci-archive or dual files, or oci-layout directories, in any pairing;
    /// empty when their streams are identical. `compressors` names the compression libraries
    /// each build used, when known, so a blob compressed differently can say which.
    public static func compare(
        control: String, experiment: String, limit: Int = defaultLimit, compressors: (control: String?, experiment: String?) = (nil, nil)
    ) throws -> [Difference] {
        // Either may be a pipe: each is read once to index it, and again (from a spooled copy
        // if it is not a regular file) for the layers that differ.
        let sourceA = try ImageSource.open(control)
        let sourceB = try ImageSource.open(experiment)
        if case let .archive(inputA, scanA) = sourceA, case let .archive(inputB, scanB) = sourceB {
            if scanA.streamDigest == scanB.streamDigest { return [] }
            if !scanA.isOCILayout && !scanB.isOCILayout {
                return try compareDocker(
                    try ArchiveIndex(scan: scanA), try ArchiveIndex(scan: scanB), inputA: inputA, inputB: inputB, limit: limit)
            }
        }
        var a = try ImageRead(source: sourceA, compressors: compressors.control)
        var b = try ImageRead(source: sourceB, compressors: compressors.experiment)
        return try ImageDiff.compare(&a, &b, limit: limit)
    }

    /// Two docker-archives: members matched by role, layers by digest.
    private static func compareDocker(
        _ a: ArchiveIndex, _ b: ArchiveIndex, inputA: RereadableInput, inputB: RereadableInput, limit: Int
    ) throws -> [Difference] {
        var findings = Findings()
        var layersA = DockerLayers(index: a, input: inputA)
        var layersB = DockerLayers(index: b, input: inputB)
        let layersDiffer = findings.addLayers(try LayerComparison.compare(&layersA, &layersB, limit: limit))
        let configDiffers = findings.addConfig(a.config, b.config, layer: "config", limit: limit, layersDiffer: layersDiffer)

        // The manifest: `Config` and `Layers` name the config and layers by digest.
        findings.add(jsonDifferences(
            a.manifestJSON, b.manifestJSON, kind: .manifestField, layer: DockerManifest.memberName, limit: limit,
            digests: (a.manifestDigest, b.manifestDigest),
            derived: dockerManifestConsequence(configDiffers: configDiffers, layersDiffer: layersDiffer)))

        var archive = DifferenceCollector(layer: nil, limit: limit)
        compareMembers(a.table, b.table, into: &archive)
        findings.causes += archive.differences
        // The streams differ: equal ones were answered before either archive was indexed.
        return findings.result(streams: (a.streamDigest, b.streamDigest))
    }

    /// The causes, then one line naming what follows from them, in a fixed order.
    static func withConsequences(_ causes: [Difference], _ consequences: Set<Difference.Consequence>) -> [Difference] {
        guard !consequences.isEmpty else { return causes }
        return causes + [Difference(
            kind: .derived, layer: nil, path: nil, field: "follows from the above",
            consequences: Difference.Consequence.allCases.filter(consequences.contains))]
    }

    /// A JSON document's differences, split into causes (at most `limit`, the rest counted) and
    /// the consequences `derived` names for a key path. Given the documents' `digests`, equal
    /// JSON in other bytes (key order, spacing) is one `bytes` cause, so it is never silent.
    static func jsonDifferences(
        _ a: JSONValue, _ b: JSONValue, kind: Difference.Kind, layer: String, limit: Int,
        digests: (control: Digest, experiment: Digest)? = nil, derived: (String?) -> Difference.Consequence?
    ) -> (causes: [Difference], consequences: Set<Difference.Consequence>) {
        var all = DifferenceCollector(layer: layer, limit: .max)
        JSONDiff.compare(a, b, path: "", kind: kind, into: &all)
        return split(all.differences, kind: kind, layer: layer, limit: limit, digests: digests, derived: derived)
    }

    /// A document's differences split into causes (at most `limit`) and the consequences
    /// `derived` names, as ``jsonDifferences`` makes them.
    static func split(
        _ differences: [Difference], kind: Difference.Kind, layer: String, limit: Int,
        digests: (control: Digest, experiment: Digest)? = nil, derived: (String?) -> Difference.Consequence?
    ) -> (causes: [Difference], consequences: Set<Difference.Consequence>) {
        var causes = DifferenceCollector(layer: layer, limit: limit)
        var consequences: Set<Difference.Consequence> = []
        for difference in differences {
            if let consequence = derived(difference.path) {
                consequences.insert(consequence)
            } else {
                causes.add(difference)
            }
        }
        if let digests, causes.isEmpty, consequences.isEmpty, digests.control != digests.experiment {
            causes.add(kind, path: nil, field: "bytes", control: digests.control.description, experiment: digests.experiment.description)
        }
        return (causes.differences, consequences)
    }

    /// What a config key restates: `rootfs.diff_ids` only lists the layers.
    static func configConsequence(layersDiffer: Bool) -> (String?) -> Difference.Consequence? {
        { path in layersDiffer && path?.hasPrefix("rootfs.diff_ids") == true ? .diffIDs : nil }
    }

    /// What a docker-archive `manifest.json` key restates: `Config` names the config, `Layers`
    /// the layer members.
    static func dockerManifestConsequence(configDiffers: Bool, layersDiffer: Bool) -> (String?) -> Difference.Consequence? {
        { path in
            switch path.flatMap(manifestKey) {
            case "Config" where configDiffers: .manifestConfig
            case "Layers" where layersDiffer: .manifestLayers
            default: nil
            }
        }
    }

    /// The top-level key of a manifest key path: `Layers` for `[0].Layers[1]`.
    static func manifestKey(_ path: String) -> String? {
        guard path.hasPrefix("["), let close = path.firstIndex(of: "]") else { return nil }
        let rest = path[path.index(after: close)...]
        guard rest.hasPrefix(".") else { return nil }
        return String(rest.dropFirst().prefix { $0 != "[" && $0 != "." })
    }

    /// `layer 2 (0a1b2c3d4e5f)`, with both short digests when they differ, and both positions
    /// when the paired layers sit at different places.
    static func layerName(_ positionA: Int, _ positionB: Int?, _ a: Digest, _ b: Digest?) -> String {
        let shortA = String(a.hex.prefix(12))
        let shortB = b.map { String($0.hex.prefix(12)) }
        let ids = shortB == nil || shortB == shortA ? shortA : "\(shortA) vs \(shortB ?? "")"
        let place = positionB == nil || positionB == positionA
            ? "layer \(positionA + 1)" : "layer \(positionA + 1) vs \((positionB ?? 0) + 1)"
        return "\(place) (\(ids))"
    }

    /// The outer members themselves: which exist, their order, and their header fields.
    /// Members are matched by role (the manifest, the config, layer N) because a layer's or
    /// config's name is its digest, already reported where the content differs.
    static func compareMembers(_ a: MemberTable, _ b: MemberTable, into collector: inout DifferenceCollector) {
        let rolesA = a.roles, rolesB = b.roles
        let blobsA = a.imageOrdinals, blobsB = b.imageOrdinals
        let byRoleA = Dictionary(zip(rolesA, a.members.indices).map { ($0, $1) }, uniquingKeysWith: { first, _ in first })
        let byRoleB = Dictionary(zip(rolesB, b.members.indices).map { ($0, $1) }, uniquingKeysWith: { first, _ in first })
        let sharedA = rolesA.filter { byRoleB[$0] != nil }
        let sharedB = rolesB.filter { byRoleA[$0] != nil }
        if let moved = zip(sharedA, sharedB).first(where: { $0 != $1 })?.0, let indexA = byRoleA[moved], let indexB = byRoleB[moved] {
            collector.add(.member, path: a.members[indexA].header.nameString, field: "order", control: "member \(indexA + 1)", experiment: "member \(indexB + 1)")
        }
        for (role, indexA) in zip(rolesA, a.members.indices) {
            let header = a.members[indexA].header
            guard let indexB = byRoleB[role] else {
                // A layer (or image) on one side only is said where they are compared.
                if !blobsA.contains(indexA) {
                    collector.add(.member, path: header.nameString, field: "only in control", control: EntryFields.describe(header), side: .control)
                }
                continue
            }
            let other = b.members[indexB].header
            for difference in EntryFields.differences(header, other, includeSize: false) {
                collector.add(.member, path: header.nameString, field: difference.field, control: difference.control, experiment: difference.experiment)
            }
        }
        for (role, indexB) in zip(rolesB, b.members.indices) where byRoleA[role] == nil && !blobsB.contains(indexB) {
            let header = b.members[indexB].header
            collector.add(.member, path: header.nameString, field: "only in experiment", experiment: EntryFields.describe(header), side: .experiment)
        }
    }
}

/// An archive's members with what each is (`manifest.json`, `config`, `layer 2`…), for matching
/// members across archives whose names are digests.
struct MemberTable {
    /// One image's blobs by member position.
    struct ImageBlobs {
        /// The OCI manifest (a docker-archive has none).
        var manifest: Int?
        var config: Int?
        /// In manifest order.
        var layers: [Int]
    }

    var members: [MemberScan.Member]
    /// The documents by position (`manifest.json`, `index.json`, `oci-layout`).
    var documents: [Int: String]
    var images: [ImageBlobs]
    /// What each image's roles begin with (`image linux/arm64 `): the diff sets the same on
    /// both sides for images it pairs; nothing when the archive holds one image.
    var prefixes: [String]

    init(members: [MemberScan.Member], documents: [Int: String], images: [ImageBlobs]) {
        self.members = members
        self.documents = documents
        self.images = images
        prefixes = images.map { _ in "" }
    }

    /// Members that are an image's blobs: one on a side only is said where images are compared.
    var imageOrdinals: Set<Int> {
        Set(images.flatMap { [$0.manifest, $0.config].compactMap { $0 } + $0.layers })
    }

    var roles: [String] {
        // The first role given to a member is its role (a layer two images share is the first's).
        var named = documents
        for (blobs, prefix) in zip(images, prefixes) {
            if let ordinal = blobs.manifest, named[ordinal] == nil { named[ordinal] = prefix + "manifest" }
            if let ordinal = blobs.config, named[ordinal] == nil { named[ordinal] = prefix + "config" }
            for (position, ordinal) in blobs.layers.enumerated() where named[ordinal] == nil {
                named[ordinal] = prefix + "layer \(position + 1)"
            }
        }
        var seen: [String: Int] = [:]
        return members.indices.map { ordinal in
            var role = named[ordinal] ?? members[ordinal].header.nameString
            let occurrence = seen[role, default: 0]
            seen[role] = occurrence + 1
            if occurrence > 0 { role += " #\(occurrence + 1)" }
            return role
        }
    }
}

/// A docker-archive's members and JSON documents, from a first full read.
struct ArchiveIndex {
    var path: String
    var members: [MemberScan.Member]
    /// sha256 of the (decompressed) stream.
    var streamDigest: Digest
    var manifestDigest: Digest
    var manifestJSON: JSONValue
    var configDigest: Digest
    var configJSON: JSONValue
    /// Member positions of the manifest's Layers, in manifest order.
    var layerOrdinals: [Int]
    var manifestOrdinal: Int
    var configOrdinal: Int

    var config: ImageRead.Document { ImageRead.Document(digest: configDigest, json: configJSON) }

    /// Each layer's digest (its diffID when stored uncompressed), in manifest order.
    var layerDigests: [Digest] { layerOrdinals.map { members[$0].digest } }

    init(scan: MemberScan) throws {
        let path = scan.label
        let members = scan.members
        // The last copy wins, as when docker loads an archive with a repeated name.
        guard let manifestOrdinal = scan.lastMember(named: DockerManifest.memberName),
              let manifestBytes = scan.kept[manifestOrdinal]
        else { throw ArchiveError.missingMember(path, DockerManifest.memberName) }
        let manifest = try DockerManifest.parse(manifestBytes, label: path)
        // Already parsed once by DockerManifest.parse, so this cannot fail.
        let manifestJSON = (try? JSONParser.parse(manifestBytes)) ?? .null
        guard let configOrdinal = scan.lastMember(named: manifest.configName),
              let configBytes = scan.kept[configOrdinal]
        else { throw ArchiveError.missingMember(path, manifest.configName) }
        let configJSON = try ImageConfigHistory.parse(configBytes, label: path)

        var used: [String: Int] = [:]
        var layerOrdinals: [Int] = []
        for name in manifest.layers {
            let occurrence = used[name, default: 0]
            used[name] = occurrence + 1
            let matching = members.indices.filter { members[$0].header.nameString == name }
            guard occurrence < matching.count else { throw ArchiveError.missingMember(path, name) }
            layerOrdinals.append(matching[occurrence])
        }
        self.path = path
        self.members = members
        streamDigest = scan.streamDigest
        manifestDigest = members[manifestOrdinal].digest
        self.manifestJSON = manifestJSON
        configDigest = members[configOrdinal].digest
        self.configJSON = configJSON
        self.layerOrdinals = layerOrdinals
        self.manifestOrdinal = manifestOrdinal
        self.configOrdinal = configOrdinal
    }

    var table: MemberTable {
        MemberTable(
            members: members, documents: [manifestOrdinal: DockerManifest.memberName],
            images: [MemberTable.ImageBlobs(manifest: nil, config: configOrdinal, layers: layerOrdinals)])
    }
}

/// Positions a reader on an archive's members in any order: forward when possible, from a
/// fresh open of the input otherwise (layers are almost always stored in manifest order, so
/// reopening is rare).
struct ArchiveCursor {
    let input: RereadableInput
    private var reader: TarReader<FileSource>?

    init(input: RereadableInput) { self.input = input }

    /// A reader whose current member is the `ordinal`-th (0-based), its data unread.
    mutating func take(ordinal: Int) throws -> TarReader<FileSource> {
        var current: TarReader<FileSource>
        if let reader, reader.memberCount <= ordinal {
            current = reader
        } else {
            current = TarReader(source: try input.reopen())
        }
        reader = nil
        while current.memberCount < ordinal + 1 {
            // The first read found this member; its absence now means the file changed.
            guard try current.next() != nil else { throw ArchiveError.truncated(input.label) }
        }
        return current
    }

    mutating func giveBack(_ reader: TarReader<FileSource>) {
        self.reader = reader
    }
}
