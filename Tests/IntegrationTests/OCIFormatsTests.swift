import Builder
import Foundation
import Testing

/// `build --format`: every format is read by real clients (skopeo, umoci, podman), the digests
/// `build` reports are the ones those clients compute, and a pinned digest is enforced.
@Suite("OCI formats")
struct OCIFormatsTests {
    /// A built image and what `build` said about it.
    struct Built {
        var fixture: ConfFixture
        var output: String
        var imageID: String
        var manifestDigest: String?
        var digestFile: String
    }

    /// Builds into a new fixture, or into `fixture` (which the caller removes) under names of
    /// the format's and compression's own.
    static func build(_ label: String, format: String, compression: String? = nil, in existing: ConfFixture? = nil) throws -> Built {
        let fixture = try existing ?? ConfFixture(label: label)
        let name = "\(format)-\(compression ?? "default")"
        let output = fixture.root + (format == "oci-layout" ? "/\(name)" : "/\(name).tar")
        let digestFile = fixture.root + "/\(name).digest"
        var arguments = ["build", "--nixpkgs-conf", try fixture.write(), "--format", format, "--digest-file", digestFile, "-o", output]
        if let compression { arguments += ["--compression", compression] }
        let result = try CLI.run(arguments)
        guard result.status == 0 else {
            if existing == nil { fixture.remove() }
            throw CLI.Failure(description: "build --format \(format) failed: \(result.stderr)")
        }
        let lines = result.stderr.split(separator: "\n").map(String.init)
        let imageID = lines.first { $0.hasPrefix("image ID ") }.map { String($0.dropFirst(9)) } ?? ""
        let manifest = lines.first { $0.hasPrefix("manifest digest ") }.map { String($0.dropFirst(16).prefix(71)) }
        return Built(fixture: fixture, output: output, imageID: imageID, manifestDigest: manifest, digestFile: digestFile)
    }

    static func sha256(_ text: String) -> String { Digest.of(Array(text.utf8)).description }

    /// umoci unpacks the layout's tagged image and the store path is in its root file system.
    static func expectUnpacks(_ image: String, _ built: Built) throws {
        try Shell.check("umoci", ["unpack", "--image", image, "\(built.fixture.root)/bundle"])
        #expect(FileManager.default.fileExists(atPath: "\(built.fixture.root)/bundle/rootfs\(built.fixture.store)/\(ConfFixture.hello)/bin/hello"))
    }

    static func file(_ path: String) throws -> String {
        try String(contentsOfFile: path, encoding: .utf8)
    }

    @Test("oci-archive: skopeo reads the manifest whose digest build reported, and the config is the image ID", arguments: ["none", "gzip", "zstd"])
    func ociArchive(_ compression: String) throws {
        let built = try Self.build("oci-\(compression)", format: "oci-archive", compression: compression)
        defer { built.fixture.remove() }
        let raw = try Shell.check("skopeo", ["inspect", "--raw", "oci-archive:\(built.output)"])
        #expect(Self.sha256(raw) == built.manifestDigest)
        #expect(try Self.file(built.digestFile) == "\(built.manifestDigest ?? "?")\n")
        let config = try Shell.check("skopeo", ["inspect", "--config", "--raw", "oci-archive:\(built.output)"])
        #expect(Self.sha256(config) == built.imageID)
        #expect(raw.contains(compression == "none" ? "layer.v1.tar\"" : "layer.v1.tar+\(compression)\""))
        // skopeo decompresses each layer to check it against the config's diff_ids. umoci reads no
        // zstd, so a zstd image is recompressed on the way.
        let recompress = compression == "zstd" ? ["--dest-compress-format", "gzip"] : []
        try Shell.check("skopeo", ["copy", "--quiet"] + recompress + ["oci-archive:\(built.output)", "oci:\(built.fixture.root)/copy:latest"])
        try Self.expectUnpacks("\(built.fixture.root)/copy:latest", built)
    }

    @Test("the image ID and diffIDs are the docker-archive's whatever the format and compression")
    func sameImageEverywhere() throws {
        let docker = try Self.build("oci-docker", format: "docker-archive")
        defer { docker.fixture.remove() }
        #expect(docker.manifestDigest == nil)
        #expect(try Self.file(docker.digestFile) == "\(docker.imageID)\n", "docker-archive pins its image ID")
        var manifests = Set<String?>()
        for (format, compression) in [("oci-archive", "gzip"), ("dual", "zstd"), ("oci-archive", "none"), ("oci-layout", "zstd")] {
            let built = try Self.build("", format: format, compression: compression, in: docker.fixture)
            #expect(built.imageID == docker.imageID, "\(format) \(compression)")
            manifests.insert(built.manifestDigest)
        }
        #expect(manifests.count == 3, "dual and oci-archive share a manifest for one compression; compressions differ")
    }

    @Test("oci-layout: umoci unpacks it by tag and skopeo reads oci:DIR:TAG")
    func ociLayout() throws {
        let built = try Self.build("oci-layout", format: "oci-layout", compression: "gzip")
        defer { built.fixture.remove() }
        let raw = try Shell.check("skopeo", ["inspect", "--raw", "oci:\(built.output):latest"])
        #expect(Self.sha256(raw) == built.manifestDigest)
        try Self.expectUnpacks("\(built.output):latest", built)
        let leftovers = try FileManager.default.contentsOfDirectory(atPath: built.fixture.root).filter { $0.contains(".tmp-") }
        #expect(leftovers.isEmpty)
    }

