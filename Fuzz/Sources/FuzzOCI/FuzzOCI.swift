import Builder
import Foundation
import Harness

/// The OCI reading path of `diff` (the tar scan, index.json, manifest and config parsing,
/// descriptor checks, layer decompression and the entry-by-entry comparison) over an arbitrary
/// tar compared with a fixed small oci-archive. Before the comparison, every blob whose bytes no
/// longer match its name is renamed to its digest and the old name replaced in the other
/// members, so mutated manifests, configs and layers still reach the parsers behind the digest
/// check. Any outcome but a trap is fine; errors are expected.
@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzOCI(_ data: UnsafePointer<UInt8>, _ size: Int) -> CInt {
    let bytes = Array(UnsafeBufferPointer(start: data, count: size))
    guard let files = Scratch.shared else { return 0 }
    let fuzzed = files.directory + "/fuzzed.tar"
    let input = Renamer.fix(bytes) ?? bytes
    guard FileManager.default.createFile(atPath: fuzzed, contents: Data(input)) else { return 0 }
    do {
        _ = try ArchiveDiff.compare(control: files.control, experiment: fuzzed, limit: 8)
    } catch {
        _ = "\(error)"
    }
    return 0
}

/// A scratch folder holding the fixed control archive, made once per process.
final class Scratch: Sendable {
    let directory: String
    let control: String

    static let shared: Scratch? = try? Scratch()

    init() throws {
        directory = NSTemporaryDirectory() + "repro-check-fuzz-oci-\(getpid())"
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        control = directory + "/control.tar"
        var tar = TarWriter(sink: MemorySink())
        for entry in ["etc/", "etc/value"] {
            let content = entry.hasSuffix("/") ? [] : Array("fixed\n".utf8)
            var header = TarHeader(name: entry, mode: 0o644, mtime: 1, typeflag: entry.hasSuffix("/") ? TarType.directory : TarType.regular)
            header.size = UInt64(content.count)
            try tar.writeHeader(header)
            if !content.isEmpty { try tar.writeData(content) }
        }
        try tar.finish()
        let layer = tar.sink.bytes
        var compressing = try CompressingSink(.zstd, inner: MemorySink(), label: "fuzz layer")
        try compressing.write(layer)
        try compressing.finish()
        let blob = compressing.inner.bytes
        let config = Array(#"{"architecture":"amd64","os":"linux","rootfs":{"diff_ids":["\#(Digest.of(layer))"],"type":"layers"}}"#.utf8)
        let layerDescriptor = OCIDescriptor(mediaType: LayerCompression.zstd.layerMediaType, digest: Digest.of(blob), size: UInt64(blob.count))
        let configDescriptor = OCIDescriptor(mediaType: OCIDocuments.configMediaType, digest: Digest.of(config), size: UInt64(config.count))
        let manifest = OCIDocuments.manifest(config: configDescriptor, layers: [layerDescriptor])
        let manifestDescriptor = OCIDescriptor(mediaType: OCIDocuments.manifestMediaType, digest: Digest.of(manifest), size: UInt64(manifest.count))
        var archive = TarWriter(sink: MemorySink())
        for (name, content) in [
            (layerDescriptor.blobPath, blob), (configDescriptor.blobPath, config), (manifestDescriptor.blobPath, manifest),
            ("index.json", OCIDocuments.index(manifest: manifestDescriptor, tag: "latest")), ("oci-layout", OCIDocuments.layoutMarker),
        ] {
            try archive.add(TarHeader(name: name, mtime: 1), content: content)
        }
        try archive.finish()
        guard FileManager.default.createFile(atPath: control, contents: Data(archive.sink.bytes)) else {
            throw CocoaError(.fileWriteUnknown)
        }
    }
}

/// Renames mutated blobs to their digests and updates the names the other members use.
enum Renamer {
    static func fix(_ bytes: [UInt8]) -> [UInt8]? {
        var members: [(header: TarHeader, content: [UInt8])] = []
        var reader = TarReader(source: MemorySource(bytes, label: "fuzz.tar"))
        do {
            while let header = try reader.next() {
                guard header.size <= 1 << 16 else { return nil }
                members.append((header, header.carriesData ? try reader.readAll(limit: 1 << 16) : []))
            }
        } catch {
            return nil
        }
        // A few rounds: a layer renamed changes the manifest, which is then renamed, which
        // changes index.json.
        for _ in 0..<4 {
            var renamed = false
            for index in members.indices {
                let name = members[index].header.nameString
                guard name.hasPrefix("blobs/sha256/"), members[index].header.carriesData else { continue }
                let old = String(name.dropFirst("blobs/sha256/".count))
                let new = Digest.of(members[index].content).hex
                guard old != new, old.utf8.count == 64 else { continue }
                members[index].header.name = Array("blobs/sha256/\(new)".utf8)
                for other in members.indices where other != index {
                    members[other].content = replace(Array(old.utf8), with: Array(new.utf8), in: members[other].content)
                }
                renamed = true
            }
            if !renamed { break }
        }
        var tar = TarWriter(sink: MemorySink())
        do {
            for member in members {
                var header = member.header
                header.size = UInt64(member.content.count)
                try tar.writeHeader(header)
                if header.carriesData { try tar.writeData(member.content) }
            }
            try tar.finish()
        } catch {
            return nil
        }
        return tar.sink.bytes
    }

    static func replace(_ old: [UInt8], with new: [UInt8], in content: [UInt8]) -> [UInt8] {
        guard content.count >= old.count else { return content }
        var out: [UInt8] = []
        var index = 0
        while index < content.count {
            if index + old.count <= content.count, content[index..<(index + old.count)].elementsEqual(old) {
                out += new
                index += old.count
            } else {
                out.append(content[index])
                index += 1
            }
        }
        return out
    }
}
