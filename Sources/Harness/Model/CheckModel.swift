import Builder

/// What a spec promises: most must reproduce; a negative control must not.
public enum Expectation: String, Sendable, Codable {
    case reproducible
    case unreproducible
}

/// The verdict on one spec in one check run.
public enum SpecOutcome: String, Sendable, Codable {
    case reproducible
    case unreproducible
    case buildError = "build-error"
    /// A build ran past `check --timeout` and its process group was killed.
    case timeout

    /// The builds did not give a verdict on reproducibility (they failed or ran out of time).
    public var isError: Bool { self == .buildError || self == .timeout }
}

/// Which build of a spec: `control`, `experiment`, `control-2` (two controls, to tell a
/// variation from plain nondeterminism) or `bisect-<variation>`.
public struct BuildRole: RawRepresentable, Hashable, Sendable, Codable, CustomStringConvertible {
    public var rawValue: String
    public init(rawValue: String) { self.rawValue = rawValue }

    public static let control = BuildRole(rawValue: "control")
    public static let experiment = BuildRole(rawValue: "experiment")
    public static let secondControl = BuildRole(rawValue: "control-2")
    public static func bisect(_ variation: String) -> BuildRole { BuildRole(rawValue: "bisect-\(variation)") }

    public var description: String { rawValue }
}

/// One layer of a built image as the streaming hasher saw it.
public struct LayerResult: Sendable, Codable, Equatable {
    public var index: Int
    public var diffID: Digest
    public var size: UInt64
    /// The store paths the config's history names for this layer.
    public var paths: [String]
    /// The blob an OCI manifest lists for this layer (what a registry stores and pulls); nil
    /// for a docker-archive, whose layers are the uncompressed tars `diffID` names.
    public var blob: LayerBlob?

    public init(index: Int, diffID: Digest, size: UInt64, paths: [String], blob: LayerBlob? = nil) {
        self.index = index
        self.diffID = diffID
        self.size = size
        self.paths = paths
        self.blob = blob
    }
}

/// One layer as an OCI manifest lists it: the (usually compressed) blob whose digest a
/// registry shows, and the compressor that wrote it, because that digest depends on both.
public struct LayerBlob: Sendable, Codable, Equatable {
    public var digest: Digest
    public var size: UInt64
    public var mediaType: String
    /// From the media type; nil when it names none of ours.
    public var compression: LayerCompression?
    /// The library that compressed it (`zlib 1.3.1`, `zstd 1.5.6`), as the build reported;
    /// nil for an uncompressed layer or when the build did not say.
    public var compressorVersion: String?

    public init(digest: Digest, size: UInt64, mediaType: String, compression: LayerCompression?, compressorVersion: String?) {
        self.digest = digest
        self.size = size
        self.mediaType = mediaType
        self.compression = compression
        self.compressorVersion = compressorVersion
    }

    /// The part of a build's compressor versions (`zlib 1.3.1, zstd 1.5.6`, as
    /// ``CompressorVersions`` prints them) that wrote a layer of this compression.
    public static func compressorVersion(_ compression: LayerCompression?, in versions: String?) -> String? {
        let library: String
        switch compression {
        case .some(.gzip): library = "zlib "
        case .some(.zstd): library = "zstd "
        default: return nil  // Uncompressed (`LayerCompression.none`) or unknown.
        }
        return versions?.components(separatedBy: ", ").first { $0.hasPrefix(library) }
    }
}

/// One child `repro-check build` process and what it produced.
public struct BuildResult: Sendable, Codable, Equatable {
    public var role: BuildRole
    public var variationsApplied: [String]
    /// Variation name → why it could not be applied here.
    public var variationsSkipped: [String: String]
    /// The chosen values, so a failure can be replayed (reprotest does not record them).
    public var variationValues: [String: String]
    public var imageDigest: Digest?
    public var configDigest: Digest?
    public var manifestDigest: Digest?
    public var size: UInt64?
    public var layers: [LayerResult]
    public var wallMilliseconds: Int
    public var cpuMilliseconds: Int
    public var peakRSSKiB: Int
    public var exitStatus: Int32
    /// The build ran past the check's timeout and was killed (then `exitStatus` is 128 + 9).
    public var timedOut: Bool
    public var error: String?
    /// `check --format`: what the build streamed (`docker-archive`, `oci-archive`, `dual`).
    public var format: ImageFormat = .dockerArchive
    /// `check --compression` of an OCI format's layers; nil for docker-archive.
    public var compression: LayerCompression?
    /// The compressor libraries that wrote those layers (``CompressorVersions/linked`` of the child).
    public var compressorVersions: String?

