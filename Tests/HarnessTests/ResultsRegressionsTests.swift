import Builder
import Foundation
import Testing

@testable import Harness

@Suite("Regression queries")
struct ResultsRegressionsTests {
    @Test("drift finds earlier runs where the same spec and tool built another control image")
    func drift() throws {
        let database = try ResultsDatabase.inMemory()
        let r1 = try database.beginRun(ResultFixtures.run(startedAt: 1000))
        try database.record(ResultFixtures.reproducible("hello", image: "a"), runID: r1)
        let r2 = try database.beginRun(ResultFixtures.run(host: "beta", startedAt: 2000))
        try database.record(ResultFixtures.reproducible("hello", image: "b"), runID: r2)
        // Different tool version: a new image is expected, not drift.
        let r3 = try database.beginRun(ResultFixtures.run(startedAt: 3000, tool: "2.0.0"))
        try database.record(ResultFixtures.reproducible("hello", image: "z"), runID: r3)
        // Different spec digest: also not drift.
        let r4 = try database.beginRun(ResultFixtures.run(startedAt: 4000))
        try database.record(ResultFixtures.reproducible("hello", spec: "spec-v2", image: "y"), runID: r4)
        let current = try database.beginRun(ResultFixtures.run(startedAt: 5000))
        try database.record(ResultFixtures.reproducible("hello", image: "a"), runID: current)
        // A later run must not count as "earlier".
        let future = try database.beginRun(ResultFixtures.run(startedAt: 9000))
        try database.record(ResultFixtures.reproducible("hello", image: "c"), runID: future)

        let specDigest = ResultFixtures.digest("hello-spec-v1")
        let found = try database.drift(
            for: specDigest, toolVersion: "1.0.0", imageDigest: ResultFixtures.digest("a"), excludingRun: current)
        #expect(found.map(\.runID) == [r2])
        #expect(found.first?.imageDigest == ResultFixtures.digest("b"))
        #expect(found.first?.host == "beta")
        #expect(found.first?.specName == "hello")

        let none = try database.drift(
            for: specDigest, toolVersion: "2.0.0", imageDigest: ResultFixtures.digest("z"), excludingRun: current)
        #expect(none.isEmpty)
    }

    @Test("drift compares only builds of the same format and compression, and a pin finds its build's layers")
    func driftByFormat() throws {
        let database = try ResultsDatabase.inMemory()
        let earlier = try database.beginRun(ResultFixtures.run(startedAt: 1000))
        try database.record(ResultFixtures.reproducible("hello", image: "a"), runID: earlier)
        var oci = ResultFixtures.reproducible("hello", image: "b")
        for index in oci.builds.indices {
            oci.builds[index].format = .ociArchive
            oci.builds[index].compression = .zstd
            oci.builds[index].manifestDigest = ResultFixtures.digest("manifest")
        }
        let current = try database.beginRun(ResultFixtures.run(startedAt: 2000))
        try database.record(oci, runID: current)

        let specDigest = ResultFixtures.digest("hello-spec-v1")
        let none = try database.drift(
            for: specDigest, toolVersion: "1.0.0", imageDigest: ResultFixtures.digest("b"), excludingRun: current,
            format: .ociArchive, compression: .zstd)
        #expect(none.isEmpty, "a docker-archive build is not an earlier oci-archive one")
        let later = try database.beginRun(ResultFixtures.run(startedAt: 3000))
        let gzip = try database.drift(
            for: specDigest, toolVersion: "1.0.0", imageDigest: ResultFixtures.digest("c"), excludingRun: later,
            format: .ociArchive, compression: .gzip)
        #expect(gzip.isEmpty, "a zstd build is not an earlier gzip one")
        let zstd = try database.drift(
            for: specDigest, toolVersion: "1.0.0", imageDigest: ResultFixtures.digest("c"), excludingRun: later,
            format: .ociArchive, compression: .zstd)
        #expect(zstd.map(\.runID) == [current])

        let stored = try #require(try database.specResults(runID: current).first?.builds.first)
        #expect(stored.format == .ociArchive && stored.compression == .zstd)
        #expect(try database.layers(ofBuildPinnedAt: ResultFixtures.digest("manifest"), format: .ociArchive) != nil)
        #expect(try database.layers(ofBuildPinnedAt: ResultFixtures.digest("manifest"), format: .dual) == nil)
    }

