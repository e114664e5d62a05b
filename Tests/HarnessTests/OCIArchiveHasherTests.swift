import Builder
import Foundation
@testable import Harness
import Testing

/// The hasher reading an oci-archive or dual stream: index → manifest → config → layers, every
/// blob checked against its name and its descriptor's size.
@Suite("OCI archive hasher")
struct OCIArchiveHasherTests {
    static func hash(_ bytes: [UInt8], format: ImageFormat = .ociArchive, chunk: Int = 1 << 20) throws -> ArchiveHashResult {
        try ArchiveHasherTests.hash(bytes, format: format, chunkSizes: { _ in chunk })
    }

    @Test("records each layer's blob, diff_id from the config and store paths from its history")
    func recordsLayers() throws {
        let built = try TestArchive.basic.buildOCI()
        let bytes = try built.tar()
        let result = try Self.hash(bytes)
        #expect(result.archiveDigest == Digest.of(bytes))
        #expect(result.configDigest == built.configDigest)
        #expect(result.manifestDigest == built.manifestDigest)
        #expect(result.repoTags == ["latest"])
        #expect(result.layers.map(\.diffID) == built.diffIDs)
        #expect(result.layers.map(\.paths) == [[TestArchive.glibc], [TestArchive.hello]])
        #expect(result.layers.map(\.index) == [1, 2])
        for (layer, blob) in zip(result.layers, built.layerBlobs) {
            #expect(layer.blob == LayerBlob(
                digest: Digest.of(blob), size: UInt64(blob.count), mediaType: "application/vnd.oci.image.layer.v1.tar+gzip",
                compression: .gzip, compressorVersion: nil))
            #expect(layer.size == UInt64(blob.count))
        }
    }

    @Test("gives the same result fed byte by byte or in odd chunks")
    func chunking() throws {
        let bytes = try TestArchive.basic.buildOCI(dual: true).tar()
        let whole = try Self.hash(bytes, format: .dual)
        #expect(try Self.hash(bytes, format: .dual, chunk: 1) == whole)
        #expect(try Self.hash(bytes, format: .dual, chunk: 511) == whole)
    }

    @Test("reads a dual archive both ways and the docker view agrees")
    func dual() throws {
        let built = try TestArchive.basic.buildOCI(dual: true)
        let bytes = try built.tar()
        let result = try Self.hash(bytes, format: .dual)
        #expect(result.manifestDigest == built.manifestDigest)
        #expect(result.layers.compactMap(\.blob?.digest) == built.layerBlobs.map { Digest.of($0) })
    }

    @Test("reads a dual archive whose identical layers share one blob")
    func sharedBlob() throws {
        var archive = TestArchive.basic
        archive.layers.append(archive.layers[1])
        var built = try archive.buildOCI(dual: true)
        let shared = "blobs/sha256/" + Digest.of(built.layerBlobs[1]).hex
        let second = try #require(built.members.lastIndex { $0.name == shared })
        built.members.remove(at: second)
        #expect(built.members.filter { $0.name == shared }.count == 1)
        let result = try Self.hash(try built.tar(), format: .dual)
        #expect(result.layers.count == 3 && result.layers[1].blob == result.layers[2].blob)
    }

    @Test("refuses a dual archive whose manifest.json names other layers than the OCI manifest")
    func dualDisagrees() throws {
        var built = try TestArchive.basic.buildOCI(dual: true)
        let position = try #require(built.members.firstIndex { $0.name == "manifest.json" })
        let swapped = OCIDocuments.dockerManifest(
            config: OCIDescriptor(mediaType: OCIDocuments.configMediaType, digest: built.configDigest, size: UInt64(built.configBytes.count)),
            repoTag: "hello:latest",
            layers: built.layerBlobs.reversed().map {
                OCIDescriptor(mediaType: LayerCompression.gzip.layerMediaType, digest: Digest.of($0), size: UInt64($0.count))
            })
        built.members[position].content = swapped
        #expect {
            try Self.hash(try built.tar(), format: .dual)
        } throws: { error in
            "\(error)".hasPrefix("test stream: manifest.json lists layers ") && "\(error)".contains("but the OCI manifest")
        }
        // A dual stream without manifest.json is no dual archive.
        built.members.remove(at: position)
        #expect(throws: ArchiveError.missingMember("test stream", "manifest.json")) { try Self.hash(try built.tar(), format: .dual) }
    }

    @Test("refuses a blob whose bytes do not have the digest its name says")
    func blobDigestMismatch() throws {
        var built = try TestArchive.basic.buildOCI()
        built.members[0].content[20] ^= 0xFF
        let name = built.members[0].name
        let actual = Digest.of(built.members[0].content).hex
        #expect(throws: ArchiveError.invalidMetadata("test stream", "blob \(name) holds bytes whose digest is sha256:\(actual), not its name")) {
            try Self.hash(try built.tar())
        }
    }

    @Test("refuses a layer blob shorter than its descriptor says")
    func blobSizeMismatch() throws {
        var built = try TestArchive.basic.buildOCI()
        // Renamed to its new digest, so only the size disagrees with the manifest.
        let shorter = Array(built.members[1].content.dropLast())
        let old = built.members[1].name
        built.members[1] = ("blobs/sha256/" + Digest.of(shorter).hex, shorter)
        #expect(throws: ArchiveError.missingMember("test stream", old)) { try Self.hash(try built.tar()) }

        var sized = try TestArchive.basic.buildOCI()
        let manifestAt = try #require(sized.members.firstIndex { $0.name == "blobs/sha256/" + sized.manifestDigest.hex })
        let text = String(decoding: sized.manifestBytes, as: UTF8.self)
        let blob = sized.layerBlobs[1]
        let lying = text.replacingOccurrences(of: "\"size\":\(blob.count)}", with: "\"size\":\(blob.count + 1)}")
        #expect(lying != text)
        let lyingBytes = Array(lying.utf8)
        sized.members[manifestAt] = ("blobs/sha256/" + Digest.of(lyingBytes).hex, lyingBytes)
        let indexAt = try #require(sized.members.firstIndex { $0.name == "index.json" })
        sized.members[indexAt].content = OCIDocuments.index(
            manifest: OCIDescriptor(mediaType: OCIDocuments.manifestMediaType, digest: Digest.of(lyingBytes), size: UInt64(lyingBytes.count)),
            tag: "latest")
        #expect(throws: ArchiveError.invalidMetadata(
            "test stream",
            "layer 2 of the manifest is \(blob.count + 1) bytes by its descriptor, but its blob blobs/sha256/\(Digest.of(blob).hex) holds \(blob.count)")
        ) { try Self.hash(try sized.tar()) }
    }

    @Test("names a missing index.json or oci-layout")
    func missingDocuments() throws {
        for name in ["index.json", "oci-layout"] {
            var built = try TestArchive.basic.buildOCI()
            built.members.removeAll { $0.name == name }
            #expect(throws: ArchiveError.missingMember("test stream", name)) { try Self.hash(try built.tar()) }
        }
    }

    @Test("keeps only blobs that open as JSON, and no more of them than its limit")
    func keepsOnlyJSON() throws {
        let built = try TestArchive.basic.buildOCI()
        let documents = UInt64(built.configBytes.count + built.manifestBytes.count) + 1024
        func hash(_ extra: [UInt8]) throws -> ArchiveHashResult {
            var members = built
            members.members.insert(("blobs/sha256/" + Digest.of(extra).hex, extra), at: 0)
            var hasher = ArchiveHasher(label: "test stream", format: .ociArchive)
            hasher.keptLimit = documents
            try members.tar().withUnsafeBytes { try hasher.write($0) }
            return try hasher.finish()
        }
        // A blob larger than the limit that is not JSON (a layer) is only hashed.
        #expect(try hash([UInt8](repeating: 0x1F, count: Int(documents) * 4)).manifestDigest == built.manifestDigest)
        // One that looks like JSON is kept, and the limit holds.
        let json = Array("{".utf8) + [UInt8](repeating: 0x20, count: Int(documents))
        #expect(throws: ArchiveError.invalidMetadata(
            "test stream", "its JSON members add up to more than \(documents) bytes, more than an image's metadata")
        ) { try hash(json) }
    }

    @Test("a build's reported digests must match its stream; a mismatch names both")
    func reportedMismatch() throws {
        let built = try TestArchive.basic.buildOCI()
        let result = try Self.hash(try built.tar())
        let other = Digest.of(Array("other".utf8))
        func report(_ id: Digest, _ manifest: Digest) -> ReportedDigests {
            ReportedDigests(stderr: "image ID \(id)\nmanifest digest \(manifest) (oci-archive, layers gzip; zlib 1.3.1, zstd 1.5.6)\n")
        }
        #expect(report(built.configDigest, built.manifestDigest).mismatch(with: result) == nil)
        #expect(report(built.configDigest, other).mismatch(with: result)
            == "reported manifest digest \(other) but its stream has manifest digest \(built.manifestDigest)")
        #expect(report(other, built.manifestDigest).mismatch(with: result)
            == "reported image ID \(other) but its stream has image ID \(built.configDigest)")
        #expect(ReportedDigests(stderr: "").mismatch(with: result) == "reported no manifest digest on stderr")
    }

    @Test("names each layer's compressor from the build's versions")
    func compressorVersion() {
        let versions = "zlib 1.3.1, zstd 1.5.6"
        #expect(LayerBlob.compressorVersion(.gzip, in: versions) == "zlib 1.3.1")
        #expect(LayerBlob.compressorVersion(.zstd, in: versions) == "zstd 1.5.6")
        #expect(LayerBlob.compressorVersion(LayerCompression.none, in: versions) == nil)
        #expect(ImageRead.compression(ofLayerMediaType: "application/vnd.oci.image.layer.v1.tar+zstd") == .zstd)
        #expect(ImageRead.compression(ofLayerMediaType: "application/vnd.oci.image.layer.v1.tar") == LayerCompression.none)
        #expect(ImageRead.compression(ofLayerMediaType: "application/octet-stream") == nil)
    }
}
