import Builder
import Foundation
@testable import Harness

/// A docker-archive built in memory the way the stream writer lays it out: layer members,
/// then the config, then manifest.json, each layer with a `store paths: [...]` history comment.
struct TestArchive {
    struct Entry {
        var header: TarHeader
        var content: [UInt8]

        static func file(_ name: String, _ content: String, mode: UInt32 = 0o444, mtime: Int = 1) -> Entry {
            Entry(name, Array(content.utf8), mode: mode, mtime: mtime)
        }

        init(_ name: String, _ content: [UInt8], mode: UInt32 = 0o444, mtime: Int = 1) {
            header = TarHeader(
                name: Array(name.utf8), mode: mode, size: UInt64(content.count), mtime: mtime,
                uname: Array("root".utf8), gname: Array("root".utf8)
            )
            self.content = content
        }

        static func directory(_ name: String, mtime: Int = 1) -> Entry {
            var entry = Entry(name, [], mode: 0o555, mtime: mtime)
            entry.header.typeflag = TarType.directory
            return entry
        }
    }

    struct Layer {
        var paths: [String]
        var entries: [Entry]
    }

    var layers: [Layer]
    var env: [String] = ["PATH=/bin"]
    var created = "1970-01-01T00:00:01+00:00"
    var repoTag = "hello:latest"
    var outerMtime = 1
    /// Manifest positions in archive order; nil keeps them in layer order.
    var storageOrder: [Int]?
    /// An extra outer member (its name may need a pax header).
    var extraMember: (name: String, content: [UInt8])?
    /// Store layer members gzip-compressed, as `docker save` of some tools does; diffIDs stay
    /// those of the uncompressed tars.
    var gzipLayers = false

    static func layerTar(_ entries: [Entry]) throws -> [UInt8] {
        var tar = TarWriter(sink: MemorySink())
        for entry in entries {
            try tar.writeHeader(entry.header)
            if entry.header.carriesData { try tar.writeData(entry.content) }
        }
        try tar.finish()
        return tar.sink.bytes
    }

    struct Built {
        var bytes: [UInt8]
        var layerTars: [[UInt8]]
        var configBytes: [UInt8]
        var manifestBytes: [UInt8]
        var diffIDs: [Digest] { layerTars.map { Digest.of($0) } }
        var configName: String { "\(Digest.of(configBytes).hex).json" }
    }

    func build() throws -> Built {
        let tars = try layers.map { try Self.layerTar($0.entries) }
        let diffIDs = tars.map { Digest.of($0) }
        let config = configBytes(diffIDs: diffIDs)
        let configName = "\(Digest.of(config).hex).json"
        let members = diffIDs.map { "\($0.hex)/layer.tar" }
        let manifest = ImageConfig.manifest(configName: configName, repoTag: repoTag, layers: members)

        var tar = TarWriter(sink: MemorySink())
        for index in storageOrder ?? Array(tars.indices) {
            try tar.add(TarHeader(name: members[index], mtime: outerMtime), content: gzipLayers ? try Self.gzip(tars[index]) : tars[index])
        }
        if let extraMember { try tar.add(TarHeader(name: extraMember.name, mtime: 1), content: extraMember.content) }
        try tar.add(TarHeader(name: configName, mtime: 1), content: config)
        try tar.add(TarHeader(name: "manifest.json", mtime: 1), content: manifest)
        try tar.finish()
        return Built(bytes: tar.sink.bytes, layerTars: tars, configBytes: config, manifestBytes: manifest)
    }

    /// An OCI image of the same layers, gzip-compressed, laid out as the OCI writer streams it:
    /// the blobs, `index.json`, (for `dual`) `manifest.json`, then `oci-layout`.
    struct BuiltOCI {
        var layerTars: [[UInt8]]
        var layerBlobs: [[UInt8]]
        var configBytes: [UInt8]
        var manifestBytes: [UInt8]
        /// Outer members in stream order, for a test to damage before `tar()`.
        var members: [(name: String, content: [UInt8])]
        var diffIDs: [Digest] { layerTars.map { Digest.of($0) } }
        var configDigest: Digest { Digest.of(configBytes) }
        var manifestDigest: Digest { Digest.of(manifestBytes) }

        func tar() throws -> [UInt8] {
            var tar = TarWriter(sink: MemorySink())
            for directory in ["blobs", "blobs/sha256"] { try tar.writeHeader(Entry.directory(directory).header) }
            for member in members { try tar.add(TarHeader(name: member.name, mtime: 1), content: member.content) }
            try tar.finish()
            return tar.sink.bytes
        }
    }

