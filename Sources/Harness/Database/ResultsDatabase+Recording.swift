import Builder
import GRDB

extension ResultsDatabase {
    /// Records the start of a check run and returns its id.
    ///
    /// `ended_at` stays NULL until `finishRun`; a process killed before then cannot mark
    /// itself, so reports treat a NULL end as an incomplete run.
    public func beginRun(_ info: RunInfo) throws -> Int64 {
        try write { db in
            var record = RunRecord(info: info)
            try record.insert(db)
            guard let id = record.id else {
                throw ResultsDatabaseError.sqlite(path: path, message: "inserting a run returned no row id")
            }
            return id
        }
    }

    /// Stores everything learned about one spec in a single transaction, so a crash or a
    /// failing insert never leaves a spec with some builds and no verdict.
    public func record(_ result: SpecResult, runID: Int64) throws {
        try write { db in
            guard try RunRecord.exists(db, key: runID) else {
                throw ResultsDatabaseError.unknownRun(path: path, runID: runID)
            }
            var specRecord = try SpecResultRecord(result, runID: runID)
            try specRecord.insert(db)
            for build in result.builds {
                var buildRecord = try BuildRecord(build, runID: runID, spec: result, path: path)
                try buildRecord.insert(db)
                guard let buildID = buildRecord.id else {
                    throw ResultsDatabaseError.sqlite(path: path, message: "inserting a build returned no row id")
                }
                for layer in build.layers {
                    var layerRecord = try LayerRecord(layer, buildID: buildID, path: path)
                    try layerRecord.insert(db)
                }
            }
            for difference in result.differences {
                var differenceRecord = try DifferenceRecord(difference, runID: runID, spec: result)
                try differenceRecord.insert(db)
            }
        }
    }

    /// Marks a run finished with its overall outcome (`passed` / `failed`).
    public func finishRun(id: Int64, outcome: String, endedAt: Double, interrupted: Bool = false) throws {
        try write { db in
            try db.execute(
                sql: "UPDATE runs SET outcome = ?, ended_at = ?, interrupted = ? WHERE id = ?",
                arguments: [outcome, endedAt, interrupted, id])
            guard db.changesCount == 1 else { throw ResultsDatabaseError.unknownRun(path: path, runID: id) }
        }
    }

    /// Flags a run as cut short (for example from a SIGINT handler). The end time is optional
    /// because the database never reads a clock itself.
    public func markInterrupted(runID: Int64, endedAt: Double? = nil) throws {
        try write { db in
            try db.execute(
                sql: "UPDATE runs SET interrupted = 1, ended_at = COALESCE(?, ended_at) WHERE id = ?",
                arguments: [endedAt, runID])
            guard db.changesCount == 1 else { throw ResultsDatabaseError.unknownRun(path: path, runID: runID) }
        }
    }
}
