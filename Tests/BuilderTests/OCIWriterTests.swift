import Builder
import Foundation
import Testing

/// The OCI writer on the reference fixtures: the same config (image ID) and diffIDs as the
/// docker-archive whatever the compression, blobs named by their digests, a layout that
/// describes itself consistently, and the same bytes every time.
@Suite("OCI writer")
struct OCIWriterTests {
    struct Written {
        var members: [String: [UInt8]]
        var order: [String]
        var result: OCIImageResult
        var docker: ImageArchiveResult
    }

    /// Builds a fixture as an OCI archive (and, for comparison, as a docker-archive).
    static func build(_ name: String, _ compression: LayerCompression, dual: Bool = false, spill: String? = nil) throws -> Written {
        let temporary = try FixtureStore.temporaryDirectory("oci-\(name)")
        defer { FixtureStore.remove(temporary) }
        let (plan, _) = try ReferenceArchiveTests.plan(name, under: temporary)
        let writer = OCIImageWriter(plan: plan, compression: compression, dockerManifest: dual, spillDirectory: spill)
        var (result, destination) = try writer.write(to: TarLayoutDestination(sink: MemorySink(), mtime: plan.mtime))
        let bytes = try destination.finish().bytes
        let docker = try ImageArchiveWriter(plan: plan).write(to: HashingSink()).0
        var reader = TarReader(source: MemorySource(bytes))
        var members: [String: [UInt8]] = [:]
        var order: [String] = []
        while let header = try reader.next() {
            order.append(header.nameString)
            #expect(members[header.nameString] == nil, "\(header.nameString) is stored once")
            members[header.nameString] = header.isRegular ? try reader.readAll() : []
        }
        #expect(bytes.count % 10240 == 0)
        return Written(members: members, order: order, result: result, docker: docker)
    }

    static func json(_ bytes: [UInt8]?) throws -> JSONObject {
        let bytes = try #require(bytes)
        return try #require(try JSONParser.parse(bytes).objectValue)
    }

    @Test("keeps the docker-archive's image ID and diffIDs for every compression", arguments: LayerCompression.allCases)
    func sameImage(_ compression: LayerCompression) throws {
        let written = try Self.build("many-layers", compression)
        #expect(written.result.configDigest == written.docker.configDigest)
        #expect(written.result.diffIDs == written.docker.diffIDs)
        #expect(written.result.layers.allSatisfy { $0.mediaType == compression.layerMediaType })
        if compression == .none {
            #expect(written.result.layers.map(\.digest) == written.docker.diffIDs)
        } else {
            #expect(Set(written.result.layers.map(\.digest)).isDisjoint(with: written.docker.diffIDs))
        }
    }

    @Test("every blob is named by its sha256 and the manifest and index describe them", arguments: [LayerCompression.gzip, .zstd])
    func consistentLayout(_ compression: LayerCompression) throws {
        let written = try Self.build("basic", compression)
        for (name, content) in written.members where name.hasPrefix("blobs/sha256/") && name.count > 13 {
            #expect(Digest.of(content).hex == name.dropFirst(13), "\(name)")
        }
        let index = try Self.json(written.members["index.json"])
        let entry = try #require(index["manifests"]?.arrayValue?.first?.objectValue)
        #expect(entry["digest"]?.stringValue == written.result.manifestDigest.description)
        #expect(entry["annotations"]?.objectValue?["org.opencontainers.image.ref.name"]?.stringValue == "latest")
        let manifest = try Self.json(written.members["blobs/sha256/\(written.result.manifestDigest.hex)"])
        #expect(manifest["config"]?.objectValue?["digest"]?.stringValue == written.result.configDigest.description)
        let layers = try #require(manifest["layers"]?.arrayValue)
        for (layer, descriptor) in zip(layers, written.result.layers) {
            let object = try #require(layer.objectValue)
            #expect(object["digest"]?.stringValue == descriptor.digest.description)
            #expect(object["size"] == .integer(String(written.members[descriptor.blobPath]?.count ?? -1)))
        }
        #expect(written.members["oci-layout"] == Array(#"{"imageLayoutVersion":"1.0.0"}"#.utf8))
        #expect(written.members["manifest.json"] == nil)
        #expect(written.order.first == "blobs" && written.order.last == "oci-layout", "\(written.order)")
    }

    @Test("the dual archive's manifest.json names the same blobs, each stored once")
    func dual() throws {
        let written = try Self.build("many-layers", .gzip, dual: true)
        let manifestJSON = try #require(written.members["manifest.json"])
        let entries = try #require(try JSONParser.parse(manifestJSON).arrayValue)
        let entry = try #require(entries.first?.objectValue)
        #expect(entry["Config"]?.stringValue == "blobs/sha256/\(written.result.configDigest.hex)")
        #expect(entry["Layers"]?.arrayValue?.compactMap(\.stringValue) == written.result.layers.map(\.blobPath))
        #expect(entry["RepoTags"]?.arrayValue?.first?.stringValue == written.result.repoTag)
        let blobs = written.order.filter { $0.hasPrefix("blobs/sha256/") && $0.count > 13 }
        #expect(blobs.count == Set(written.result.layers.map(\.digest)).count + 2)
    }

