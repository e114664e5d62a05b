import Foundation
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

    struct Measured: Sendable {
        var digest: Digest
        var size: UInt64
    }

    public func write<S: ByteSink>(to sink: S) throws -> (ImageArchiveResult, S) {
        let base = plan.baseImage
        let baseLayers = base?.layers ?? []
        let layers: [any Layer] = baseLayers + plan.storeLayers + [plan.customisation]
        // The first pass runs in the background, largest layers first, while this thread streams
        // each layer as soon as its own size and digest are known.
        let board = MeasurementBoard(count: layers.count)
        let measuring = startMeasuring(layers, board: board)
        defer {
            board.cancel()
            measuring.wait()
        }

        var tar = TarWriter(sink: sink)
        var measured: [Measured] = []
        var diffIDs: [Digest] = []
        var members: [String] = []
        for (index, layer) in layers.enumerated() {
            let first = try board.result(index)
            measured.append(first)
            let diffID = layer.declaredDiffID ?? first.digest
            diffIDs.append(diffID)
            members.append(index < baseLayers.count ? baseLayers[index].memberName : "\(diffID.hex)/layer.tar")
            progress?(.writing(layer: index + 1, of: layers.count, bytesSoFar: tar.offset))
            try tar.writeHeader(try layer.outerHeader(name: members[index], size: first.size, mtime: plan.mtime))
            var data = TeeHashingSink(TarMemberDataSink(outer: tar))
            try layer.write(to: &data, buffer: CopyBuffer())
            tar = data.inner.outer
            let second = data.hashing.finalize()
            guard second.digest == first.digest, second.size == first.size else {
                throw ImageBuildError.storeChanged(layer: index + 1, first: first.digest, second: second.digest)
            }
        }

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

    /// The first pass on every core. Declared diffIDs (a checksum file, a base config) are
    /// checked here. Largest layers go first so the longest job does not start last.
    private func startMeasuring(_ layers: [any Layer], board: MeasurementBoard) -> DispatchGroup {
        let order = layers.indices.sorted { (layers[$0].estimatedCost, $1) > (layers[$1].estimatedCost, $0) }
        let group = DispatchGroup()
        let progress = self.progress
        let done = Atomic<Int>(0)
        let next = Atomic<Int>(0)
        // Dedicated threads, not GCD's pool: under `taskset -c 0` the pool may be one thread
        // wide, and that thread is the one waiting for these results. At most four, so memory
        // (about 5 MiB of buffers per worker) stays bounded on a many-core host.
        let workers = max(1, min(ProcessInfo.processInfo.activeProcessorCount, order.count, Self.maximumWorkers))
        for _ in 0..<workers {
            group.enter()
            let thread = Thread {
                while true {
                    let position = next.add(1, ordering: .relaxed).oldValue
                    guard position < order.count else { break }
                    let index = order[position]
                    guard !board.isCancelled else {
                        board.publish(index, .failure(TarWriterError.alreadyFailed))
                        continue
                    }
                    let outcome = Result<Measured, any Error> { try Self.measure(layers[index]) }
                    board.publish(index, outcome)
                    progress?(.measured(layer: done.add(1, ordering: .relaxed).newValue, of: layers.count))
                }
                group.leave()
            }
            thread.stackSize = 1 << 20
            thread.start()
        }
        return group
    }

    static let maximumWorkers = 4

    private static func measure(_ layer: any Layer) throws -> Measured {
        let buffer = CopyBuffer()
        let (digest, size) = try layer.measure(buffer: buffer)
        try layer.verify(firstPass: digest, buffer: buffer)
        return Measured(digest: digest, size: size)
    }
}

/// First-pass results, published in any order and awaited in layer order.
private final class MeasurementBoard: Sendable {
    private let slots: Mutex<[Result<ImageArchiveWriter.Measured, any Error>?]>
    private let ready: [DispatchSemaphore]
    private let cancelled = Atomic<Bool>(false)

    init(count: Int) {
        slots = Mutex(Array(repeating: nil, count: count))
        ready = (0..<count).map { _ in DispatchSemaphore(value: 0) }
    }

    var isCancelled: Bool { cancelled.load(ordering: .relaxed) }

    func cancel() { cancelled.store(true, ordering: .relaxed) }

    func publish(_ index: Int, _ result: Result<ImageArchiveWriter.Measured, any Error>) {
        slots.withLock { $0[index] = result }
        ready[index].signal()
    }

    func result(_ index: Int) throws -> ImageArchiveWriter.Measured {
        ready[index].wait()
        ready[index].signal()
        return try slots.withLock { $0[index] ?? .failure(TarWriterError.alreadyFailed) }.get()
    }
}