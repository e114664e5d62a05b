import Builder
import Foundation
@testable import Harness
import Testing

/// `check --format F --compression C`, repeatable: which outputs are built, and how their
/// verdicts fold into the spec's.
@Suite("Check outputs")
struct CheckOutputTests {
    @Test("the default is docker-archive alone, with no extra child arguments")
    func defaultOutput() throws {
        let outputs = try CheckOutput.requested(formats: [], compressions: [])
        #expect(outputs == [.dockerArchive])
        #expect(outputs[0].buildArguments == [])
        #expect(try CheckOutput.requested(formats: [.dockerArchive], compressions: [LayerCompression.none]) == [.dockerArchive])
    }

    @Test("formats and compressions are deduplicated and put in a fixed order; docker-archive is built once")
    func orderAndDedup() throws {
        let outputs = try CheckOutput.requested(
            formats: [.dual, .dockerArchive, .ociArchive, .dual], compressions: [.zstd, .gzip, .zstd])
        #expect(outputs.map(\.description) == [
            "docker-archive", "oci-archive+gzip", "oci-archive+zstd", "dual+gzip", "dual+zstd",
        ])
        #expect(try CheckOutput.requested(formats: [.ociArchive], compressions: []).map(\.description) == ["oci-archive+gzip"])
        #expect(outputs[4].buildArguments == ["--format", "dual", "--compression", "zstd"])
    }

    @Test("an output is named back from its description; an OCI format alone is gzip, docker-archive takes no compression")
    func names() throws {
        for output in try CheckOutput.requested(formats: [.dockerArchive, .ociArchive, .dual], compressions: LayerCompression.allCases) {
            #expect(CheckOutput(name: output.description) == output)
        }
        #expect(CheckOutput(name: "dual") == CheckOutput(format: .dual, compression: .gzip))
        for bad in ["docker-archive+zstd", "oci-archive+lz4", "tar", "", "oci-archive+", "+gzip"] {
            #expect(CheckOutput(name: bad) == nil, "\(bad)")
        }
    }

    @Test("refuses a compression without an OCI format, and oci-layout")
    func refusals() {
        #expect(throws: CheckOutputError.compressionNeedsOCI(.zstd)) {
            try CheckOutput.requested(formats: [.dockerArchive], compressions: [.none, .zstd])
        }
        #expect(throws: CheckOutputError.layoutIsADirectory) {
            try CheckOutput.requested(formats: [.ociArchive, .ociLayout], compressions: [])
        }
    }

    static func part(_ output: CheckOutput, _ result: SpecResult) -> OutputResults.Part {
        var result = result
        for index in result.builds.indices {
            result.builds[index].format = output.format
            result.builds[index].compression = output.compression
        }
        return (output, result)
    }

    @Test("a spec passes only if every output does; differences and explanation name their output")
    func combine() {
        let zstd = CheckOutput(format: .ociArchive, compression: .zstd)
        var reproducible = ResultFixtures.reproducible("date")
        reproducible.explanation = "Reproducible: both builds gave x."
        let combined = OutputResults.combine([
            Self.part(.dockerArchive, reproducible), Self.part(zstd, ResultFixtures.unreproducible("date")),
        ])
        #expect(combined.outcome == .unreproducible && !combined.passed)
        #expect(combined.builds.map { CheckOutput(of: $0) } == [.dockerArchive, .dockerArchive, zstd, zstd])
        #expect(combined.differences.allSatisfy { $0.output == "oci-archive+zstd" } && combined.differences.count == 2)
        #expect(combined.differences.first?.place == "oci-archive+zstd: layer 1")
        #expect(combined.primaryDifference?.summaryWithOutput.hasPrefix("(oci-archive+zstd) ") == true)
        #expect(combined.culprits == ["time"] && combined.culpritVerdict == .confirmed)
        let report = CheckReport(
            runID: 1, runInfo: ResultFixtures.run(startedAt: 1000), results: [combined], drift: [:], slowdowns: [], interrupted: false)
        #expect(JUnitReport.render(report).contains("(oci-archive+zstd) "))
        #expect(combined.explanation == """
            docker-archive: Reproducible: both builds gave x.
            oci-archive+zstd: \(ResultFixtures.unreproducible("date").explanation)

            """)
        // A build error anywhere is the spec's outcome.
        let broken = OutputResults.combine([Self.part(.dockerArchive, reproducible), Self.part(zstd, ResultFixtures.buildError("date"))])
        #expect(broken.outcome == .buildError && !broken.passed)
        let both = OutputResults.combine([Self.part(.dockerArchive, reproducible), Self.part(zstd, reproducible)])
        #expect(both.outcome == .reproducible && both.passed)
    }

    @Test("a pin is met by any output's control; a miss is charged to the output the pinned build was, first in the explanation")
    func pins() throws {
        let database = try ResultsDatabase.inMemory()
        let zstd = CheckOutput(format: .ociArchive, compression: .zstd)
        let earlier = try database.beginRun(ResultFixtures.run(startedAt: 1000))
        var pinnedRun = ResultFixtures.ociReproducible("hello", manifest: "pinned")
        pinnedRun.builds = pinnedRun.builds.map { build in
            var build = build
            build.compression = .zstd
            return build
        }
        try database.record(pinnedRun, runID: earlier)
        #expect(try database.output(ofBuildPinnedAt: ResultFixtures.digest("pinned")) == zstd)
        #expect(try database.output(ofBuildPinnedAt: ResultFixtures.digest("config-image-a")) == nil, "an image ID pins docker-archive only")

        let docker = Self.part(.dockerArchive, ResultFixtures.reproducible("hello"))
        var met = [docker, Self.part(zstd, ResultFixtures.ociReproducible("hello", manifest: "pinned"))]
        try OutputResults.judgePin(ResultFixtures.digest("pinned"), &met, database: database)
        #expect(met.allSatisfy { $0.result.pinMismatch == nil && $0.result.passed })

        var missed = [docker, Self.part(zstd, ResultFixtures.ociReproducible("hello", manifest: "rebuilt"))]
        try OutputResults.judgePin(ResultFixtures.digest("pinned"), &missed, database: database)
        #expect(missed[0].result.pinMismatch == nil)
        let pin = try #require(missed[1].result.pinMismatch)
        #expect(pin.summary.hasPrefix(
            "the spec pins expectDigest \(ResultFixtures.digest("pinned")) but the oci-archive+zstd rebuild has manifest digest"))
        #expect(pin.comparedWithEarlierBuild)
        let combined = OutputResults.combine(missed)
        #expect(!combined.passed && combined.pinMismatch == pin)
        #expect(combined.explanation.hasPrefix("Pin: \(pin.summary).\ndocker-archive: "))
    }

    @Test("hosts disagree only about builds of the same output")
    func hostsPerOutput() throws {
        let database = try ResultsDatabase.inMemory()
        let alpha = try database.beginRun(ResultFixtures.run(host: "alpha", startedAt: 1000))
        try database.record(ResultFixtures.reproducible("hello", image: "docker"), runID: alpha)
        let beta = try database.beginRun(ResultFixtures.run(host: "beta", startedAt: 2000))
        try database.record(
            Self.part(CheckOutput(format: .ociArchive, compression: .gzip), ResultFixtures.reproducible("hello", image: "oci")).result,
            runID: beta)
        #expect(try database.crossHostDisagreements().isEmpty)
        let gamma = try database.beginRun(ResultFixtures.run(host: "gamma", startedAt: 3000))
        try database.record(ResultFixtures.reproducible("hello", image: "other"), runID: gamma)
        #expect(try database.crossHostDisagreements().map { $0.observations.map(\.host) } == [["alpha", "gamma"]])
    }
}
