import Builder
import Foundation
@testable import Harness
import Testing

/// `ArchiveDiff.compare` on OCI packagings (oci-archive, dual, oci-layout directory) and across
/// packagings: layers paired by diff_id, decompressed to the entry, and every input checked.
@Suite("Image diff")
struct ImageDiffTests {
    static func changedHello() -> TestArchive {
        var experiment = TestArchive.basic
        experiment.layers[1].entries[2].header.mtime = 3600
        return experiment
    }

    static func layerName(_ position: Int, _ a: TestArchive.Built, _ b: TestArchive.Built) -> String {
        ArchiveDiffTests.layerName(position, a, b)
    }

    @Test("the same image as a docker-archive and an oci-archive differs only in packaging", arguments: LayerCompression.allCases)
    func dockerAgainstOCI(_ compression: LayerCompression) throws {
        let files = try TemporaryFiles()
        defer { files.remove() }
        let image = try TestArchive.basic.build()
        let docker = try files.write("docker.tar", image.bytes)
        let oci = try files.write("oci.tar", try TestLayout(image, compression: compression).tar())
        let differences = try ArchiveDiff.compare(control: docker, experiment: oci)
        #expect(differences.contains(Difference(kind: .format, layer: nil, path: nil, field: "packaging", control: "docker-archive", experiment: "oci-archive")))
        #expect(!differences.contains { $0.kind.mayBeContent }, "\(differences)")
        let compressed = differences.filter { $0.kind == .layerCompression }
        #expect(compressed.count == (compression == .none ? 0 : 2), "an uncompressed OCI layer is the docker member's bytes: \(differences)")
        #expect(ArchiveDiff.explain(differences).contains("No difference in content"))
    }

