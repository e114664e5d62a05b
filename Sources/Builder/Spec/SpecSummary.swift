import Crypto
import Foundation

/// What a harness needs to know about a spec without building it.
public struct SpecSummary: Sendable, Equatable {
    public var name: String
    /// `reproducible`, or `unreproducible` for a negative control.
    public var expectation: String
    /// sha256 of the spec and every input it reads (store folder, graph, base image): the key
    /// under which image digests are compared across runs and hosts.
    public var inputDigest: Digest
    /// The spec's `expectDigest`, which `check` judges itself (its child builds ignore it).
    public var expectDigest: Digest? = nil
}

extension ImageSpec {
    public static func summary(ofSpecAt path: String) throws -> SpecSummary {
        let spec = try load(path: path)
        return SpecSummary(
            name: spec.name, expectation: spec.expect, inputDigest: try spec.inputDigest(), expectDigest: spec.expectDigest)
    }

    /// Hashes the spec's bytes and a canonical listing of its inputs: each store entry's path,
    /// type, executable bit, size and content digest (or link target), in the walk's fixed order.
    public func inputDigest() throws -> Digest {
        var hasher = SHA256()
        func add(_ line: String) { hasher.update(data: Array((line + "\n").utf8)) }
        add("spec \(try fileDigest(file))")
        if let graph { add("graph \(try fileDigest(graph))") }
        if let fromImage { add("fromImage \(try fileDigest(fromImage))") }
        let buffer = CopyBuffer(size: 1 << 16)
        // A spec without a store folder cannot build, but it still has an identity.
        guard FileSystem.exists(Array(store.utf8)) else {
            add("store absent")
            return Digest(bytes: hasher.finalize())
        }
        try StoreWalk.forEach(root: Array(store.utf8)) { entry in
            let name = String(decoding: entry.relative, as: UTF8.self)
            // Only the executable bit: builds canonicalise modes, and a checkout's umask must not
            // make two hosts disagree about what the inputs are.
            let mode = entry.status.mode & 0o111 != 0 ? "x" : "-"
            if entry.status.isRegular {
                var sink = HashingSink()
                let file = try entry.open()
                try file.copy(size: entry.status.size, buffer: buffer.bytes) { try sink.write($0) }
                add("file \(name) \(mode) \(entry.status.size) \(sink.finalize().digest.hex)")
            } else if entry.status.isSymlink {
                add("link \(name) \(String(decoding: try entry.readLink(), as: UTF8.self))")
            } else {
                add("entry \(name) \(entry.status.type) \(mode)")
            }
        }
        return Digest(bytes: hasher.finalize())
    }

    private func fileDigest(_ path: String) throws -> String {
        var sink = HashingSink()
        let file = try ReadableFile(path: Array(path.utf8))
        let status = try FileSystem.status(Array(path.utf8), follow: true)
        let buffer = CopyBuffer(size: 1 << 16)
        try file.copy(size: status.size, buffer: buffer.bytes) { try sink.write($0) }
        return sink.finalize().digest.hex
    }
}
