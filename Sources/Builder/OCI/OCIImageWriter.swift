import Foundation
#if canImport(Glibc)
import Glibc
#endif

/// What an OCI image holds, for callers that print, pin or record it.
public struct OCIImageResult: Sendable, Equatable {
    /// The image ID: the same config, and so the same ID, as the docker-archive of the plan.
    public var configDigest: Digest
    /// The digest a registry reports after a push that preserves digests.
    public var manifestDigest: Digest
    public var manifestSize: UInt64
    public var diffIDs: [Digest]
    public var layers: [OCIDescriptor]
    public var repoTag: String
    public var compression: LayerCompression
    /// The libraries that produced the compressed bytes.
    public var compressors: CompressorVersions
    public var bytesWritten: UInt64
}

/// Streams an OCI image layout (oci-archive, oci-layout, or the dual archive that is also a
/// docker-archive) from a plan.
///
/// As in the docker-archive writer, each layer is produced twice: the first pass (on worker
/// threads) learns its diffID and, compressing, the blob's digest and size, which the tar header
/// and the manifest need before the blob's bytes; the second pass compresses again while
/// streaming, and both digests must come out the same. Memory stays flat; the cost is
/// compressing every layer twice.
public struct OCIImageWriter: Sendable {
    public var plan: ImagePlan
    public var compression: LayerCompression
    /// Also write a docker-archive `manifest.json` naming the same blobs.
    public var dockerManifest: Bool
    /// Compress each layer once, keeping its blob in an unlinked temporary file in this
    /// directory until it streams, instead of compressing it again: half the CPU, at the cost of
    /// disk space for the compressed layers in flight (the files vanish with the process).
    public var spillDirectory: String?
    public var progress: (@Sendable (BuildProgress) -> Void)?

    public init(
        plan: ImagePlan, compression: LayerCompression, dockerManifest: Bool = false, spillDirectory: String? = nil,
        progress: (@Sendable (BuildProgress) -> Void)? = nil
    ) {
        self.plan = plan
        self.compression = compression
        self.dockerManifest = dockerManifest
        self.spillDirectory = spillDirectory
        self.progress = progress
    }

    struct Measured: Sendable, Equatable {
        var diffID: Digest
        var size: UInt64
        var blob: Digest
        var blobSize: UInt64
    }

    struct FirstPassResult: Sendable {
        var measured: Measured
        var spilled: SpilledBlob?
    }

