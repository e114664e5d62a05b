import GRDB

extension ResultsDatabase {
    /// One spec's full result in one run, found by its name or its recorded path (the first
    /// of `keys` that matches); nil when the run did not check it.
    public func specResult(runID: Int64, matching keys: [String]) throws -> SpecResult? {
        try read { db in
            for key in keys {
                if let record = try SpecResultRecord.fetchOne(
                    db, sql: "SELECT * FROM spec_results WHERE run_id = ? AND (spec_name = ? OR spec_path = ?) ORDER BY id LIMIT 1",
                    arguments: [runID, key, key])
                {
                    return try loadSpecResult(db, record)
                }
            }
            return nil
        }
    }
}