    /// What a spec's `expectDigest` is compared with: the manifest digest of an OCI format,
    /// the image ID of a docker-archive.
    public var pinnedDigest: Digest? { format.isOCI ? manifestDigest : configDigest }

    public init(
        role: BuildRole, variationsApplied: [String] = [], variationsSkipped: [String: String] = [:],
        variationValues: [String: String] = [:], imageDigest: Digest? = nil, configDigest: Digest? = nil,
        manifestDigest: Digest? = nil, size: UInt64? = nil, layers: [LayerResult] = [], wallMilliseconds: Int = 0,
        cpuMilliseconds: Int = 0, peakRSSKiB: Int = 0, exitStatus: Int32 = 0, timedOut: Bool = false,
        error: String? = nil
    ) {
        self.role = role
        self.variationsApplied = variationsApplied
        self.variationsSkipped = variationsSkipped
        self.variationValues = variationValues
        self.imageDigest = imageDigest
        self.configDigest = configDigest
        self.manifestDigest = manifestDigest
        self.size = size
        self.layers = layers
        self.wallMilliseconds = wallMilliseconds
        self.cpuMilliseconds = cpuMilliseconds
        self.peakRSSKiB = peakRSSKiB
        self.exitStatus = exitStatus
        self.timedOut = timedOut
        self.error = error
    }

    public var succeeded: Bool { exitStatus == 0 && imageDigest != nil }
}

/// Everything a check learned about one spec.
public struct SpecResult: Sendable, Codable, Equatable {
    public var specName: String
    public var specPath: String
    public var specDigest: Digest
    public var expectation: Expectation
    public var outcome: SpecOutcome
    /// Outcome meets expectation (and no digest drift).
    public var passed: Bool
    /// The variations the culprit search names (see `culpritVerdict` for how sure it is).
    public var culprits: [String]
    /// What the culprit search concluded; nil when there was no difference to explain.
    public var culpritVerdict: CulpritVerdict?
    public var builds: [BuildResult]
    public var differences: [Difference]
    /// A readable paragraph: what differs and why, for JUnit messages and reports.
    public var explanation: String
    /// An earlier run gave another image for the same spec digest and tool version.
    public var digestDrift: Bool
    /// The control build differs from the spec's `expectDigest`.
    public var pinMismatch: PinMismatch?

    public init(
        specName: String, specPath: String, specDigest: Digest, expectation: Expectation, outcome: SpecOutcome,
        passed: Bool, culprits: [String] = [], culpritVerdict: CulpritVerdict? = nil, builds: [BuildResult] = [],
        differences: [Difference] = [], explanation: String = "", digestDrift: Bool = false
    ) {
        self.specName = specName
        self.specPath = specPath
        self.specDigest = specDigest
        self.expectation = expectation
        self.outcome = outcome
        self.passed = passed
        self.culprits = culprits
        self.culpritVerdict = culpritVerdict
        self.builds = builds
        self.differences = differences
        self.explanation = explanation
        self.digestDrift = digestDrift
    }
}

/// A spec's `expectDigest` that its rebuild did not give: an independent rebuild failing to
/// verify a published image.
public struct PinMismatch: Sendable, Codable, Equatable {
    public var expected: Digest
    public var actual: Digest
    /// `manifest digest` (OCI formats) or `image ID` (docker-archive).
    public var digestName: String
    /// How each layer that differs from an earlier build that gave the pinned digest changed;
    /// empty when no such build is recorded or every layer matches.
    public var layerChanges: [LayerChange] = []
    /// Whether an earlier build with the pinned digest was found to compare layers with.
    public var comparedWithEarlierBuild = false
    /// With several outputs (`check --format … --format …`), the one the pin was judged
    /// against (`oci-archive+zstd`); nil when the check built one.
    public var output: String?

    /// The layers (1-based) that changed.
    public var changedLayers: [Int] { layerChanges.map(\.index) }

