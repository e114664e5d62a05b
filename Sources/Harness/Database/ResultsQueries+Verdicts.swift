import GRDB

/// Whether a spec met its expectation in one run.
public struct VerdictHistoryEntry: Sendable, Equatable {
    public var runID: Int64
    public var startedAt: Double
    public var passed: Bool

    public init(runID: Int64, startedAt: Double, passed: Bool) {
        self.runID = runID
        self.startedAt = startedAt
        self.passed = passed
    }
}

extension ResultsDatabase {
    /// A spec's verdict in every run that checked it, oldest first: what "last passed" and
    /// "failing since" are read from. Keyed by the spec's path, as results are: two specs may
    /// share a name.
    public func verdictHistory(specPath: String) throws -> [VerdictHistoryEntry] {
        try read { db in
            try Row.fetchAll(
                db,
                sql: """
                    SELECT sr.run_id, r.started_at, sr.passed FROM spec_results sr JOIN runs r ON r.id = sr.run_id
                    WHERE sr.spec_path = ? ORDER BY r.started_at, r.id
                    """,
                arguments: [specPath]
            ).map { VerdictHistoryEntry(runID: $0["run_id"], startedAt: $0["started_at"], passed: $0["passed"]) }
        }
    }
}
