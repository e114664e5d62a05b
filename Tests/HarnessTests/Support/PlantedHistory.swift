import Builder
import Foundation

@testable import Harness

/// A database with a story the reports must tell: a slowdown, digest drift, a cross-host
/// disagreement, an unreproducible spec, a negative control, a build error, an interrupted
/// run and one that never ended.
enum PlantedHistory {
    static let hostileName = "<script>alert('x')</script> | pipe"

    static func database() throws -> ResultsDatabase {
        let database = try ResultsDatabase.inMemory()
        let walls = [1000, 1100, 900, 1050, 950]
        for (offset, wall) in walls.enumerated() {
            let runID = try database.beginRun(ResultFixtures.run(startedAt: 1_700_000_000 + Double(offset) * 86_400))
            try database.record(ResultFixtures.reproducible("hello", wall: wall), runID: runID)
            try database.record(
                ResultFixtures.reproducible("drifty", image: offset < 3 ? "d1" : "d2", wall: 300), runID: runID)
            try database.finishRun(id: runID, outcome: "passed", endedAt: 1_700_000_000 + Double(offset) * 86_400 + 60)
        }
        let beta = try database.beginRun(ResultFixtures.run(host: "beta", startedAt: 1_700_500_000))
        try database.record(ResultFixtures.reproducible("hello", image: "beta-image", wall: 1000), runID: beta)
        try database.finishRun(id: beta, outcome: "passed", endedAt: 1_700_500_100)
        let interrupted = try database.beginRun(ResultFixtures.run(startedAt: 1_700_600_000))
        try database.markInterrupted(runID: interrupted, endedAt: 1_700_600_010)

        let latest = try database.beginRun(ResultFixtures.run(startedAt: 1_701_000_000, tool: "1.0.0"))
        try database.record(ResultFixtures.reproducible("hello", wall: 2000), runID: latest)
        try database.record(ResultFixtures.unreproducible("date"), runID: latest)
        try database.record(ResultFixtures.unreproducible("negative-control", passed: true), runID: latest)
        try database.record(ResultFixtures.buildError("broken"), runID: latest)
        var hostile = ResultFixtures.unreproducible(hostileName)
        hostile.explanation = "Differs in <b>bold</b> & \"quoted\" ways."
        try database.record(hostile, runID: latest)
        try database.finishRun(id: latest, outcome: "failed", endedAt: 1_701_000_500)

        // Killed: began, recorded one spec, never finished.
        let killed = try database.beginRun(ResultFixtures.run(host: "gamma", startedAt: 1_701_100_000))
        try database.record(ResultFixtures.reproducible("drifty", image: "d2", wall: 300), runID: killed)
        return database
    }
}
