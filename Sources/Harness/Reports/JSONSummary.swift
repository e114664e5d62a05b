import Builder
import Foundation

/// A machine-readable summary of one run, for scripts and dashboards.
///
/// The contract is `schemas/summary-v1.schema.json`; `Document` is public and `Codable` so
/// consumers in Swift decode exactly what was written.
public enum JSONSummary {
    /// Bumped when a field changes meaning or disappears; adding fields does not bump it.
    public static let schemaVersion = 1

    public struct Document: Codable, Equatable, Sendable {
        public var schemaVersion: Int
        public var runID: Int64?
        public var run: Run
        /// The gate's verdict: what the exit status says.
        public var passed: Bool
        /// Why the run fails, one sentence each; empty when it passes.
        public var failureReasons: [String]
        /// Variations enabled but not applied on this host.
        public var skippedVariations: [SkippedVariation]
        public var totals: Totals
        public var specs: [Spec]
    }

    public struct Run: Codable, Equatable, Sendable {
        public var startedAt: Double
        public var endedAt: Double?
        public var toolVersion: String
        public var gitCommit: String?
        public var host: String
        public var runGroup: String?
        public var outcome: String?
        public var interrupted: Bool
        /// The options as given, as an object.
        public var options: JSONValue
    }

    public struct SkippedVariation: Codable, Equatable, Sendable {
        public var name: String
        public var reason: String
    }

    public struct Totals: Codable, Equatable, Sendable {
        public var specs: Int
        public var passed: Int
        public var failed: Int
        public var reproducible: Int
        public var unreproducible: Int
        public var buildErrors: Int
        public var drifted: Int
        public var slowdowns: Int
    }

    public struct Spec: Codable, Equatable, Sendable {
        public var name: String
        public var path: String
        public var specDigest: Digest
        public var expectation: Expectation
        public var outcome: SpecOutcome
        public var passed: Bool
        /// Null when the builds did not differ.
        public var culprit: Culprit?
        /// Earlier runs whose control image differs for the same spec digest and tool version.
        public var drift: [Drift]
        public var slowdown: SlowdownInfo?
        /// The spec's `expectDigest` when the control build missed it; absent otherwise.
        public var pin: Pin?
        public var explanation: String
        public var builds: [Build]
        public var differences: [Difference]
    }

    public struct Drift: Codable, Equatable, Sendable {
        public var runID: Int64
        public var startedAt: Double
        public var host: String
        public var imageDigest: Digest
        /// The output whose control builds drifted (`oci-archive+zstd`); absent in summaries
        /// written before it.
        public var output: String?
    }

    public struct Pin: Codable, Equatable, Sendable {
        public var expected: Digest
        public var actual: Digest
        /// `manifest digest` (OCI formats) or `image ID` (docker-archive).
        public var digestName: String
        /// What the console line, JUnit and the report say.
        public var summary: String
        public var comparedWithEarlierBuild: Bool
        public var layerChanges: [LayerChange]

        init(_ mismatch: PinMismatch) {
            expected = mismatch.expected
            actual = mismatch.actual
            digestName = mismatch.digestName
            summary = mismatch.summary
            comparedWithEarlierBuild = mismatch.comparedWithEarlierBuild
            layerChanges = mismatch.layerChanges
        }
    }

    public struct SlowdownInfo: Codable, Equatable, Sendable {
        public var wallMilliseconds: Int
        public var medianMilliseconds: Double
        public var madMilliseconds: Double
        public var thresholdMilliseconds: Double
        public var ratio: Double
        public var comparedRunIDs: [Int64]
    }

    public struct Build: Codable, Equatable, Sendable {
        public var role: BuildRole
        /// sha256 of the whole archive stream.
        public var archiveDigest: Digest?
        /// The image ID: sha256 of the config JSON.
        public var imageID: Digest?
        public var manifestDigest: Digest?
        public var size: UInt64?
        public var layers: [Layer]
        public var variationsApplied: [String]
        public var variationsSkipped: [String: String]
        public var variationValues: [String: String]
        public var wallMilliseconds: Int
        public var cpuMilliseconds: Int
        public var peakRSSKiB: Int
        public var exitStatus: Int32
        public var error: String?
        /// What the build streamed (`check --format`); absent in summaries written before it.
        public var format: ImageFormat?
        public var compression: LayerCompression?
        public var compressorVersions: String?
        /// The output the build made and is compared within (`docker-archive`,
        /// `oci-archive+zstd`); absent in summaries written before it.
        public var output: String?
    }

