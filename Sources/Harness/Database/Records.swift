import Builder
import Foundation
import GRDB

// One record type per table. Records are internal: the public surface speaks the check model
// (`SpecResult`, `RunInfo`…), so the storage layout can change behind migrations.

/// Snake-case columns, camel-case properties, for every table.
protocol ResultsRecord: Codable, FetchableRecord, MutablePersistableRecord {}

extension ResultsRecord {
    static var databaseColumnDecodingStrategy: DatabaseColumnDecodingStrategy { .convertFromSnakeCase }
    static var databaseColumnEncodingStrategy: DatabaseColumnEncodingStrategy { .convertToSnakeCase }
}

/// A row of `runs`.
struct RunRecord: ResultsRecord, Equatable {
    static let databaseTableName = "runs"
    var id: Int64?
    var startedAt: Double
    var endedAt: Double?
    var toolVersion: String
    var gitCommit: String?
    var host: String
    var options: String
    var outcome: String?
    var interrupted: Bool
    var runGroup: String?

    init(id: Int64? = nil, info: RunInfo) {
        self.id = id
        startedAt = info.startedAt
        endedAt = info.endedAt
        toolVersion = info.toolVersion
        gitCommit = info.gitCommit
        host = info.host
        options = info.options
        outcome = info.outcome
        interrupted = info.interrupted
        runGroup = info.runGroup
    }

    var info: RunInfo {
        RunInfo(
            startedAt: startedAt, endedAt: endedAt, toolVersion: toolVersion, gitCommit: gitCommit, host: host,
            options: options, outcome: outcome, interrupted: interrupted, runGroup: runGroup)
    }

    mutating func didInsert(_ inserted: InsertionSuccess) { id = inserted.rowID }
}

/// A row of `spec_results`: the verdict on one spec in one run.
struct SpecResultRecord: ResultsRecord, Equatable {
    static let databaseTableName = "spec_results"
    var id: Int64?
    var runId: Int64
    var specName: String
    var specPath: String
    var specDigest: String
    var expectation: String
    var outcome: String
    var passed: Bool
    var culprits: String
    var explanation: String
    var culpritVerdict: String?
    var digestDrift: Bool

    init(_ result: SpecResult, runID: Int64) throws {
        runId = runID
        specName = result.specName
        specPath = result.specPath
        specDigest = result.specDigest.description
        expectation = result.expectation.rawValue
        outcome = result.outcome.rawValue
        passed = result.passed
        culprits = try JSONText.encode(result.culprits)
        explanation = result.explanation
        culpritVerdict = result.culpritVerdict?.rawValue
        digestDrift = result.digestDrift
    }

    mutating func didInsert(_ inserted: InsertionSuccess) { id = inserted.rowID }
}

/// A row of `builds`: one child build process.
struct BuildRecord: ResultsRecord, Equatable {
    static let databaseTableName = "builds"
    var id: Int64?
    var runId: Int64
    var specName: String
    var specPath: String
    var specDigest: String
    var role: String
    var variationsApplied: String
    var variationsSkipped: String
    var variationValues: String
    var imageDigest: String?
    var configDigest: String?
    var manifestDigest: String?
    var size: Int64?
    var layerCount: Int
    var wallMs: Int
    var cpuMs: Int
    var peakRssKib: Int
    var exitStatus: Int32
    var timedOut: Bool
    var error: String?
    /// Added by the formats migration; NULL in builds recorded before it (docker-archive).
    var format: String?
    var compression: String?
    var compressorVersions: String?

    init(_ build: BuildResult, runID: Int64, spec: SpecResult, path: String) throws {
        runId = runID
        specName = spec.specName
        specPath = spec.specPath
        specDigest = spec.specDigest.description
        role = build.role.rawValue
        variationsApplied = try JSONText.encode(build.variationsApplied)
        variationsSkipped = try JSONText.encode(build.variationsSkipped)
        variationValues = try JSONText.encode(build.variationValues)
        imageDigest = build.imageDigest?.description
        configDigest = build.configDigest?.description
        manifestDigest = build.manifestDigest?.description
        size = try build.size.map { try storable($0, column: "builds.size", path: path) }
        layerCount = build.layers.count
        wallMs = build.wallMilliseconds
        cpuMs = build.cpuMilliseconds
        peakRssKib = build.peakRSSKiB
        exitStatus = build.exitStatus
        timedOut = build.timedOut
        error = build.error
        format = build.format.rawValue
        compression = build.compression?.rawValue
        compressorVersions = build.compressorVersions
    }

