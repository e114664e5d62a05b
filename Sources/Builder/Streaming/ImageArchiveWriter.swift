import Foundation

/// What a finished archive holds, for callers that record or verify it.
public struct ImageArchiveResult: Sendable, Equatable {
    public var configDigest: Digest
    public var diffIDs: [Digest]
    public var layerSizes: [UInt64]
    public var layerMembers: [String]
    public var layerPaths: [[String]]
    public var archiveSize: UInt64
}

/// Progress of a build, for a terminal display; never part of the output.
public enum BuildProgress: Sendable {
    case measured(layer: Int, of: Int)
    case writing(layer: Int, of: Int, bytesSoFar: UInt64)
    case finished(bytes: UInt64)
}

/// Streams a Docker image archive (the `docker save` layout nixpkgs writes) from a plan.
///
/// Each layer is produced twice: a first pass, run in parallel across cores, learns its size and
/// diffID (an outer tar header needs both before the data); the second pass streams it and
/// must reproduce the same digest, or the build fails before anything claims completeness.
public struct ImageArchiveWriter: Sendable {
    public var plan: ImagePlan
    public var progress: (@Sendable (BuildProgress) -> Void)?

    public init(plan: ImagePlan, progress: (@Sendable (BuildProgress) -> Void)? = nil) {
        self.plan = plan
        self.progress = progress
    }

    struct Measured: Sendable {
        var digest: Digest
        var size: UInt64
    }

    public func write<S: ByteSink>(to sink: S) throws -> (ImageArchiveResult, S) {
        let base = plan.baseImage
        let baseLayers = base?.layers ?? []
        let layers: [any Layer] = baseLayers + plan.storeLayers + [plan.customisation]
        // The first pass runs in the background (largest layers first when there are several
        // workers) while this thread streams each layer as soon as its own size and digest are
        // known.
        let firstPass = FirstPass(layers: layers, progress: progress, measure: Self.measure)
        defer { firstPass.stop() }

        var tar = TarWriter(sink: sink)
        // One read buffer for every layer's second pass, and two hashing pipelines taken in
        // turn: a layer's verifying hash finishes on its own thread while the next layer
        // streams, so on two cores the tail of small layers is not one hash after another.
        let buffer = CopyBuffer()
        let hashers = [buffer.hasher, PipelinedHasher()]
        var unverified: (layer: Int, first: Measured, hasher: PipelinedHasher)?
        var measured: [Measured] = []
        var diffIDs: [Digest] = []
        var members: [String] = []
        for (index, layer) in layers.enumerated() {
            let first = try firstPass.result(index)
            measured.append(first)
            let diffID = layer.declaredDiffID ?? first.digest
            diffIDs.append(diffID)
            members.append(index < baseLayers.count ? baseLayers[index].memberName : "\(diffID.hex)/layer.tar")
            progress?(.writing(layer: index + 1, of: layers.count, bytesSoFar: tar.offset))
            try tar.writeHeader(try layer.outerHeader(name: members[index], size: first.size, mtime: plan.mtime))
            let hasher = hashers[index % hashers.count]
            var data = ChunkedTeeSink(TarMemberDataSink(outer: tar), hashing: hasher)
            do {
                try layer.write(to: &data, buffer: buffer)
                try data.flush()
            } catch {
                data.discard()
                throw error
            }
            tar = data.inner.outer
            if let previous = unverified { try Self.verify(layer: previous.layer, first: previous.first, hasher: previous.hasher) }
            unverified = (index, first, hasher)
        }
        // The last layer is verified before the config and manifest claim the archive complete.
        if let last = unverified { try Self.verify(layer: last.layer, first: last.first, hasher: last.hasher) }

        let configBytes = try ImageConfig.render(plan: plan, base: base, diffIDs: diffIDs, historyPaths: layers.map(\.historyPaths))
        let configDigest = Digest.of(configBytes)
        let manifestBytes = ImageConfig.manifest(
            configName: "\(configDigest.hex).json", repoTag: plan.repoTag.resolve(diffIDs: diffIDs), layers: members
        )
        try tar.add(TarHeader(name: "\(configDigest.hex).json", mtime: plan.mtime), content: configBytes)
        try tar.add(TarHeader(name: "manifest.json", mtime: plan.mtime), content: manifestBytes)
        try tar.finish()
        var output = tar.sink
        try output.flush()
        progress?(.finished(bytes: tar.offset))

        let result = ImageArchiveResult(
            configDigest: configDigest, diffIDs: diffIDs, layerSizes: measured.map(\.size),
            layerMembers: members, layerPaths: layers.map(\.historyPaths), archiveSize: tar.offset
        )
        return (result, output)
    }

    /// The second pass must reproduce the first: otherwise the store changed between them.
    private static func verify(layer index: Int, first: Measured, hasher: PipelinedHasher) throws {
        let second = hasher.finalize()
        guard second.digest == first.digest, second.size == first.size else {
            throw ImageBuildError.storeChanged(layer: index + 1, first: first.digest, second: second.digest)
        }
    }

    /// The first pass: size and digest; declared diffIDs (a checksum file, a base config) are
    /// checked here.
    @Sendable private static func measure(_ layer: any Layer, buffer: CopyBuffer) throws -> Measured {
        let (digest, size) = try layer.measure(buffer: buffer)
        try layer.verify(firstPass: digest, buffer: buffer)
        return Measured(digest: digest, size: size)
    }
}