    @Test("with the ratio alone, a build over 1.25 times the median of earlier runs on its host is flagged")
    func slowdownByRatio() throws {
        let database = try ResultsDatabase.inMemory()
        // Oldest run is outside a five-run window; if it counted, the median would shift.
        let walls = [10, 100, 110, 90, 105, 95]
        for (offset, wall) in walls.enumerated() {
            let run = try database.beginRun(ResultFixtures.run(startedAt: Double(1000 + offset)))
            try database.record(ResultFixtures.reproducible("slow", wall: wall), runID: run)
            try database.record(ResultFixtures.reproducible("steady", wall: wall), runID: run)
            try database.record(ResultFixtures.reproducible("young", wall: 100), runID: run)
        }
        // A slower machine's runs are not part of alpha's history.
        let other = try database.beginRun(ResultFixtures.run(host: "slowpoke", startedAt: 1500))
        try database.record(ResultFixtures.reproducible("slow", wall: 5000), runID: other)
        try database.record(ResultFixtures.reproducible("steady", wall: 1), runID: other)
        let latest = try database.beginRun(ResultFixtures.run(startedAt: 2000))
        try database.record(ResultFixtures.reproducible("slow", wall: 130), runID: latest)  // 1.3 × 100
        try database.record(ResultFixtures.reproducible("steady", wall: 124), runID: latest)  // 1.24 × 100
        let fresh = try database.beginRun(ResultFixtures.run(startedAt: 2001))
        try database.record(ResultFixtures.reproducible("new-spec", wall: 100), runID: fresh)
        let newer = try database.beginRun(ResultFixtures.run(startedAt: 2002))
        try database.record(ResultFixtures.reproducible("new-spec", wall: 900), runID: newer)  // one earlier run only

        let ratioOnly = SlowdownPolicy(ratio: 1.25, marginMilliseconds: 0, spreadFactor: 0, window: 5, minimumHistory: 3)
        let slowdowns = try database.slowdowns(ratioOnly)
        #expect(slowdowns.map(\.specName) == ["slow"])
        let slow = try #require(slowdowns.first)
        #expect(slow.runID == latest)
        #expect(slow.wallMilliseconds == 130)
        #expect(slow.medianMilliseconds == 100)
        #expect(slow.comparedRunIDs.count == 5)
        #expect(!slow.comparedRunIDs.contains(other))
        #expect(abs(slow.ratio - 1.3) < 1e-9)
        #expect(try database.slowdowns().isEmpty, "30 ms over a 100 ms median is inside the standard 500 ms margin")
    }

    /// Records one run per wall time for `spec` on `host`, oldest first; returns the run ids.
    @discardableResult
    private func history(_ database: ResultsDatabase, _ spec: String, _ walls: [Int], host: String = "alpha", from start: Double)
        throws -> [Int64]
    {
        try walls.enumerated().map { offset, wall in
            let run = try database.beginRun(ResultFixtures.run(host: host, startedAt: start + Double(offset)))
            try database.record(ResultFixtures.reproducible(spec, wall: wall), runID: run)
            return run
        }
    }

    @Test("a build beyond the ratio but inside the margin or the recent spread is not flagged; beyond all three it is")
    func slowdownNoiseModel() throws {
        let database = try ResultsDatabase.inMemory()
        // Tight history, big jump: beyond ratio, margin and spread.
        try history(database, "jumped", [2000, 2050, 1980, 2020, 2000, 6000], from: 0)
        // Beyond 1.25× but only 300 ms over: jitter of a small build on a busy machine.
        try history(database, "jittery-small", [1000, 1010, 990, 1000, 1300], from: 100)
        // Over ratio and margin, but the host's recent runs scatter by seconds.
        try history(database, "scattered", [2000, 6000, 1500, 7000, 3000, 9000], from: 200)
        let flagged = try database.slowdowns()
        #expect(flagged.map(\.specName) == ["jumped"])
        let jumped = try #require(flagged.first)
        #expect(jumped.medianMilliseconds == 2000 && jumped.madMilliseconds == 20)
        #expect(jumped.thresholdMilliseconds == 2500, "the 500 ms margin is the largest of the three here")
        let policy = SlowdownPolicy.standard
        let spreadBound: Double = 3000 + 3 * 1.4826 * 1500
        #expect(policy.threshold(median: 3000, mad: 1500) == spreadBound)
    }

