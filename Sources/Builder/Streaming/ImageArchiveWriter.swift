import Dispatch
import Synchronization

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

    private struct Measured: Sendable {
        var digest: Digest
        var size: UInt64
    }

    public func write<S: ByteSink>(to sink: S) throws -> (ImageArchiveResult, S) {
        let base = plan.baseImage
        let baseLayers = base?.layers ?? []
        let layers: [any Layer] = baseLayers + plan.storeLayers + [plan.customisation]
        let measured = try measureAll(layers)

        var diffIDs: [Digest] = []
        var members: [String] = []
        for (index, layer) in layers.enumerated() {
            let diffID = layer.declaredDiffID ?? measured[index].digest
            diffIDs.append(diffID)
            members.append(index < baseLayers.count ? baseLayers[index].memberName : "\(diffID.hex)/layer.tar")
        }

        let configBytes = try ImageConfig.render(plan: plan, base: base, diffIDs: diffIDs, historyPaths: layers.map(\.historyPaths))
        let configDigest = Digest.of(configBytes)
        let manifestBytes = ImageConfig.manifest(configName: "\(configDigest.hex).json", repoTag: plan.repoTag.resolve(diffIDs: diffIDs), layers: members)

        var tar = TarWriter(sink: sink)
        for (index, layer) in layers.enumerated() {
            progress?(.writing(layer: index + 1, of: layers.count, bytesSoFar: tar.offset))
            let header = try layer.outerHeader(name: members[index], size: measured[index].size, mtime: plan.mtime)
            try tar.writeHeader(header)
            var data = TeeHashingSink(TarMemberDataSink(outer: tar))
            try layer.write(to: &data, buffer: CopyBuffer())
            tar = data.inner.outer
            let second = data.hashing.finalize()
            guard second.digest == measured[index].digest, second.size == measured[index].size else {
                throw ImageBuildError.storeChanged(layer: index + 1, first: measured[index].digest, second: second.digest)
            }
        }
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

    /// The first pass, one layer per core at a time. Declared diffIDs (a checksum file, a base
    /// config) are checked here, before a byte of output is written.
    private func measureAll(_ layers: [any Layer]) throws -> [Measured] {
        let results = Mutex<[Result<Measured, any Error>?]>(Array(repeating: nil, count: layers.count))
        let done = Atomic<Int>(0)
        let progress = self.progress
        DispatchQueue.concurrentPerform(iterations: layers.count) { index in
            let buffer = CopyBuffer()
            let outcome = Result<Measured, any Error> {
                let layer = layers[index]
                let (digest, size) = try layer.measure(buffer: buffer)
                if let declared = layer.declaredDiffID, declared != digest {
                    if let baseLayer = layer as? BaseLayer {
                        let content = try baseLayer.contentDigest(buffer: buffer)
                        guard content == declared else {
                            throw ImageBuildError.baseLayerMismatch(archive: baseLayer.archivePath, member: baseLayer.memberName, declared: declared, actual: content)
                        }
                    } else if let file = layer as? CustomisationFileLayer {
                        throw ImageBuildError.checksumMismatch(file: file.layerPath, declared: declared, actual: digest)
                    } else {
                        throw ImageBuildError.checksumMismatch(file: "layer \(index + 1)", declared: declared, actual: digest)
                    }
                }
                return Measured(digest: digest, size: size)
            }
            results.withLock { $0[index] = outcome }
            let finished = done.add(1, ordering: .relaxed).newValue
            progress?(.measured(layer: finished, of: layers.count))
        }
        // The first failing layer by position, so the message does not depend on scheduling.
        return try results.withLock { slots in try slots.map { try ($0 ?? .failure(TarWriterError.alreadyFailed)).get() } }
    }
}
