import Builder

/// Explains how two docker-archive files differ, the way diffoci and diffoscope do: down to
/// the layer, the entry path and the header field, or the config key path.
///
/// Each archive is read once to index its members and keep its two JSON documents; the layers
/// whose digests differ are then streamed again, pairwise by manifest position. Memory holds
/// member and entry metadata, never a layer.
public enum ArchiveDiff {
    /// Past this many differences in one part (a layer, the config), the rest are counted.
    public static let defaultLimit = 50

    /// The differences between `control` and `experiment` (paths of docker-archive files,
    /// optionally gzip-compressed); empty when their streams are identical.
    public static func compare(control: String, experiment: String, limit: Int = defaultLimit) throws -> [Difference] {
        // Either may be a pipe: each is read once to index it, and again (from a spooled copy
        // if it is not a regular file) for the layers that differ.
        let inputA = try RereadableInput(path: control)
        let inputB = try RereadableInput(path: experiment)
        let a = try ArchiveIndex.read(input: inputA)
        let b = try ArchiveIndex.read(input: inputB)
        if a.streamDigest == b.streamDigest { return [] }

        var differences: [Difference] = []

        var manifest = DifferenceCollector(layer: DockerManifest.memberName, limit: limit)
        JSONDiff.compare(a.manifestJSON, b.manifestJSON, path: "", into: &manifest)
        if manifest.isEmpty && a.manifestDigest != b.manifestDigest {
            manifest.add(path: nil, field: "bytes", control: a.manifestDigest.description, experiment: b.manifestDigest.description)
        }
        differences += manifest.differences

        var config = DifferenceCollector(layer: "config", limit: limit)
        JSONDiff.compare(a.configJSON, b.configJSON, path: "", into: &config)
        if config.isEmpty && a.configDigest != b.configDigest {
            config.add(path: nil, field: "bytes", control: a.configDigest.description, experiment: b.configDigest.description)
        }
        differences += config.differences

        var cursorA = ArchiveCursor(input: inputA)
        var cursorB = ArchiveCursor(input: inputB)
        for position in 0..<max(a.layerOrdinals.count, b.layerOrdinals.count) {
            let memberA = position < a.layerOrdinals.count ? a.members[a.layerOrdinals[position]] : nil
            let memberB = position < b.layerOrdinals.count ? b.members[b.layerOrdinals[position]] : nil
            let name = layerName(position, memberA?.digest, memberB?.digest)
            guard let memberA, let memberB else {
                differences.append(Difference(
                    layer: name, path: nil, field: memberA == nil ? "only-in-experiment" : "only-in-control",
                    control: memberA?.digest.description, experiment: memberB?.digest.description
                ))
                continue
            }
            guard memberA.digest != memberB.digest else { continue }
            var collector = DifferenceCollector(layer: name, limit: limit)
            let outerA = try cursorA.take(ordinal: a.layerOrdinals[position])
            let outerB = try cursorB.take(ordinal: b.layerOrdinals[position])
            // A docker archive may hold a layer gzipped (`build` accepts such a base image).
            var innerA = TarReader(source: try GunzipSniffingSource(MemberDataSource(outer: outerA)), label: "\(control) (layer \(position + 1))")
            var innerB = TarReader(source: try GunzipSniffingSource(MemberDataSource(outer: outerB)), label: "\(experiment) (layer \(position + 1))")
            try LayerDiff.compare(&innerA, &innerB, into: &collector)
            cursorA.giveBack(innerA.source.inner.outer)
            cursorB.giveBack(innerB.source.inner.outer)
            if collector.isEmpty {
                // Same entries, yet different bytes: padding, header encoding, trailing blocks.
                collector.add(path: nil, field: "bytes", control: memberA.digest.description, experiment: memberB.digest.description)
            }
            differences += collector.differences
        }

        var archive = DifferenceCollector(layer: nil, limit: limit)
        compareMembers(a, b, into: &archive)
        differences += archive.differences

        if differences.isEmpty {
            differences.append(Difference(
                layer: nil, path: nil, field: "bytes", control: a.streamDigest.description, experiment: b.streamDigest.description
            ))
        }
        return differences
    }

    /// `layer 2 (0a1b2c3d4e5f)`, or with both short diffIDs when they differ.
    static func layerName(_ position: Int, _ a: Digest?, _ b: Digest?) -> String {
        let shortA = a.map { String($0.hex.prefix(12)) }
        let shortB = b.map { String($0.hex.prefix(12)) }
        let ids = shortA == shortB || shortB == nil ? shortA ?? "" : shortA.map { "\($0) vs \(shortB ?? "")" } ?? shortB ?? ""
        return "layer \(position + 1) (\(ids))"
    }