    @Test("the shards of one run group are one point of history")
    func slowdownCountsRunGroups() throws {
        let database = try ResultsDatabase.inMemory()
        // Three nights, each a group of two runs (a shard and its retry) that both built the spec.
        for night in 0..<3 {
            for attempt in 0..<2 {
                var info = ResultFixtures.run(startedAt: Double(night * 100 + attempt))
                info.runGroup = "night-\(night)"
                let run = try database.beginRun(info)
                try database.record(ResultFixtures.reproducible("spec", wall: 1000), runID: run)
            }
        }
        var info = ResultFixtures.run(startedAt: 1000)
        info.runGroup = "night-3"
        let run = try database.beginRun(info)
        try database.record(ResultFixtures.reproducible("spec", wall: 9000), runID: run)
        #expect(try database.slowdowns().map(\.comparedRunIDs.count) == [3])
        let stored = try #require(try database.run(id: run))
        #expect(stored.info.runGroup == "night-3")
    }

    @Test("the median of an even number of runs averages the middle two")
    func evenMedian() {
        #expect(ResultsDatabase.median([4, 1, 3, 2]) == 2.5)
        #expect(ResultsDatabase.median([7]) == 7)
        #expect(ResultsDatabase.median([]) == 0)
    }

    @Test("hosts that built different images from the same spec digest and tool version disagree")
    func crossHost() throws {
        let database = try ResultsDatabase.inMemory()
        let a1 = try database.beginRun(ResultFixtures.run(host: "alpha", startedAt: 1000))
        try database.record(ResultFixtures.reproducible("hello", image: "a"), runID: a1)
        try database.record(ResultFixtures.reproducible("agreed", image: "same"), runID: a1)
        let a2 = try database.beginRun(ResultFixtures.run(host: "alpha", startedAt: 1500))
        try database.record(ResultFixtures.reproducible("hello", image: "a"), runID: a2)
        let b1 = try database.beginRun(ResultFixtures.run(host: "beta", startedAt: 2000))
        try database.record(ResultFixtures.reproducible("hello", image: "b"), runID: b1)
        try database.record(ResultFixtures.reproducible("agreed", image: "same"), runID: b1)
        // Same host, two images: drift, but not a cross-host disagreement.
        let c1 = try database.beginRun(ResultFixtures.run(host: "gamma", startedAt: 3000))
        try database.record(ResultFixtures.reproducible("solo", image: "s1"), runID: c1)
        let c2 = try database.beginRun(ResultFixtures.run(host: "gamma", startedAt: 3001))
        try database.record(ResultFixtures.reproducible("solo", image: "s2"), runID: c2)
        // Different tool versions on different hosts: expected to differ.
        let d1 = try database.beginRun(ResultFixtures.run(host: "delta", startedAt: 4000, tool: "3.0.0"))
        try database.record(ResultFixtures.reproducible("agreed", image: "other"), runID: d1)

        let disagreements = try database.crossHostDisagreements()
        #expect(disagreements.count == 1)
        let disagreement = try #require(disagreements.first)
        #expect(disagreement.specNames == ["hello"])
        #expect(disagreement.toolVersion == "1.0.0")
        #expect(disagreement.specDigest == ResultFixtures.digest("hello-spec-v1"))
        #expect(disagreement.observations.map(\.host) == ["alpha", "beta"])
        #expect(disagreement.observations.map(\.runIDs) == [[a1, a2], [b1]])
        #expect(disagreement.observations.map(\.imageDigest) == [ResultFixtures.digest("a"), ResultFixtures.digest("b")])
    }
}