    public struct Layer: Codable, Equatable, Sendable {
        public var index: Int
        public var diffID: Digest
        /// Bytes of the layer as streamed: the tar of a docker-archive, the blob of an OCI format.
        public var size: UInt64
        /// An OCI layer's blob, as its manifest lists it (absent for docker-archive layers).
        public var compressedDigest: Digest?
        public var compressedSize: UInt64?
        public var mediaType: String?
        public var compression: LayerCompression?
        public var compressorVersion: String?
    }

    /// The options recorded as JSON text, as an object; text that is not a JSON object is kept
    /// as a string under `"text"`.
    static func options(_ text: String) -> JSONValue {
        if let value = try? JSONParser.parse(text), case .object = value { return value.sortingKeys() }
        return .object(JSONObject([("text", .string(text))]))
    }

    /// The summary value; specs sorted by name.
    public static func document(_ report: CheckReport) -> Document {
        let sorted = report.results.sorted { $0.specName < $1.specName }
        let slowdowns = Dictionary(report.slowdowns.map { ($0.specPath, $0) }, uniquingKeysWith: { first, _ in first })
        let specs = sorted.map { result in
            Spec(
                name: result.specName, path: result.specPath, specDigest: result.specDigest,
                expectation: result.expectation, outcome: result.outcome, passed: result.passed,
                culprit: result.culprit,
                drift: (report.drift[result.specPath] ?? []).map {
                    Drift(
                        runID: $0.runID, startedAt: $0.startedAt, host: $0.host, imageDigest: $0.imageDigest,
                        output: $0.output.description)
                },
                slowdown: slowdowns[result.specPath].map {
                    SlowdownInfo(
                        wallMilliseconds: $0.wallMilliseconds, medianMilliseconds: $0.medianMilliseconds,
                        madMilliseconds: $0.madMilliseconds, thresholdMilliseconds: $0.thresholdMilliseconds,
                        ratio: $0.ratio, comparedRunIDs: $0.comparedRunIDs)
                },
                pin: result.pinMismatch.map(Pin.init), explanation: result.explanation,
                builds: result.builds.map(build), differences: result.differences)
        }
        let totals = Totals(
            specs: sorted.count, passed: sorted.filter(\.passed).count, failed: sorted.filter { !$0.passed }.count,
            reproducible: sorted.filter { $0.outcome == .reproducible }.count,
            unreproducible: sorted.filter { $0.outcome == .unreproducible }.count,
            buildErrors: sorted.filter { $0.outcome == .buildError }.count,
            drifted: report.drift.count, slowdowns: report.slowdowns.count)
        let info = report.runInfo
        let run = Run(
            startedAt: info.startedAt, endedAt: info.endedAt, toolVersion: info.toolVersion, gitCommit: info.gitCommit,
            host: info.host, runGroup: info.runGroup, outcome: info.outcome, interrupted: report.interrupted || info.interrupted,
            options: options(info.options))
        return Document(
            schemaVersion: schemaVersion, runID: report.runID, run: run, passed: report.passed,
            failureReasons: report.gateFailures.map(\.summary),
            skippedVariations: report.skippedVariations.sorted { $0.key < $1.key }.map {
                SkippedVariation(name: $0.key, reason: $0.value)
            },
            totals: totals, specs: specs)
    }

    private static func build(_ build: BuildResult) -> Build {
        Build(
            role: build.role, archiveDigest: build.imageDigest, imageID: build.configDigest,
            manifestDigest: build.manifestDigest, size: build.size,
            layers: build.layers.map(Layer.init),
            variationsApplied: build.variationsApplied, variationsSkipped: build.variationsSkipped,
            variationValues: build.variationValues, wallMilliseconds: build.wallMilliseconds,
            cpuMilliseconds: build.cpuMilliseconds, peakRSSKiB: build.peakRSSKiB, exitStatus: build.exitStatus,
            error: build.error, format: build.format, compression: build.compression,
            compressorVersions: build.compressorVersions, output: CheckOutput(of: build).description)
    }

    /// Pretty-printed JSON with sorted keys, so identical results give identical text.
    /// Throws only if a time in the run is not a finite number.
    public static func render(_ report: CheckReport) throws -> String {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes]
        let data = try encoder.encode(document(report))
        return String(decoding: data, as: UTF8.self) + "\n"
    }
}

extension JSONSummary.Layer {
    public init(_ layer: LayerResult) {
        index = layer.index
        diffID = layer.diffID
        size = layer.size
        compressedDigest = layer.blob?.digest
        compressedSize = layer.blob?.size
        mediaType = layer.blob?.mediaType
        compression = layer.blob?.compression
        compressorVersion = layer.blob?.compressorVersion
    }
}