    /// The outer members themselves: which exist, their order, and their header fields.
    /// Members are matched by role (the manifest, the config, layer N) because a layer's or
    /// config's name is its digest, already reported where the content differs.
    private static func compareMembers(_ a: ArchiveIndex, _ b: ArchiveIndex, into collector: inout DifferenceCollector) {
        let rolesA = a.roles, rolesB = b.roles
        let byRoleA = Dictionary(zip(rolesA, a.members.indices).map { ($0, $1) }, uniquingKeysWith: { first, _ in first })
        let byRoleB = Dictionary(zip(rolesB, b.members.indices).map { ($0, $1) }, uniquingKeysWith: { first, _ in first })
        let sharedA = rolesA.filter { byRoleB[$0] != nil }
        let sharedB = rolesB.filter { byRoleA[$0] != nil }
        if let moved = zip(sharedA, sharedB).first(where: { $0 != $1 })?.0, let indexA = byRoleA[moved], let indexB = byRoleB[moved] {
            collector.add(path: a.members[indexA].header.nameString, field: "order", control: "member \(indexA + 1)", experiment: "member \(indexB + 1)")
        }
        for (role, indexA) in zip(rolesA, a.members.indices) {
            let header = a.members[indexA].header
            guard let indexB = byRoleB[role] else {
                collector.add(path: header.nameString, field: "only-in-control", control: EntryFields.describe(header), experiment: nil)
                continue
            }
            let other = b.members[indexB].header
            for difference in EntryFields.differences(header, other, includeSize: false) {
                collector.add(path: header.nameString, field: difference.field, control: difference.control, experiment: difference.experiment)
            }
        }
        for (role, indexB) in zip(rolesB, b.members.indices) where byRoleA[role] == nil {
            let header = b.members[indexB].header
            collector.add(path: header.nameString, field: "only-in-experiment", control: nil, experiment: EntryFields.describe(header))
        }
    }

    /// A readable multi-line text: a count, then the differences grouped by where they are.
    public static func explain(_ differences: [Difference]) -> String {
        guard !differences.isEmpty else { return "The archives are identical.\n" }
        let count = differences.count == 1 ? "1 difference" : "\(differences.count) differences"
        var lines = ["The archives differ (\(count)):"]
        var group: String?? = .none
        for difference in differences {
            if group != .some(difference.layer) {
                group = .some(difference.layer)
                lines.append("\(difference.layer ?? "archive"):")
            }
            var line = "  "
            if let path = difference.path { line += "\(path): " }
            if let (offset, control, experiment) = contentOffset(difference) {
                line += "content differs at byte \(offset): \(control) vs \(experiment)"
            } else {
                line += difference.field
                if difference.control != nil || difference.experiment != nil {
                    line += " \(difference.control ?? "(absent)") vs \(difference.experiment ?? "(absent)")"
                }
            }
            lines.append(line)
        }
        return lines.joined(separator: "\n") + "\n"
    }
}

extension ArchiveDiff {
    /// Splits a lockstep content difference (`byte N: 0x41` on both sides) so the offset is
    /// said once.
    private static func contentOffset(_ difference: Difference) -> (String, String, String)? {
        guard difference.field == "content", let control = difference.control, let experiment = difference.experiment,
              control.hasPrefix("byte "), let colon = control.firstIndex(of: ":")
        else { return nil }
        let prefix = control[..<colon] + ": "
        guard experiment.hasPrefix(prefix) else { return nil }
        return (String(control[control.index(control.startIndex, offsetBy: 5)..<colon]), String(control.dropFirst(prefix.count)), String(experiment.dropFirst(prefix.count)))
    }
}

/// One archive's outer members and JSON documents, from a first full read.
struct ArchiveIndex {
    struct Member {
        var header: TarHeader
        var digest: Digest
        var size: UInt64
    }

    var path: String
    var members: [Member]
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

    static func read(input: RereadableInput) throws -> ArchiveIndex {
        let path = input.label
        var reader = TarReader(source: HashingSource(try input.firstPass()))
        var members: [Member] = []
        var kept: [Int: [UInt8]] = [:]
        while let header = try reader.next() {
            let name = header.nameString
            let size = header.carriesData ? header.size : 0
            let keep = try DockerManifest.keeps(name: name, size: size, label: path)
            var hashing = HashingSink()
            var bytes: [UInt8] = []
            try reader.forEachChunk { chunk in
                try hashing.write(chunk)
                if keep { bytes.append(contentsOf: chunk) }
            }
            if keep { kept[members.count] = bytes }
            members.append(Member(header: header, digest: hashing.finalize().digest, size: size))
        }
        try reader.drainTrailer()
        let streamDigest = reader.source.hashing.finalize().digest

        // The last copy wins, as when docker loads an archive with a repeated name.
        guard let manifestOrdinal = members.lastIndex(where: { $0.header.nameString == DockerManifest.memberName }),
              let manifestBytes = kept[manifestOrdinal]
        else { throw ArchiveError.missingMember(path, DockerManifest.memberName) }
        let manifest = try DockerManifest.parse(manifestBytes, label: path)
        // Already parsed once by DockerManifest.parse, so this cannot fail.
        let manifestJSON = (try? JSONParser.parse(manifestBytes)) ?? .null
        guard let configOrdinal = members.lastIndex(where: { $0.header.nameString == manifest.configName }),
              let configBytes = kept[configOrdinal]
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
        return ArchiveIndex(
            path: path, members: members, streamDigest: streamDigest, manifestDigest: members[manifestOrdinal].digest,
            manifestJSON: manifestJSON, configDigest: members[configOrdinal].digest, configJSON: configJSON,
            layerOrdinals: layerOrdinals, manifestOrdinal: manifestOrdinal, configOrdinal: configOrdinal
        )
    }

    /// What each member is, for matching members across archives whose names are digests.
    var roles: [String] {
        var seen: [String: Int] = [:]
        return members.indices.map { ordinal in
            var role: String
            if ordinal == manifestOrdinal {
                role = DockerManifest.memberName
            } else if ordinal == configOrdinal {
                role = "config"
            } else if let position = layerOrdinals.firstIndex(of: ordinal) {
                role = "layer \(position + 1)"
            } else {
                role = members[ordinal].header.nameString
            }
            let occurrence = seen[role, default: 0]
            seen[role] = occurrence + 1
            if occurrence > 0 { role += " #\(occurrence + 1)" }
            return role
        }
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