    mutating func didInsert(_ inserted: InsertionSuccess) { id = inserted.rowID }
}

/// A row of `layers`.
struct LayerRecord: ResultsRecord, Equatable {
    static let databaseTableName = "layers"
    var id: Int64?
    var buildId: Int64
    var idx: Int
    var diffId: String
    var size: Int64
    var paths: String
    /// Added by the layer-blobs migration; NULL for docker-archive layers.
    var compressedDigest: String?
    var compressedSize: Int64?
    var mediaType: String?
    var compression: String?
    var compressorVersion: String?

    init(_ layer: LayerResult, buildID: Int64, path: String) throws {
        buildId = buildID
        idx = layer.index
        diffId = layer.diffID.description
        size = try storable(layer.size, column: "layers.size", path: path)
        paths = try JSONText.encode(layer.paths)
        if let blob = layer.blob {
            compressedDigest = blob.digest.description
            compressedSize = try storable(blob.size, column: "layers.compressed_size", path: path)
            mediaType = blob.mediaType
            compression = blob.compression?.rawValue
            compressorVersion = blob.compressorVersion
        }
    }

    func layer(path databasePath: String) throws -> LayerResult {
        var blob: LayerBlob?
        if let digest = try JSONText.digest(compressedDigest, table: "layers", column: "compressed_digest", path: databasePath) {
            blob = LayerBlob(
                // Non-negative by construction: only `UInt64` values that fit were stored.
                digest: digest, size: UInt64(clamping: compressedSize ?? 0), mediaType: mediaType ?? "",
                compression: compression.flatMap(LayerCompression.init(rawValue:)), compressorVersion: compressorVersion)
        }
        guard let diffID = Digest(parsing: diffId) else {
            throw ResultsDatabaseError.corruptValue(path: databasePath, table: "layers", column: "diff_id", value: diffId)
        }
        return LayerResult(
            index: idx, diffID: diffID,
            // Non-negative by construction: only `UInt64` values that fit were stored.
            size: UInt64(clamping: size),
            paths: try JSONText.decode([String].self, paths, table: "layers", column: "paths", path: databasePath),
            blob: blob)
    }

    mutating func didInsert(_ inserted: InsertionSuccess) { id = inserted.rowID }
}

/// A row of `differences`.
struct DifferenceRecord: ResultsRecord, Equatable {
    static let databaseTableName = "differences"
    var id: Int64?
    var runId: Int64
    var specName: String
    var specPath: String
    var layer: String?
    var path: String?
    var field: String
    var controlValue: String?
    var experimentValue: String?
    /// The whole typed difference as JSON; nil in rows stored before differences were typed.
    var detail: String?

    init(_ difference: Difference, runID: Int64, spec: SpecResult) throws {
        runId = runID
        specName = spec.specName
        specPath = spec.specPath
        layer = difference.layer
        path = difference.path
        field = difference.field
        controlValue = difference.control
        experimentValue = difference.experiment
        detail = try JSONText.encode(difference)
    }

    func difference(path databasePath: String) throws -> Difference {
        guard let detail else {
            return Difference(layer: layer, path: path, field: field, control: controlValue, experiment: experimentValue)
        }
        return try JSONText.decode(Difference.self, detail, table: "differences", column: "detail", path: databasePath)
    }

    mutating func didInsert(_ inserted: InsertionSuccess) { id = inserted.rowID }
}

/// SQLite integers are signed 64-bit; refuse rather than wrap a size that does not fit.
private func storable(_ value: UInt64, column: String, path: String) throws -> Int64 {
    guard let stored = Int64(exactly: value) else {
        throw ResultsDatabaseError.valueOutOfRange(path: path, column: column, value: String(value))
    }
    return stored
}

/// JSON-in-a-column, with sorted keys so identical values always store identical text.
enum JSONText {
    static func encode<T: Encodable>(_ value: T) throws -> String {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        return String(decoding: try encoder.encode(value), as: UTF8.self)
    }

    static func decode<T: Decodable>(_ type: T.Type, _ text: String, table: String, column: String, path: String) throws -> T {
        do {
            return try JSONDecoder().decode(type, from: Data(text.utf8))
        } catch {
            throw ResultsDatabaseError.corruptValue(path: path, table: table, column: column, value: text)
        }
    }

    static func digest(_ text: String?, table: String, column: String, path: String) throws -> Digest? {
        guard let text else { return nil }
        guard let digest = Digest(parsing: text) else {
            throw ResultsDatabaseError.corruptValue(path: path, table: table, column: column, value: text)
        }
        return digest
    }
}
