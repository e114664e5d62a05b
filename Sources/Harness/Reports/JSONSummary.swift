import Builder
import Foundation

/// A machine-readable summary of one run, for scripts and dashboards.
///
/// `Document` is public and `Codable` so consumers decode exactly what was written.
public enum JSONSummary {
    /// Bumped when a field changes meaning or disappears; adding fields does not bump it.
    public static let schemaVersion = 1

    public struct Document: Codable, Equatable, Sendable {
        public var schemaVersion: Int
        public var runID: Int64?
        public var run: RunInfo
        public var totals: Totals
        public var specs: [Spec]
    }

    public struct Totals: Codable, Equatable, Sendable {
        public var specs: Int
        public var passed: Int
        public var failed: Int
        public var reproducible: Int
        public var unreproducible: Int
        public var buildErrors: Int
    }

    public struct Spec: Codable, Equatable, Sendable {
        public var name: String
        public var path: String
        public var specDigest: Digest
        public var expectation: Expectation
        public var outcome: SpecOutcome
        public var passed: Bool
        public var culprits: [String]
        public var explanation: String
        public var builds: [Build]
        public var differences: [Difference]
    }

    public struct Build: Codable, Equatable, Sendable {
        public var role: BuildRole
        public var imageDigest: Digest?
        public var configDigest: Digest?
        public var manifestDigest: Digest?
        public var size: UInt64?
        public var layerDiffIDs: [Digest]
        public var variationsApplied: [String]
        public var variationsSkipped: [String: String]
        public var variationValues: [String: String]
        public var wallMilliseconds: Int
        public var cpuMilliseconds: Int
        public var peakRSSKiB: Int
        public var exitStatus: Int32
        public var error: String?
    }

    /// The summary value; specs sorted by name.
    public static func document(_ results: [SpecResult], runInfo: RunInfo, runID: Int64? = nil) -> Document {
        let sorted = results.sorted { $0.specName < $1.specName }
        let specs = sorted.map { result in
            Spec(
                name: result.specName, path: result.specPath, specDigest: result.specDigest,
                expectation: result.expectation, outcome: result.outcome, passed: result.passed,
                culprits: result.culprits, explanation: result.explanation,
                builds: result.builds.map { build in
                    Build(
                        role: build.role, imageDigest: build.imageDigest, configDigest: build.configDigest,
                        manifestDigest: build.manifestDigest, size: build.size, layerDiffIDs: build.layers.map(\.diffID),
                        variationsApplied: build.variationsApplied, variationsSkipped: build.variationsSkipped,
                        variationValues: build.variationValues, wallMilliseconds: build.wallMilliseconds,
                        cpuMilliseconds: build.cpuMilliseconds, peakRSSKiB: build.peakRSSKiB,
                        exitStatus: build.exitStatus, error: build.error)
                },
                differences: result.differences)
        }
        let totals = Totals(
            specs: sorted.count, passed: sorted.filter(\.passed).count, failed: sorted.filter { !$0.passed }.count,
            reproducible: sorted.filter { $0.outcome == .reproducible }.count,
            unreproducible: sorted.filter { $0.outcome == .unreproducible }.count,
            buildErrors: sorted.filter { $0.outcome == .buildError }.count)
        return Document(schemaVersion: schemaVersion, runID: runID, run: runInfo, totals: totals, specs: specs)
    }

    /// Pretty-printed JSON with sorted keys, so identical results give identical text.
    /// Throws only if a time in `runInfo` is not a finite number.
    public static func render(_ results: [SpecResult], runInfo: RunInfo, runID: Int64? = nil) throws -> String {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes]
        let data = try encoder.encode(document(results, runInfo: runInfo, runID: runID))
        return String(decoding: data, as: UTF8.self) + "\n"
    }
}