    public func write<D: LayoutDestination>(to destination: D) throws -> (OCIImageResult, D) {
        let layers: [any Layer] = (plan.baseImage?.layers ?? []) + plan.storeLayers + [plan.customisation]
        let compression = self.compression
        let spillDirectory = compression == .none ? nil : self.spillDirectory
        // A compressor already spreads one layer over every core: one first-pass worker, running
        // a layer ahead of the stream, keeps both passes busy with two compressors in memory.
        let firstPass = FirstPass(layers: layers, workers: compression == .none ? nil : 1, progress: progress) { layer, buffer in
            let spilled = try spillDirectory.map { try SpilledBlob(directory: $0) }
            let measured: Measured
            if let spilled {
                var file = FileDescriptorSink(fd: spilled.fd, label: spilled.label, bufferSize: 1 << 18)
                measured = try Self.produce(layer, compression: compression, into: &file, buffer: buffer)
                try file.flush()
            } else {
                var discard = DiscardingSink()
                measured = try Self.produce(layer, compression: compression, into: &discard, buffer: buffer)
            }
            try layer.verify(firstPass: measured.diffID, buffer: buffer)
            return FirstPassResult(measured: measured, spilled: spilled)
        }
        defer { firstPass.stop() }

        var out = destination
        var stored = Set<Digest>()
        try out.addDirectory("blobs")
        try out.addDirectory("blobs/sha256")
        let buffer = CopyBuffer()
        var diffIDs: [Digest] = []
        var descriptors: [OCIDescriptor] = []
        for (index, layer) in layers.enumerated() {
            let firstResult = try firstPass.result(index)
            let first = firstResult.measured
            diffIDs.append(first.diffID)
            let descriptor = OCIDescriptor(mediaType: compression.layerMediaType, digest: first.blob, size: first.blobSize)
            descriptors.append(descriptor)
            progress?(.writing(layer: index + 1, of: layers.count, bytesSoFar: out.offset))
            // Identical layers share one blob.
            guard stored.insert(first.blob).inserted else { continue }
            var file = try out.beginFile(descriptor.blobPath, size: first.blobSize)
            if let spilled = firstResult.spilled {
                // The bytes the first pass hashed, read back and hashed again on the way out.
                var hashing = ForkSink(first: HashingSink(), second: file)
                try spilled.copy(first.blobSize, into: &hashing, buffer: buffer)
                try out.endFile(hashing.second)
                let (digest, size) = hashing.first.finalize()
                guard digest == first.blob, size == first.blobSize else {
                    throw OCIWriterError.spillChanged(layer: index + 1, file: spilled.label)
                }
                continue
            }
            let second = try Self.produce(layer, compression: compression, into: &file, buffer: buffer)
            try out.endFile(file)
            guard second.diffID == first.diffID, second.size == first.size else {
                throw ImageBuildError.storeChanged(layer: index + 1, first: first.diffID, second: second.diffID)
            }
            guard second == first else {
                throw OCIWriterError.compressorNotDeterministic(layer: index + 1, first: first.blob, second: second.blob)
            }
        }

        let configBytes = try ImageConfig.render(plan: plan, base: plan.baseImage, diffIDs: diffIDs, historyPaths: layers.map(\.historyPaths))
        let config = OCIDescriptor(mediaType: OCIDocuments.configMediaType, digest: Digest.of(configBytes), size: UInt64(configBytes.count))
        let manifestBytes = OCIDocuments.manifest(config: config, layers: descriptors)
        let manifest = OCIDescriptor(mediaType: OCIDocuments.manifestMediaType, digest: Digest.of(manifestBytes), size: UInt64(manifestBytes.count))
        let repoTag = plan.repoTag.resolve(diffIDs: diffIDs)
        for (descriptor, bytes) in [(config, configBytes), (manifest, manifestBytes)] where stored.insert(descriptor.digest).inserted {
            try out.addFile(descriptor.blobPath, content: bytes)
        }
        try out.addFile("index.json", content: OCIDocuments.index(manifest: manifest, tag: OCIDocuments.tag(ofRepoTag: repoTag)))
        if dockerManifest {
            try out.addFile("manifest.json", content: OCIDocuments.dockerManifest(config: config, repoTag: repoTag, layers: descriptors))
        }
        try out.addFile("oci-layout", content: OCIDocuments.layoutMarker)
        progress?(.finished(bytes: out.offset))

        let result = OCIImageResult(
            configDigest: config.digest, manifestDigest: manifest.digest, manifestSize: manifest.size, diffIDs: diffIDs,
            layers: descriptors, repoTag: repoTag, compression: compression, compressors: .linked, bytesWritten: out.offset
        )
        return (result, out)
    }

    /// Writes a layer's blob into `sink`, hashing the uncompressed tar (the diffID) and the blob.
    static func produce<S: ByteSink>(_ layer: any Layer, compression: LayerCompression, into sink: inout S, buffer: CopyBuffer) throws -> Measured {
        let label = layer.historyPaths.first ?? "a layer"
        if compression == .none {
            var tee = TeeHashingSink(sink)
            try writeTar(layer, into: &tee, buffer: buffer)
            sink = tee.inner
            let (digest, size) = tee.hashing.finalize()
            return Measured(diffID: digest, size: size, blob: digest, blobSize: size)
        }
        // Beside a compressor, hashing inline costs little (SHA-256 runs many times faster than
        // deflate) and saves the pipelined hashers' buffers and threads.
        let compressing = try CompressingSink(compression, inner: ForkSink(first: HashingSink(), second: sink), label: label, workers: compressionWorkers)
        var tee = ForkSink(first: HashingSink(), second: compressing)
        try writeTar(layer, into: &tee, buffer: buffer)
        var compressor = tee.second
        try compressor.finish()
        sink = compressor.inner.second
        let (diffID, size) = tee.first.finalize()
        let (blob, blobSize) = compressor.inner.first.finalize()
        return Measured(diffID: diffID, size: size, blob: blob, blobSize: blobSize)
    }

    /// zstd's worker threads; they never change the bytes.
    static var compressionWorkers: Int { max(1, min(ProcessInfo.processInfo.activeProcessorCount, FirstPass<Int>.maximumWorkers)) }

