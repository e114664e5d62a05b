import Builder
import Foundation
import Testing

/// The archives are accepted by real clients, not only by our own reader: skopeo converts each
/// to an OCI layout, umoci unpacks it, and the unpacked root shows the expected files, links,
/// modes, owners and layer counts.
@Suite("Real clients", .serialized)
struct RealClientTests {
    struct Loaded {
        var inspect: [String: Any]
        var rootfs: String
        var scratch: String
    }

    /// docker-archive → skopeo copy → OCI layout → umoci unpack.
    static func load(_ name: String) throws -> Loaded {
        let scratch = try FixtureStore.temporaryDirectory("client-\(name)")
        let archive = scratch + "/image.tar"
        _ = try ReferenceArchiveTests.build(name, output: archive)
        let inspectOutput = try Tools.check("skopeo", ["inspect", "docker-archive:\(archive)"])
        let inspect = try JSONSerialization.jsonObject(with: Data(inspectOutput.stdout.utf8)) as? [String: Any] ?? [:]
        try Tools.check("skopeo", ["copy", "--quiet", "docker-archive:\(archive)", "oci:\(scratch)/oci:latest"])
        try Tools.check("umoci", ["unpack", "--image", "\(scratch)/oci:latest", "\(scratch)/bundle"])
        return Loaded(inspect: inspect, rootfs: scratch + "/bundle/rootfs", scratch: scratch)
    }

    static func attributes(_ path: String) throws -> (mode: Int, uid: Int, gid: Int, type: FileAttributeType) {
        let attributes = try FileManager.default.attributesOfItem(atPath: path)
        return (
            (attributes[.posixPermissions] as? Int) ?? -1,
            (attributes[.ownerAccountID] as? Int) ?? -1,
            (attributes[.groupOwnerAccountID] as? Int) ?? -1,
            (attributes[.type] as? FileAttributeType) ?? .typeUnknown
        )
    }

    @Test("every fixture archive is accepted by skopeo and unpacked by umoci", arguments: ReferenceArchiveTests.cases)
    func everyFixtureLoads(_ name: String) throws {
        let loaded = try Self.load(name)
        defer { FixtureStore.remove(loaded.scratch) }
        let layers = loaded.inspect["Layers"] as? [Any] ?? []
        #expect(!layers.isEmpty)
        #expect(FileManager.default.fileExists(atPath: loaded.rootfs + "/nix/store"))
    }

    @Test("a basic image unpacks with its files, modes, owners, symlinks and three layers")
    func basicContents() throws {
        let loaded = try Self.load("basic")
        defer { FixtureStore.remove(loaded.scratch) }
        #expect((loaded.inspect["Layers"] as? [Any])?.count == 3)
        #expect(loaded.inspect["Architecture"] as? String == "amd64")
        let hello = loaded.rootfs + "/nix/store/x7dndnjjp9rwx39kawqn76z8ig820dmy-hello-2.12/bin/hello"
        let file = try Self.attributes(hello)
        #expect(file.mode == 0o555 && file.uid == 0 && file.gid == 0 && file.type == .typeRegular)
        #expect(try String(contentsOfFile: hello, encoding: .utf8) == "#!/bin/sh\necho hello\n")
        let readme = try Self.attributes(loaded.rootfs + "/nix/store/x7dndnjjp9rwx39kawqn76z8ig820dmy-hello-2.12/share/doc/README")
        #expect(readme.mode == 0o444)
        let link = try FileManager.default.destinationOfSymbolicLink(atPath: loaded.rootfs + "/bin")
        #expect(link == "/nix/store/x7dndnjjp9rwx39kawqn76z8ig820dmy-hello-2.12/bin")
    }

    @Test("non-root owners reach the unpacked files")
    func nonRootOwners() throws {
        let loaded = try Self.load("non-root")
        defer { FixtureStore.remove(loaded.scratch) }
        let hello = try Self.attributes(loaded.rootfs + "/nix/store/x7dndnjjp9rwx39kawqn76z8ig820dmy-hello-2.12/bin/hello")
        #expect(hello.uid == 1000 && hello.gid == 100)
    }

    @Test("hard links arrive as independent full files")
    func hardLinks() throws {
        let loaded = try Self.load("hard-links")
        defer { FixtureStore.remove(loaded.scratch) }
        let directory = loaded.rootfs + "/nix/store/jqzaafbygknk8j8l40a14wp9alb7yyb8-hl-a-1.0"
        let original = try Data(contentsOf: URL(fileURLWithPath: directory + "/bin/prog"))
        let alias = try Data(contentsOf: URL(fileURLWithPath: directory + "/bin/prog-alias"))
        #expect(!original.isEmpty && original == alias)
        #expect(try Self.attributes(directory + "/bin/prog-alias").type == .typeRegular)
    }

    @Test("a base image contributes its layers first and its Env is merged")
    func baseImage() throws {
        let loaded = try Self.load("base-image")
        defer { FixtureStore.remove(loaded.scratch) }
        #expect((loaded.inspect["Layers"] as? [Any])?.count == 4)
        let env = loaded.inspect["Env"] as? [String] ?? []
        #expect(env == ["PATH=/a", "FOO=2", "BAR=3"])
        #expect(FileManager.default.fileExists(atPath: loaded.rootfs + "/nix/store/bfxg838r7dgbn9nizviykmrf1rrxy4qh-app-2.0/bin/app"))
    }

    @Test("a symlinked store path stays a symlink")
    func symlinkedStorePath() throws {
        let loaded = try Self.load("symlinked-store-path")
        defer { FixtureStore.remove(loaded.scratch) }
        let alias = try Self.attributes(loaded.rootfs + "/nix/store/q1ms1w5bwazvc9i10s7sh7mpg1iz220x-alias-1.0")
        #expect(alias.type == .typeSymbolicLink)
    }
}