    @Test("gzip against zstd: each layer's compression differs, naming media type, size and the compressor versions")
    func compressionDiffers() throws {
        let files = try TemporaryFiles()
        defer { files.remove() }
        let image = try TestArchive.basic.build()
        let gzip = try TestLayout(image, compression: .gzip), zstd = try TestLayout(image, compression: .zstd)
        let differences = try ArchiveDiff.compare(
            control: try files.write("gzip.tar", try gzip.tar()), experiment: try files.write("zstd.tar", try zstd.tar()),
            compressors: ("zlib 1.3.1, zstd 1.5.6", nil))
        let compressed = differences.filter { $0.kind == .layerCompression }
        #expect(compressed.count == 2)
        let first = try #require(compressed.first)
        #expect(first.layer == "layer 1 (\(image.diffIDs[0].hex.prefix(12)))")
        let size = gzip.bytes(of: "blobs/sha256/\(gzip.layerBlobs[0].hex)").count
        #expect(first.control == "application/vnd.oci.image.layer.v1.tar+gzip, \(size) bytes, \(gzip.layerBlobs[0]) (zlib 1.3.1, zstd 1.5.6)")
        #expect(first.experiment?.hasPrefix("application/vnd.oci.image.layer.v1.tar+zstd, ") == true)
        #expect(!differences.contains { $0.kind.mayBeContent }, "\(differences)")
        #expect(!differences.contains { $0.kind == .manifestField }, "the descriptors only restate the blobs: \(differences)")
        #expect(differences.last == Difference(
            kind: .derived, layer: nil, path: nil, field: "follows from the above",
            consequences: [.layerDigest, .manifestLayers, .manifestDigest, .indexManifest]))
    }

    @Test("an mtime change inside a zstd layer is found by decompressing both layers", arguments: [LayerCompression.zstd, .gzip])
    func entryInsideCompressedLayer(_ compression: LayerCompression) throws {
        let files = try TemporaryFiles()
        defer { files.remove() }
        let a = try TestArchive.basic.build(), b = try Self.changedHello().build()
        let differences = try ArchiveDiff.compare(
            control: try files.write("a.tar", try TestLayout(a, compression: compression).tar()),
            experiment: try files.write("b.tar", try TestLayout(b, compression: compression, dual: true).tar()))
        #expect(differences.first == ArchiveDiffTests.field(
            Self.layerName(1, a, b), TestArchive.helloBin, "mtime", ArchiveDiffTests.one, "3600 (1970-01-01T01:00:00Z)"))
        #expect(differences.contains { $0.kind == .format && $0.experiment == "dual" })
        #expect(differences.last?.consequences == [.layerDigest, .configDigest, .diffIDs, .manifestConfig, .manifestLayers, .manifestDigest, .indexManifest])
    }

    @Test("an oci-layout directory against its own oci-archive differs only in packaging; two equal directories are identical")
    func layoutDirectory() throws {
        let files = try TemporaryFiles()
        defer { files.remove() }
        let layout = try TestLayout(try TestArchive.basic.build(), compression: .zstd)
        let directory = try layout.directory("layout", in: files)
        let copy = try layout.directory("copy", in: files)
        let archive = try files.write("oci.tar", try layout.tar())
        #expect(try ArchiveDiff.compare(control: directory, experiment: archive) == [
            Difference(kind: .format, layer: nil, path: nil, field: "packaging", control: "oci-layout", experiment: "oci-archive"),
        ])
        #expect(try ArchiveDiff.compare(control: directory, experiment: copy) == [])
    }

    @Test("a changed tag annotation is an index.json cause; a changed outer mtime a member cause")
    func indexAndMembers() throws {
        let files = try TemporaryFiles()
        defer { files.remove() }
        let image = try TestArchive.basic.build()
        let a = try TestLayout(image, compression: .gzip), b = try TestLayout(image, compression: .gzip, tag: "2.0")
        let differences = try ArchiveDiff.compare(
            control: try files.write("a.tar", try a.tar()), experiment: try files.write("b.tar", try b.tar(mtime: 2)))
        let annotation = "manifests[0].annotations.org.opencontainers.image.ref.name"
        #expect(differences.contains(Difference(
            kind: .indexField, layer: "index.json", path: annotation, field: "value", control: "\"latest\"", experiment: "\"2.0\"")))
        #expect(differences.contains { $0.kind == .member && $0.path == "index.json" && $0.field == "mtime" })
        #expect(!differences.contains { $0.kind == .derived }, "nothing else follows: \(differences)")
    }

    // MARK: Indexes of several images

    /// A layout whose index.json lists `images` in order, each with its platform (`os/arch`) or tag.
    static func index(_ images: [(image: TestArchive.Built, platform: String?, tag: String)]) throws -> TestLayout {
        var layout: TestLayout?
        for (image, platform, tag) in images {
            var one = try TestLayout(image, compression: .gzip, tag: tag)
            if let platform {
                let parts = platform.split(separator: "/").map(String.init)
                try one.editIndex { $0[0]["platform"] = TestLayout.platform(parts[0], parts[1], variant: parts.count > 2 ? parts[2] : nil) }
            }
            if layout == nil { layout = one } else { try layout?.addImage(one) }
        }
        return try #require(layout)
    }

    typealias Listed = (image: TestArchive.Built, platform: String?, tag: String)

    /// Two layouts listing these images, compared as oci-archives.
    static func compare(_ control: [Listed], _ experiment: [Listed]) throws -> (differences: [Difference], control: TestLayout, experiment: TestLayout) {
        let a = try index(control), b = try index(experiment)
        return (try compare(a, b), a, b)
    }

    static func compare(_ a: TestLayout, _ b: TestLayout) throws -> [Difference] {
        let files = try TemporaryFiles()
        defer { files.remove() }
        return try ArchiveDiff.compare(control: try files.write("a.tar", try a.tar()), experiment: try files.write("b.tar", try b.tar()))
    }

    /// The basic image, and the one `changedHello` makes.
    static func images() throws -> (TestArchive.Built, TestArchive.Built) {
        (try TestArchive.basic.build(), try changedHello().build())
    }

    /// What `changedHello` changes, in the second layer of the image named `image`.
    static func helloMtime(_ image: String, _ a: TestArchive.Built, _ b: TestArchive.Built) -> Difference {
        ArchiveDiffTests.field("\(image) \(layerName(1, a, b))", TestArchive.helloBin, "mtime", ArchiveDiffTests.one, "3600 (1970-01-01T01:00:00Z)")
    }

    @Test("a multi-platform index: a change in its second image is found and named by that image's platform")
    func secondPlatform() throws {
        let (a, b) = try Self.images()
        let differences = try Self.compare(
            [(a, "linux/amd64", "latest"), (a, "linux/arm64", "latest")], [(a, "linux/amd64", "latest"), (b, "linux/arm64", "latest")]).differences
        let name = "image linux/arm64 (latest)"
        #expect(differences.first == Self.helloMtime(name, a, b))
        #expect(!differences.contains { $0.layer?.hasPrefix("image linux/amd64") == true }, "the first images agree: \(differences)")
        #expect(!differences.contains { $0.kind == .indexField || $0.kind == .member || $0.kind == .configField }, "\(differences)")
        #expect(differences.last?.consequences == [.layerDigest, .configDigest, .diffIDs, .manifestConfig, .manifestLayers, .manifestDigest, .indexManifest])
        #expect(ArchiveDiff.explain(differences).contains("\n\(name) \(Self.layerName(1, a, b)):\n  \(TestArchive.helloBin): mtime"))
    }

    @Test("images are paired by platform, not by their place in index.json")
    func pairedByPlatform() throws {
        let (a, b) = try Self.images()
        let differences = try Self.compare(
            [(a, "linux/amd64", "latest"), (b, "linux/arm64/v8", "latest")], [(b, "linux/arm64/v8", "latest"), (a, "linux/amd64", "latest")]).differences
        // Only the packaging differs: index.json lists the images (and so the blobs) in another order.
        #expect(!differences.isEmpty && differences.allSatisfy { $0.kind == .indexField || $0.kind == .member }, "\(differences)")
        #expect(ArchiveDiff.explain(differences).contains("No difference in content"))
        // index.json says so once, naming the images in each order.
        #expect(differences.filter { $0.kind == .indexField } == [Difference(
            kind: .indexField, layer: "index.json", path: "manifests", field: "order", control: "linux/amd64 (latest), linux/arm64/v8 (latest)",
            experiment: "linux/arm64/v8 (latest), linux/amd64 (latest)")])
    }

    @Test("an index entry's own key that differs is a cause at the control's place, whatever the experiment's")
    func entryKeyAcrossOrder() throws {
        let (a, b) = try Self.images()
        let control = try Self.index([(a, "linux/amd64", "latest"), (b, "linux/arm64", "latest")])
        var experiment = try Self.index([(b, "linux/arm64", "latest"), (a, "linux/amd64", "latest")])
        try experiment.editIndex {
            var annotations = $0[0]["annotations"] as? [String: Any] ?? [:]
            annotations["org.example.note"] = "rebuilt"
            $0[0]["annotations"] = annotations
        }
        let differences = try Self.compare(control, experiment).filter { $0.kind == .indexField }
        #expect(differences.map(\.path) == ["manifests[1].annotations.org.example.note", "manifests"], "\(differences)")
        #expect(differences.first?.field == "only in experiment" && differences.first?.experiment == "\"rebuilt\"")
    }

    @Test("an image in one index only is a cause named by its platform; its blobs and index entry follow from it")
    func imageOnOneSide() throws {
        let (a, b) = try Self.images()
        let (differences, control, experiment) = try Self.compare([(a, "linux/amd64", "latest"), (b, "linux/s390x", "latest")], [(a, "linux/amd64", "latest")])
        let manifest = try #require(control.manifestDigests.last)
        #expect(differences == [
            Difference(kind: .imageOnlyIn, layer: "image linux/s390x (latest)", path: nil, field: "only in control", control: manifest.description, side: .control),
            ArchiveDiffTests.follows([.indexManifest]),
        ])
        #expect(ArchiveDiff.explain(differences).contains("image linux/s390x (latest):\n  only in control: \(manifest)"))
        let reversed = try Self.compare(experiment, control)
        #expect(reversed.first?.field == "only in experiment" && reversed.first?.experiment == manifest.description)
        #expect(reversed.first?.side == .experiment)
    }

    @Test("images without a platform are paired by ref name, whatever their order")
    func pairedByRefName() throws {
        let (a, b) = try Self.images()
        let differences = try Self.compare([(a, nil, "1.0"), (a, nil, "2.0")], [(a, nil, "2.0"), (b, nil, "1.0")]).differences
        #expect(differences.first == Self.helloMtime("image 1.0", a, b))
        #expect(!differences.contains { $0.layer?.hasPrefix("image 2.0") == true }, "\(differences)")
    }

    @Test("what neither platform nor ref name pairs is paired in order, both names shown; a lone image pairs with the index's first")
    func pairedInOrder() throws {
        let (a, b) = try Self.images()
        let (differences, control, _) = try Self.compare(
            [(a, "linux/amd64", "latest"), (a, "linux/arm64", "latest")], [(a, "linux/amd64", "latest"), (b, "linux/arm64/v8", "latest")])
        #expect(differences.first == Self.helloMtime("image linux/arm64 (latest) vs linux/arm64/v8 (latest)", a, b))
        // A docker-archive holds one image: it is compared with the index's first, by name.
        let files = try TemporaryFiles()
        defer { files.remove() }
        let docker = try ArchiveDiff.compare(
            control: try files.write("docker.tar", b.bytes), experiment: try files.write("index.tar", try control.tar()))
        #expect(docker.first?.layer == "image 1 vs linux/amd64 (latest) \(ArchiveDiffTests.layerName(1, b, a))")
        #expect(docker.contains {
            $0.kind == .imageOnlyIn && $0.layer == "image linux/arm64 (latest)" && $0.field == "only in experiment" })
    }

    @Test("refuses a second image of an index whose layer is not a layer, naming its index entry")
    func hostileSecondImage() throws {
        let (a, b) = try Self.images()
        var layout = try TestLayout(a, compression: .gzip)
        var second = try TestLayout(b, compression: .gzip, tag: "2.0")
        second.rewriteManifest { $0.replacingOccurrences(of: "tar+gzip", with: "tar+lz4") }
        try layout.addImage(second)
        try Self.expectRefused(
            layout, "(manifests[1] of index.json): layer 1 of the manifest has media type application/vnd.oci.image.layer.v1.tar+lz4, not a layer's")
    }

    // MARK: Hostile input

    static func expectRefused(_ layout: TestLayout, _ message: String) throws {
        let files = try TemporaryFiles()
        defer { files.remove() }
        let good = try files.write("good.tar", try TestLayout(try TestArchive.basic.build(), compression: .gzip).tar())
        let bad = try files.write("bad.tar", try layout.tar())
        let error = #expect(throws: (any Error).self) { try ArchiveDiff.compare(control: good, experiment: bad) }
        let text = error.map { "\($0)" } ?? ""
        #expect(text.contains(bad) && text.contains(message), "\(text)")
        #expect(!text.contains("\n"))
    }

    @Test("refuses a blob whose bytes are not its name")
    func blobNotItsName() throws {
        var layout = try TestLayout(try TestArchive.basic.build(), compression: .gzip)
        let name = "blobs/sha256/\(layout.layerBlobs[0].hex)"
        layout.replace(name, with: layout.bytes(of: name) + [0])
        try Self.expectRefused(layout, "blob \(name) holds bytes whose digest is")
    }

    @Test("refuses members named by an absolute path or climbing out with ..", arguments: ["../evil", "/etc/passwd", "blobs/../../x"])
    func climbingNames(_ name: String) throws {
        var layout = try TestLayout(try TestArchive.basic.build(), compression: .gzip)
        layout.files.append((name, Array("x".utf8)))
        try Self.expectRefused(layout, "member \(name) is an absolute path or climbs out with '..'")
    }

    @Test("refuses a descriptor whose size is not its blob's")
    func sizeMismatch() throws {
        let image = try TestArchive.basic.build()
        var layout = try TestLayout(image, compression: .gzip)
        // A config one byte longer, stored under its own digest, while the manifest keeps the old size.
        let longer = layout.replaceBlob(Digest.of(image.configBytes), with: image.configBytes + [0x20])
        layout.rewriteManifest { $0.replacingOccurrences(of: Digest.of(image.configBytes).hex, with: longer.hex) }
        try Self.expectRefused(layout, "the config is \(image.configBytes.count) bytes by its descriptor, but its blob")
    }

    @Test("refuses a layer whose media type is not a layer's, and a zstd layer that is gzip")
    func mediaTypes() throws {
        let image = try TestArchive.basic.build()
        for (from, to, message) in [
            ("tar+gzip", "tar+lz4", "has media type application/vnd.oci.image.layer.v1.tar+lz4, not a layer's"),
            ("tar+gzip", "tar+zstd", "its media type says zstd, but it starts as gzip does"),
        ] {
            var layout = try TestLayout(image, compression: .gzip)
            layout.rewriteManifest { $0.replacingOccurrences(of: from, with: to) }
            // The zstd claim is only checked when the layer is read: compare with an image whose layer differs.
            let files = try TemporaryFiles()
            defer { files.remove() }
            let other = try files.write("other.tar", try TestLayout(try Self.changedHello().build(), compression: .gzip).tar())
            let bad = try files.write("bad.tar", try layout.tar())
            let error = #expect(throws: (any Error).self) { try ArchiveDiff.compare(control: other, experiment: bad) }
            let text = error.map { "\($0)" } ?? ""
            #expect(text.contains(bad) && text.contains(message), "\(text)")
        }
    }

    @Test("refuses a layer that does not decompress to the diff_id its config lists")
    func diffIDLie() throws {
        let a = try TestArchive.basic.build()
        var layout = try TestLayout(a, compression: .zstd)
        // The second layer's blob replaced by the changed image's, under its own name: the
        // config still lists the original diff_id.
        let changed = try Self.changedHello().build()
        let blob = try TestLayout.compress(changed.layerTars[1], .zstd)
        let oldBlob = layout.layerBlobs[1]
        let oldSize = layout.bytes(of: "blobs/sha256/\(oldBlob.hex)").count
        let newDigest = layout.replaceBlob(oldBlob, with: blob)
        layout.rewriteManifest {
            $0.replacingOccurrences(of: "\(oldBlob.hex)\",\"size\":\(oldSize)", with: "\(newDigest.hex)\",\"size\":\(blob.count)")
        }
        let files = try TemporaryFiles()
        defer { files.remove() }
        let good = try files.write("good.tar", try TestLayout(a, compression: .gzip).tar())
        let bad = try files.write("bad.tar", try layout.tar())
        let error = #expect(throws: (any Error).self) { try ArchiveDiff.compare(control: good, experiment: bad) }
        #expect(error.map { "\($0)" }?.contains("layer 2 (blob sha256:\(Digest.of(blob).hex)) decompresses to \(changed.diffIDs[1]), not the diff_id \(a.diffIDs[1])") == true, "\(String(describing: error))")
    }

    @Test("refuses a layout directory's blob cut short (no longer its name) and a layout without index.json, naming the file")
    func truncatedAndMissing() throws {
        let a = try TestArchive.basic.build()
        let files = try TemporaryFiles()
        defer { files.remove() }
        var layout = try TestLayout(a, compression: .zstd)
        let directory = try layout.directory("layout", in: files)
        let blob = "\(directory)/blobs/sha256/\(layout.layerBlobs[1].hex)"
        let bytes = layout.bytes(of: "blobs/sha256/\(layout.layerBlobs[1].hex)")
        try Data(bytes.prefix(bytes.count - 6)).write(to: URL(fileURLWithPath: blob))
        let other = try files.write("other.tar", try TestLayout(try Self.changedHello().build(), compression: .zstd).tar())
        // A layout directory's blobs are hashed when looked up: the cut blob is no longer its name.
        #expect(throws: ArchiveError.invalidMetadata(blob, "the blob holds bytes whose digest is \(Digest.of(Array(bytes.prefix(bytes.count - 6)))), not its name")) {
            try ArchiveDiff.compare(control: other, experiment: directory)
        }
        layout.files.removeAll { $0.name == "index.json" }
        let noIndex = try layout.directory("no-index", in: files)
        #expect(throws: ArchiveError.missingMember(noIndex, "index.json")) { try ArchiveDiff.compare(control: other, experiment: noIndex) }
    }
}
