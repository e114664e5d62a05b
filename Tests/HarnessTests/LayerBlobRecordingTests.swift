import Builder
import Foundation
import GRDB
@testable import Harness
import Testing

/// An OCI build's layer blobs in the database, the merge and the JSON summary, and a missed
/// OCI pin that says how each layer changed.
@Suite("Layer blob recording")
struct LayerBlobRecordingTests {
    @Test("records each OCI layer's blob and compressor and reads them back")
    func roundTrip() throws {
        let database = try ResultsDatabase.inMemory()
        let run = try database.beginRun(ResultFixtures.run(startedAt: 1000))
        let result = ResultFixtures.ociReproducible("hello")
        try database.record(result, runID: run)
        #expect(try database.specResults(runID: run) == [result])
        let columns = try database.read { db in
            try Row.fetchAll(db, sql: "SELECT compressed_digest, compressed_size, media_type, compression, compressor_version FROM layers ORDER BY idx")
        }
        #expect(columns.map { $0["compressor_version"] as String? } == ["zlib 1.3.1", "zlib 1.3.1"])
        #expect(columns.map { $0["media_type"] as String? } == Array(repeating: "application/vnd.oci.image.layer.v1.tar+gzip", count: 2))
        #expect(columns.first?["compressed_digest"] as String? == ResultFixtures.digest("blob-glibc").description)
    }

    @Test("a docker-archive layer stores no blob columns")
    func dockerLayers() throws {
        let database = try ResultsDatabase.inMemory()
        let run = try database.beginRun(ResultFixtures.run(startedAt: 1000))
        try database.record(ResultFixtures.reproducible("hello"), runID: run)
        let blobs = try database.read { db in try String?.fetchAll(db, sql: "SELECT compressed_digest FROM layers") }
        #expect(blobs == [nil])
        #expect(try database.specResults(runID: run).first?.builds.first?.layers.first?.blob == nil)
    }