    /// The layer's uncompressed tar. A base image may store a layer gzipped; an OCI blob is
    /// compressed (or not) from the tar itself, which is what its diffID names.
    private static func writeTar<S: ByteSink>(_ layer: any Layer, into sink: inout S, buffer: CopyBuffer) throws {
        guard let base = layer as? BaseLayer, try base.isGzipped(buffer: buffer) else {
            return try layer.write(to: &sink, buffer: buffer)
        }
        var inflating = try GunzipSink(inner: sink, label: base.archivePath)
        try base.write(to: &inflating, buffer: buffer)
        try inflating.finish()
        sink = inflating.inner
    }
}

extension BaseLayer {
    /// Whether the member starts with gzip's magic bytes.
    func isGzipped(buffer: CopyBuffer) throws -> Bool {
        var probe = PrefixSink(limit: 2, inner: MemorySink())
        do { try write(to: &probe, buffer: buffer) } catch is PrefixSink<MemorySink>.Enough {}
        return probe.inner.bytes == [0x1F, 0x8B]
    }
}

/// Writes every byte to two sinks, first to `first`.
struct ForkSink<First: ByteSink, Second: ByteSink>: ByteSink {
    var first: First
    var second: Second

    mutating func write(_ bytes: UnsafeRawBufferPointer) throws {
        try first.write(bytes)
        try second.write(bytes)
    }

    mutating func flush() throws {
        try first.flush()
        try second.flush()
    }
}

/// Drops everything: the first pass only needs the hashes taken on the way.
struct DiscardingSink: ByteSink {
    mutating func write(_ bytes: UnsafeRawBufferPointer) throws {}
    mutating func flush() throws {}
}

/// An unlinked temporary file holding one compressed blob between the passes; it disappears when
/// closed or when the process dies, so nothing is ever left behind.
final class SpilledBlob: @unchecked Sendable {
    let fd: Int32
    let label: String

    init(directory: String) throws {
        label = "a temporary file in \(directory)"
        fd = try Self.openUnlinked(in: directory)
    }

    /// Linux's `O_TMPFILE` (`__O_TMPFILE | O_DIRECTORY`; Glibc hides the macro from Swift).
    private static let temporaryFileFlag: Int32 = 0o20000000 | O_DIRECTORY

    private static func openUnlinked(in directory: String) throws -> Int32 {
        let fd = open(directory, temporaryFileFlag | O_RDWR | O_CLOEXEC, 0o600)
        if fd >= 0 { return fd }
        guard errno == EOPNOTSUPP || errno == EISDIR || errno == EINVAL else { throw IOError.open(directory, errno: errno) }
        // A file system without O_TMPFILE: a named file, unlinked at once.
        var template = Array("\(directory)/.repro-check-spill-XXXXXX".utf8CString)
        let named = template.withUnsafeMutableBufferPointer { $0.baseAddress.map { mkstemp($0) } ?? -1 }
        guard named >= 0 else { throw IOError.open(directory, errno: errno) }
        _ = fcntl(named, F_SETFD, FD_CLOEXEC)
        unlink(String(decoding: template.dropLast().map { UInt8(bitPattern: $0) }, as: UTF8.self))
        return named
    }

    deinit { close(fd) }

    func copy<S: ByteSink>(_ size: UInt64, into sink: inout S, buffer: CopyBuffer) throws {
        var offset: UInt64 = 0
        while offset < size {
            let want = Int(min(UInt64(buffer.bytes.count), size - offset))
            let got = pread(fd, buffer.bytes.baseAddress, want, off_t(offset))
            if got < 0 && errno == EINTR { continue }
            guard got > 0 else { throw got < 0 ? IOError.read(label, errno: errno) : IOError.shortRead(label, expected: size, got: offset) }
            try sink.write(UnsafeRawBufferPointer(rebasing: buffer.bytes[0..<got]))
            offset += UInt64(got)
        }
    }
}

public enum OCIWriterError: Error, CustomStringConvertible, Equatable {
    case compressorNotDeterministic(layer: Int, first: Digest, second: Digest)
    case spillChanged(layer: Int, file: String)

    public var description: String {
        switch self {
        case let .compressorNotDeterministic(layer, first, second):
            "layer \(layer) compressed to different bytes on its second pass (\(first.hex), then \(second.hex)); refusing to emit a wrong blob digest"
        case let .spillChanged(layer, file):
            "layer \(layer)'s compressed blob changed in \(file) before it was written; refusing to emit a wrong blob digest"
        }
    }
}