    func buildOCI(dual: Bool = false) throws -> BuiltOCI {
        let tars = try layers.map { try Self.layerTar($0.entries) }
        let blobs = try tars.map { try Self.gzip($0) }
        let config = configBytes(diffIDs: tars.map { Digest.of($0) })
        func descriptor(_ bytes: [UInt8], _ mediaType: String) -> OCIDescriptor {
            OCIDescriptor(mediaType: mediaType, digest: Digest.of(bytes), size: UInt64(bytes.count))
        }
        let configDescriptor = descriptor(config, OCIDocuments.configMediaType)
        let layerDescriptors = blobs.map { descriptor($0, LayerCompression.gzip.layerMediaType) }
        let manifest = OCIDocuments.manifest(config: configDescriptor, layers: layerDescriptors)
        let manifestDescriptor = descriptor(manifest, OCIDocuments.manifestMediaType)
        var members = zip(layerDescriptors, blobs).map { ($0.blobPath, $1) }
        members += [(configDescriptor.blobPath, config), (manifestDescriptor.blobPath, manifest)]
        members.append(("index.json", OCIDocuments.index(manifest: manifestDescriptor, tag: OCIDocuments.tag(ofRepoTag: repoTag))))
        if dual {
            members.append(("manifest.json", OCIDocuments.dockerManifest(config: configDescriptor, repoTag: repoTag, layers: layerDescriptors)))
        }
        members.append(("oci-layout", OCIDocuments.layoutMarker))
        return BuiltOCI(layerTars: tars, layerBlobs: blobs, configBytes: config, manifestBytes: manifest, members: members)
    }

    func configBytes(diffIDs: [Digest]) -> [UInt8] {
        let history = layers.map { layer in
            JSONValue.object(JSONObject([
                ("created", .string(created)), ("comment", .string("store paths: " + PythonRepr.list(layer.paths))),
            ]))
        }
        return PythonJSON.dumps(.object(JSONObject([
            ("created", .string(created)),
            ("architecture", "amd64"),
            ("os", "linux"),
            ("config", .object(JSONObject([("Env", .array(env.map(JSONValue.string)))]))),
            ("rootfs", .object(JSONObject([("diff_ids", .array(diffIDs.map { .string($0.description) })), ("type", "layers")]))),
            ("history", .array(history)),
        ])))
    }

    /// gzip(1)'s output, so readers are checked against a real encoder.
    static func gzip(_ bytes: [UInt8]) throws -> [UInt8] {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/bin/sh")
        process.arguments = ["-c", "gzip -n -c"]
        let input = Pipe(), output = Pipe()
        process.standardInput = input
        process.standardOutput = output
        try process.run()
        // Written from another thread: gzip may fill the output pipe before it reads all input.
        let writer = Thread {
            input.fileHandleForWriting.write(Data(bytes))
            try? input.fileHandleForWriting.close()
        }
        writer.start()
        let data = output.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        return Array(data)
    }

    static let glibc = "/nix/store/43p2vm6zmimlr0cihf7f95kwnri5icl0-glibc-2.37-8"
    static let hello = "/nix/store/x7dndnjjp9rwx39kawqn76z8ig820dmy-hello-2.12"
    static let helloBin = "nix/store/x7dndnjjp9rwx39kawqn76z8ig820dmy-hello-2.12/bin/hello"
    static let helloDir = "nix/store/x7dndnjjp9rwx39kawqn76z8ig820dmy-hello-2.12"

    /// Two store layers, as the `basic` writer fixture has.
    static var basic: TestArchive {
        TestArchive(layers: [
            Layer(paths: [glibc], entries: [
                .directory("nix/store/43p2vm6zmimlr0cihf7f95kwnri5icl0-glibc-2.37-8"),
                .directory("nix/store/43p2vm6zmimlr0cihf7f95kwnri5icl0-glibc-2.37-8/lib"),
                .file("nix/store/43p2vm6zmimlr0cihf7f95kwnri5icl0-glibc-2.37-8/lib/libc.so.6", "ELF fake libc\n", mode: 0o555),
            ]),
            Layer(paths: [hello], entries: [
                .directory(helloDir),
                .directory(helloDir + "/bin"),
                .file(helloBin, "#!/bin/sh\necho hello\n", mode: 0o555),
                .file(helloDir + "/README", "Hello, world.\n"),
            ]),
        ])
    }
}

/// A scratch directory for archive files; tests remove it when done.
struct TemporaryFiles {
    let directory: String

    init() throws {
        directory = NSTemporaryDirectory() + "/harness-tests-" + UUID().uuidString
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
    }

    func write(_ name: String, _ bytes: [UInt8]) throws -> String {
        let path = directory + "/" + name
        try Data(bytes).write(to: URL(fileURLWithPath: path))
        return path
    }

    func remove() { try? FileManager.default.removeItem(atPath: directory) }
}

/// A seeded generator, so a failing chunking can be replayed.
struct SplitMix64: RandomNumberGenerator {
    var state: UInt64
    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
}