    @Test("merge copies the layer blobs")
    func merge() throws {
        let directory = try ResultFixtures.temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: directory) }
        let source = directory.appendingPathComponent("a.sqlite").path
        let merged = directory.appendingPathComponent("merged.sqlite").path
        let database = try ResultsDatabase(path: source)
        let run = try database.beginRun(ResultFixtures.run(startedAt: 1000))
        try database.record(ResultFixtures.ociReproducible("hello"), runID: run)
        try database.close()
        _ = try ResultsDatabase.merge([source], into: merged)
        let reopened = try ResultsDatabase(path: merged)
        defer { try? reopened.close() }
        #expect(try reopened.specResults(runID: 1) == [ResultFixtures.ociReproducible("hello")])
    }

    @Test("the JSON summary carries each layer's blob and validates against the schema")
    func summary() throws {
        let result = ResultFixtures.ociReproducible("hello")
        let report = CheckReport(
            runID: 1, runInfo: ResultFixtures.run(startedAt: 1000), results: [result], drift: [:], slowdowns: [],
            interrupted: false)
        let document = JSONSummary.document(report)
        let layer = try #require(document.specs.first?.builds.first?.layers.last)
        #expect(layer.compressedDigest == ResultFixtures.digest("blob-hello"))
        #expect(layer.compression == .gzip && layer.compressorVersion == "zlib 1.3.1" && layer.compressedSize == 900)
        #expect(try SchemaValidator.violations(of: JSONSummary.render(report)) == [])
    }

    @Test("pairs layers by position: content, compression only, added and removed")
    func layerChanges() {
        let pinned = [
            ResultFixtures.ociLayer(1, content: "glibc", blob: "glibc"),
            ResultFixtures.ociLayer(2, content: "hello", blob: "hello"),
            ResultFixtures.ociLayer(3, content: "same", blob: "same"),
        ]
        let rebuilt = [
            ResultFixtures.ociLayer(1, content: "glibc", blob: "glibc-again", compressor: "zlib 1.3.2"),
            ResultFixtures.ociLayer(2, content: "hello-2", blob: "hello-2"),
            ResultFixtures.ociLayer(3, content: "same", blob: "same"),
            ResultFixtures.ociLayer(4, content: "new", blob: "new"),
        ]
        let changes = LayerChange.between(pinned: pinned, rebuilt: rebuilt)
        #expect(changes == [
            LayerChange(index: 1, kind: .compression, pinnedCompressor: "zlib 1.3.1", rebuiltCompressor: "zlib 1.3.2"),
            LayerChange(index: 2, kind: .content),
            LayerChange(index: 4, kind: .added),
        ])
        #expect(LayerChange.between(pinned: rebuilt, rebuilt: pinned).last == LayerChange(index: 4, kind: .removed))
        #expect(changes[0].summary
            == "layer 1 (only its compression: same diff_id, compressed by zlib 1.3.1 for the pin and zlib 1.3.2 now)")
        #expect(changes[1].summary == "layer 2 (its content: the diff_id differs)")
    }

    @Test("a missed OCI pin names the layer whose compression changed since the pinned build, everywhere it is reported")
    func missedPin() throws {
        let database = try ResultsDatabase.inMemory()
        let first = try database.beginRun(ResultFixtures.run(startedAt: 1000))
        try database.record(ResultFixtures.ociReproducible("hello", manifest: "pinned"), runID: first)

        var result = ResultFixtures.ociReproducible(
            "hello", manifest: "rebuilt",
            layers: [
                ResultFixtures.ociLayer(1, content: "glibc", blob: "glibc"),
                ResultFixtures.ociLayer(2, content: "hello", blob: "hello-zlib-ng", compressor: "zlib 1.3.1.zlib-ng"),
            ])
        SpecChecker.judgePin(ResultFixtures.digest("pinned"), &result)
        try CheckRunner.nameChangedLayers(of: &result, database: database)
        let pin = try #require(result.pinMismatch)
        #expect(pin.changedLayers == [2])
        let expected = "the spec pins expectDigest \(ResultFixtures.digest("pinned")) but the rebuild has manifest digest "
            + "\(ResultFixtures.digest("rebuilt")); changed: layer 2 (only its compression: same diff_id, "
            + "compressed by zlib 1.3.1 for the pin and zlib 1.3.1.zlib-ng now)"
        #expect(pin.summary == expected)
        #expect(result.explanation.hasPrefix("Pin: \(expected)."))
        #expect(!result.passed)

        let report = CheckReport(
            runID: 2, runInfo: ResultFixtures.run(startedAt: 2000), results: [result], drift: [:], slowdowns: [],
            interrupted: false)
        #expect(JUnitReport.render(report, relativeTo: "/").contains("expectDigest: \(expected)"))
        let summaryPin = try #require(JSONSummary.document(report).specs.first?.pin)
        #expect(summaryPin.summary == expected && summaryPin.layerChanges.map(\.kind) == [.compression])
        #expect(try SchemaValidator.violations(of: JSONSummary.render(report)) == [])
    }

    @Test("a missed pin whose layers all match says the config or manifest changed")
    func configOnly() throws {
        let database = try ResultsDatabase.inMemory()
        let first = try database.beginRun(ResultFixtures.run(startedAt: 1000))
        try database.record(ResultFixtures.ociReproducible("hello", manifest: "pinned"), runID: first)
        var result = ResultFixtures.ociReproducible("hello", manifest: "rebuilt")
        SpecChecker.judgePin(ResultFixtures.digest("pinned"), &result)
        try CheckRunner.nameChangedLayers(of: &result, database: database)
        #expect(result.pinMismatch?.summary.hasSuffix(
            "; every layer matches the earlier build that gave the pin, so the config or manifest changed") == true)
    }

    @Test("the report's spec detail lists an OCI control's layer blobs and marks the experiment's that differ")
    func reportTable() throws {
        let database = try ResultsDatabase.inMemory()
        let run = try database.beginRun(ResultFixtures.run(startedAt: 1000))
        var result = ResultFixtures.unreproducible("date")
        let layers = [ResultFixtures.ociLayer(1, content: "glibc", blob: "glibc"), ResultFixtures.ociLayer(2, content: "date", blob: "date")]
        for index in result.builds.indices {
            result.builds[index].format = .ociArchive
            result.builds[index].layers = layers
        }
        result.builds[1].layers[1] = ResultFixtures.ociLayer(2, content: "date-2", blob: "date-2")
        try database.record(result, runID: run)
        let rendered = try ReportWriter.render(database: database)
        let short = { (seed: String) in ReportFormat.short(ResultFixtures.digest(seed)) }
        #expect(rendered.html.contains("<table class=\"layers\">"))
        #expect(rendered.html.contains(short("blob-glibc")) && rendered.html.contains(short("blob-date-2")))
        #expect(rendered.html.contains("<td data-label=\"Compression\">gzip, zlib 1.3.1</td>"))
        #expect(rendered.markdown.contains("| 1 | `\(short("layer-glibc"))` | `\(short("blob-glibc"))` | 900 | gzip, zlib 1.3.1 | same |"))
        #expect(rendered.markdown.contains("| 2 | `\(short("layer-date"))` | `\(short("blob-date"))` | 900 | gzip, zlib 1.3.1 | `\(short("blob-date-2"))` |"))
    }
}