    @Test("dual: skopeo reads it as a docker-archive and as an OCI archive, with one config")
    func dual() throws {
        let built = try Self.build("oci-dual", format: "dual", compression: "gzip")
        defer { built.fixture.remove() }
        let raw = try Shell.check("skopeo", ["inspect", "--raw", "oci-archive:\(built.output)"])
        #expect(Self.sha256(raw) == built.manifestDigest)
        let dockerConfig = try Shell.check("skopeo", ["inspect", "--config", "--raw", "docker-archive:\(built.output)"])
        #expect(Self.sha256(dockerConfig) == built.imageID)
        // skopeo's docker-archive reader names layers by their uncompressed digests.
        let inspect = try JSONSerialization.jsonObject(with: Data(try Shell.check("skopeo", ["inspect", "docker-archive:\(built.output)"]).utf8)) as? [String: Any]
        let config = try JSONSerialization.jsonObject(with: Data(dockerConfig.utf8)) as? [String: Any]
        let diffIDs = (config?["rootfs"] as? [String: Any])?["diff_ids"] as? [String]
        #expect(diffIDs != nil && inspect?["Layers"] as? [String] == diffIDs)
        try Shell.check("skopeo", ["copy", "--quiet", "docker-archive:\(built.output)", "oci:\(built.fixture.root)/copy:latest"])
        try Self.expectUnpacks("\(built.fixture.root)/copy:latest", built)
    }

    @Test("podman loads the dual archive and the oci-archive as the image ID build reported", .serialized, arguments: ["dual", "oci-archive"])
    func podmanLoad(_ format: String) throws {
        let built = try Self.build("oci-podman-\(format)", format: format, compression: "gzip")
        defer { built.fixture.remove() }
        let podman = try Podman()
        defer { podman.reset() }
        try podman.run(["load", "--input", built.output])
        let ids = try podman.run(["images", "--no-trunc", "--format", "{{.ID}}"])
        #expect(ids.split(separator: "\n").map { "sha256:" + $0.replacingOccurrences(of: "sha256:", with: "") } == [built.imageID])
    }

    @Test("--compression or --spill-dir on a docker-archive, and oci-layout without -o, are usage errors")
    func usageErrors() throws {
        let fixture = try ConfFixture(label: "oci-usage")
        defer { fixture.remove() }
        let conf = try fixture.write()
        for arguments in [["--compression", "gzip", "-o", fixture.root + "/x.tar"], ["--format", "oci-layout"], ["--spill-dir", fixture.root, "-o", fixture.root + "/x.tar"]] {
            let result = try CLI.run(["build", "--nixpkgs-conf", conf] + arguments)
            #expect(result.status == 2, "\(arguments): \(result.stderr)")
        }
        #expect(!FileManager.default.fileExists(atPath: fixture.root + "/x.tar"))
    }

    @Test("a spec's expectDigest passes when it matches and otherwise fails with one line and no output")
    func expectDigest() throws {
        let folder = try CLI.temporaryDirectory("oci-pin")
        defer { try? FileManager.default.removeItem(atPath: folder) }
        let store = CLI.repositoryRoot + "/Corpus/store"
        func spec(_ pin: String) throws -> String {
            let path = folder + "/spec.json"
            let text = #"{"name": "pinned", "tag": "v1", "store": "\#(store)", "contents": ["dhcb9jz9r22yrwjj82la99bbl6chybxm-hello-2.12.1"], "expectDigest": "\#(pin)"}"#
            try text.write(toFile: path, atomically: true, encoding: .utf8)
            return path
        }
        let wrong = "sha256:" + String(repeating: "0", count: 64)
        let output = folder + "/image.tar"
        let failed = try CLI.run(["build", try spec(wrong), "--format", "oci-archive", "--digest-file", folder + "/digest", "-o", output])
        #expect(failed.status == 1)
        #expect(failed.stderr.split(separator: "\n").count == 1 && failed.stderr.contains("expectDigest \(wrong)"), "\(failed.stderr)")
        #expect(!FileManager.default.fileExists(atPath: output) && !FileManager.default.fileExists(atPath: folder + "/digest"))
        let actual = try #require(failed.stderr.split(separator: " ").last.map { String($0.prefix(71)) })
        let passed = try CLI.run(["build", try spec(actual), "--format", "oci-archive", "-o", output])
        #expect(passed.status == 0, "\(passed.stderr)")
        #expect(passed.stderr.contains("manifest digest \(actual)"))
        let layout = try CLI.run(["build", try spec(actual), "--format", "oci-layout", "--compression", "zstd", "-o", folder + "/layout"])
        #expect(layout.status == 1 && !FileManager.default.fileExists(atPath: folder + "/layout"), "a pin names one format's digest")
        let leftovers = try FileManager.default.contentsOfDirectory(atPath: folder).filter { $0.contains(".tmp-") }
        #expect(leftovers.isEmpty)
    }
}

/// podman with storage of its own (vfs, a temporary root), so tests neither need nor touch the
/// host's images.
struct Podman {
    let root: String

    /// podman refuses a run root longer than 50 characters, so the folder name is short.
    init() throws {
        root = "/tmp/repro-check-podman-\(UUID().uuidString.prefix(8))"
        try FileManager.default.createDirectory(atPath: root, withIntermediateDirectories: true)
    }

    var globalArguments: [String] {
        [
            "--root", root + "/root", "--runroot", root + "/run", "--tmpdir", root + "/tmp", "--storage-driver", "vfs",
            "--events-backend", "none", "--cgroup-manager", "cgroupfs",
        ]
    }

    @discardableResult
    func run(_ arguments: [String]) throws -> String {
        try Shell.check("podman", globalArguments + arguments)
    }

    /// Removes the storage: vfs layers are plain directories, and nothing outside `root` was used.
    func reset() {
        try? FileManager.default.removeItem(atPath: root)
    }
}