    public init(expected: Digest, actual: Digest, digestName: String) {
        self.expected = expected
        self.actual = actual
        self.digestName = digestName
    }

    public var summary: String {
        var text = "the spec pins expectDigest \(expected) but the \(output.map { "\($0) " } ?? "")rebuild has \(digestName) \(actual)"
        if !layerChanges.isEmpty {
            text += "; changed: " + layerChanges.map(\.summary).joined(separator: ", ")
        } else if comparedWithEarlierBuild {
            text += "; every layer matches the earlier build that gave the pin, so the config or manifest changed"
        }
        return text
    }
}

/// One layer of a rebuild that differs from the same position in the build that gave the pin.
public struct LayerChange: Sendable, Codable, Equatable {
    public enum Kind: String, Sendable, Codable {
        /// The uncompressed tar differs (its diff_id).
        case content
        /// Same diff_id, another blob: only the compressed bytes differ.
        case compression
        /// The rebuild has a layer at a position the pinned build had none.
        case added
        /// The pinned build had a layer at a position the rebuild has none.
        case removed
    }

    /// 1-based, as in `layer N`.
    public var index: Int
    public var kind: Kind
    /// For a compression change: the compressor of the pinned build's blob and the rebuild's.
    public var pinnedCompressor: String?
    public var rebuiltCompressor: String?

    public init(index: Int, kind: Kind, pinnedCompressor: String? = nil, rebuiltCompressor: String? = nil) {
        self.index = index
        self.kind = kind
        self.pinnedCompressor = pinnedCompressor
        self.rebuiltCompressor = rebuiltCompressor
    }

    /// Pairs layers by position: a different diff_id is a content change; the same diff_id
    /// with another blob digest a compression change. A layer without a blob (docker-archive,
    /// or recorded before blobs were) is judged by its diff_id alone.
    public static func between(pinned: [LayerResult], rebuilt: [LayerResult]) -> [LayerChange] {
        (0..<max(pinned.count, rebuilt.count)).compactMap { position in
            guard position < rebuilt.count else { return LayerChange(index: position + 1, kind: .removed) }
            guard position < pinned.count else { return LayerChange(index: position + 1, kind: .added) }
            let before = pinned[position], now = rebuilt[position]
            if before.diffID != now.diffID { return LayerChange(index: position + 1, kind: .content) }
            guard let old = before.blob, let new = now.blob, old.digest != new.digest else { return nil }
            return LayerChange(
                index: position + 1, kind: .compression,
                pinnedCompressor: Self.compressor(old), rebuiltCompressor: Self.compressor(new))
        }
    }

    private static func compressor(_ blob: LayerBlob) -> String {
        blob.compressorVersion ?? blob.compression?.rawValue ?? blob.mediaType
    }

    public var summary: String {
        switch kind {
        case .content: "layer \(index) (its content: the diff_id differs)"
        case .compression:
            "layer \(index) (only its compression: same diff_id, compressed by \(pinnedCompressor ?? "?") for the pin "
                + "and \(rebuiltCompressor ?? "?") now)"
        case .added: "layer \(index) (not in the pinned build)"
        case .removed: "layer \(index) (gone from the rebuild)"
        }
    }
}

/// A whole `repro-check check` invocation.
public struct RunInfo: Sendable, Codable, Equatable {
    public var startedAt: Double  // seconds since the epoch, UTC
    public var endedAt: Double?
    public var toolVersion: String
    public var gitCommit: String?
    public var host: String
    /// The options as given, as JSON text.
    public var options: String
    /// `passed`, `failed`, or nil while running.
    public var outcome: String?
    public var interrupted: Bool
    /// Runs of one group (the shards of one CI run) are one run in reports; nil for a lone run.
    public var runGroup: String?

    public init(
        startedAt: Double, endedAt: Double? = nil, toolVersion: String, gitCommit: String?, host: String,
        options: String, outcome: String? = nil, interrupted: Bool = false, runGroup: String? = nil
    ) {
        self.startedAt = startedAt
        self.endedAt = endedAt
        self.toolVersion = toolVersion
        self.gitCommit = gitCommit
        self.host = host
        self.options = options
        self.outcome = outcome
        self.interrupted = interrupted
        self.runGroup = runGroup
    }
}
