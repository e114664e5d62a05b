import Builder
import Foundation
@testable import Harness
import Testing

/// A `TestArchive` image as an OCI image layout, built in memory the way the OCI writer lays it
/// out (blobs, then index.json, manifest.json for a dual archive, oci-layout), so a test may
/// change any file before writing it as a tar or a directory.
struct TestLayout {
    var files: [(name: String, bytes: [UInt8])]
    var manifestDigest: Digest
    var layerBlobs: [Digest]

    init(_ image: TestArchive.Built, compression: LayerCompression, dual: Bool = false, tag: String = "latest") throws {
        let blobs = try image.layerTars.map { try Self.compress($0, compression) }
        let layers = blobs.map { OCIDescriptor(mediaType: compression.layerMediaType, digest: Digest.of($0), size: UInt64($0.count)) }
        let config = OCIDescriptor(
            mediaType: OCIDocuments.configMediaType, digest: Digest.of(image.configBytes), size: UInt64(image.configBytes.count))
        let manifestBytes = OCIDocuments.manifest(config: config, layers: layers)
        let manifest = OCIDescriptor(
            mediaType: OCIDocuments.manifestMediaType, digest: Digest.of(manifestBytes), size: UInt64(manifestBytes.count))
        var files: [(String, [UInt8])] = []
        var stored = Set<Digest>()
        for (descriptor, bytes) in zip(layers, blobs) + [(config, image.configBytes), (manifest, manifestBytes)]
        where stored.insert(descriptor.digest).inserted {
            files.append((descriptor.blobPath, bytes))
        }
        files.append(("index.json", OCIDocuments.index(manifest: manifest, tag: tag)))
        if dual {
            files.append(("manifest.json", OCIDocuments.dockerManifest(config: config, repoTag: "hello:\(tag)", layers: layers)))
        }
        files.append(("oci-layout", OCIDocuments.layoutMarker))
        self.files = files
        manifestDigest = manifest.digest
        layerBlobs = layers.map(\.digest)
    }

    static func compress(_ bytes: [UInt8], _ compression: LayerCompression) throws -> [UInt8] {
        var sink = try CompressingSink(compression, inner: MemorySink(), label: "a test layer")
        try sink.write(bytes)
        try sink.finish()
        return sink.inner.bytes
    }

    /// Replaces the bytes of the file `name` (a blob keeps its name, so its digest no longer matches).
    mutating func replace(_ name: String, with bytes: [UInt8]) {
        guard let index = files.firstIndex(where: { $0.name == name }) else { return }
        files[index].bytes = bytes
    }

    /// Rewrites the manifest with `transform`, stores it under its new digest and points
    /// index.json at it (digest and size), so only what `transform` changed is wrong.
    mutating func rewriteManifest(_ transform: (String) -> String) {
        let oldName = "blobs/sha256/\(manifestDigest.hex)"
        let old = bytes(of: oldName)
        let new = Array(transform(String(decoding: old, as: UTF8.self)).utf8)
        let newDigest = Digest.of(new)
        files.removeAll { $0.name == oldName }
        files.insert(("blobs/sha256/\(newDigest.hex)", new), at: 0)
        let index = String(decoding: bytes(of: "index.json"), as: UTF8.self)
            .replacingOccurrences(of: manifestDigest.hex, with: newDigest.hex)
            .replacingOccurrences(of: "\"size\":\(old.count)", with: "\"size\":\(new.count)")
        replace("index.json", with: Array(index.utf8))
        manifestDigest = newDigest
    }

    /// Rewrites index.json's `manifests` with `transform`, each entry a JSON object (keys sorted
    /// when written back, as both sides of a comparison are).
    mutating func editIndex(_ transform: (inout [[String: Any]]) -> Void) throws {
        var index = try #require(try JSONSerialization.jsonObject(with: Data(bytes(of: "index.json"))) as? [String: Any])
        var manifests = try #require(index["manifests"] as? [[String: Any]])
        transform(&manifests)
        index["manifests"] = manifests
        replace("index.json", with: Array(try JSONSerialization.data(withJSONObject: index, options: [.sortedKeys, .withoutEscapingSlashes])))
    }

    /// Lists `other`'s image in index.json too, after those listed already, and adds the blobs
    /// it needs, as a multi-platform index or one with several ref names holds them.
    mutating func addImage(_ other: TestLayout) throws {
        let present = Set(files.map(\.name))
        let blobs = other.files.filter { $0.name.hasPrefix("blobs/") && !present.contains($0.name) }
        files.insert(contentsOf: blobs, at: files.firstIndex { !$0.name.hasPrefix("blobs/") } ?? files.count)
        let entries = try #require(
            try JSONSerialization.jsonObject(with: Data(other.bytes(of: "index.json"))) as? [String: Any])["manifests"] as? [[String: Any]]
        try editIndex { $0 += entries ?? [] }
    }

    /// The digests of the manifests index.json lists, in its order.
    var manifestDigests: [Digest] {
        let index = (try? JSONSerialization.jsonObject(with: Data(bytes(of: "index.json")))) as? [String: Any]
        let entries = index?["manifests"] as? [[String: Any]] ?? []
        return entries.compactMap { ($0["digest"] as? String).flatMap(Digest.init(parsing:)) }
    }

    /// The index entry's platform object (image-index.md).
    static func platform(_ os: String, _ architecture: String, variant: String? = nil) -> [String: Any] {
        var platform: [String: Any] = ["os": os, "architecture": architecture]
        if let variant { platform["variant"] = variant }
        return platform
    }

    /// Stores `bytes` under their own digest in place of the blob `old`; returns the new digest.
    mutating func replaceBlob(_ old: Digest, with bytes: [UInt8]) -> Digest {
        files.removeAll { $0.name == "blobs/sha256/\(old.hex)" }
        files.insert(("blobs/sha256/\(Digest.of(bytes).hex)", bytes), at: 0)
        return Digest.of(bytes)
    }

    func bytes(of name: String) -> [UInt8] {
        files.first { $0.name == name }?.bytes ?? []
    }

    /// The layout as a tar (an oci-archive, or a dual archive when it holds manifest.json).
    func tar(mtime: Int = 1) throws -> [UInt8] {
        var tar = TarWriter(sink: MemorySink())
        for directory in ["blobs", "blobs/sha256"] {
            try tar.writeHeader(TarHeader(name: directory, mode: 0o755, mtime: mtime, typeflag: TarType.directory))
        }
        for file in files {
            try tar.add(TarHeader(name: file.name, mode: 0o644, mtime: mtime), content: file.bytes)
        }
        try tar.finish()
        return tar.sink.bytes
    }

    /// The layout as a directory under `files`; returns its path.
    func directory(_ name: String, in temporary: TemporaryFiles) throws -> String {
        let root = temporary.directory + "/" + name
        try FileManager.default.createDirectory(atPath: root + "/blobs/sha256", withIntermediateDirectories: true)
        for file in files { _ = try temporary.write(name + "/" + file.name, file.bytes) }
        return root
    }
}