    @Test("writes the same bytes twice, so the manifest digest is known before a push", arguments: [LayerCompression.gzip, .zstd])
    func deterministic(_ compression: LayerCompression) throws {
        let first = try Self.build("bulk-layer", compression)
        let second = try Self.build("bulk-layer", compression)
        #expect(first.result.manifestDigest == second.result.manifestDigest)
        #expect(first.members == second.members)
    }

    @Test("spilling compressed blobs to disk instead of compressing twice gives the same bytes and leaves no file", arguments: [LayerCompression.gzip, .zstd])
    func spill(_ compression: LayerCompression) throws {
        let directory = try FixtureStore.temporaryDirectory("oci-spill")
        defer { FixtureStore.remove(directory) }
        let spilled = try Self.build("many-layers", compression, spill: directory)
        let twice = try Self.build("many-layers", compression)
        #expect(spilled.members == twice.members)
        #expect(try FileManager.default.contentsOfDirectory(atPath: directory).isEmpty)
        #expect(throws: IOError.self, "the blobs really go through the spill directory") {
            try Self.build("basic", compression, spill: directory + "/missing")
        }
    }

    @Test("a base image's layers are stored as their uncompressed tar, the blob named by its diffID")
    func baseImageLayers() throws {
        let written = try Self.build("base-image-gz", .none)
        #expect(written.result.configDigest == written.docker.configDigest)
        for descriptor in written.result.layers {
            #expect(written.members[descriptor.blobPath].map { Digest.of($0) } == descriptor.digest)
        }
        #expect(written.result.layers.map(\.digest) == written.result.diffIDs)
    }

    @Test("an OCI layout directory appears only when complete, with fixed modes whatever the umask")
    func directoryLayout() throws {
        let temporary = try FixtureStore.temporaryDirectory("oci-layout")
        defer { FixtureStore.remove(temporary) }
        let (plan, _) = try ReferenceArchiveTests.plan("basic", under: temporary)
        let output = temporary + "/image"
        let previous = umask(0o077)
        defer { umask(previous) }
        let result = try DirectoryLayoutDestination.write(to: output) { directory in
            #expect(!FileManager.default.fileExists(atPath: output))
            return try OCIImageWriter(plan: plan, compression: .gzip).write(to: directory).0
        }
        let manifest = output + "/blobs/sha256/" + result.manifestDigest.hex
        #expect(Digest.of(try Data(contentsOf: URL(fileURLWithPath: manifest))) == result.manifestDigest)
        #expect(try FileManager.default.attributesOfItem(atPath: manifest)[.posixPermissions] as? Int == 0o644)
        #expect(try FileManager.default.attributesOfItem(atPath: output + "/blobs")[.posixPermissions] as? Int == 0o755)
        #expect(throws: LayoutError.outputExists(output)) {
            try DirectoryLayoutDestination.write(to: output) { try OCIImageWriter(plan: plan, compression: .gzip).write(to: $0).0 }
        }
        let leftovers = try FileManager.default.contentsOfDirectory(atPath: temporary).filter { $0.hasPrefix(".image.tmp") }
        #expect(leftovers.isEmpty)
    }

    @Test("the tag of a repo tag is what follows the last colon of its last component", arguments: [
        ("hello:latest", "latest"), ("registry:5000/team/app:v1.2", "v1.2"), ("registry:5000/app", "latest"), ("app", "latest"),
    ])
    func tagOfRepoTag(_ repoTag: String, _ tag: String) {
        #expect(OCIDocuments.tag(ofRepoTag: repoTag) == tag)
    }

    @Test("a spec's expectDigest pin must be a sha256 digest, and a different result fails naming both")
    func expectDigest() throws {
        let pinned = "sha256:" + String(repeating: "ab", count: 32)
        let spec = try ImageSpec.decode(Array(#"{"name":"x","expectDigest":"\#(pinned)"}"#.utf8), file: "spec.json")
        #expect(spec.expectDigest?.description == pinned)
        #expect(throws: SpecError.self) {
            try ImageSpec.decode(Array(#"{"name":"x","expectDigest":"abc"}"#.utf8), file: "spec.json")
        }
        let pin = DigestPin(expected: try #require(spec.expectDigest), file: "spec.json")
        let other = Digest.of([1, 2, 3])
        #expect(throws: DigestPinError.mismatch(file: "spec.json", expected: pin.expected, actual: other, format: .ociArchive)) {
            try pin.check(other, format: .ociArchive)
        }
        try pin.check(pin.expected, format: .dual)
    }
}
