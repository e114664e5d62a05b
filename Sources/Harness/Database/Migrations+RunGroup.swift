import GRDB

extension ResultsDatabase {
    /// Run groups (the shards of one CI run, reported as one run) and the culprit search's
    /// verdict, stored beside the culprit names it qualifies.
    static func registerRunGroupMigration(_ migrator: inout DatabaseMigrator) {
        migrator.registerMigration("run-group-and-culprit-verdict") { db in
            try db.execute(sql: """
                ALTER TABLE runs ADD COLUMN run_group TEXT;
                CREATE INDEX runs_run_group ON runs(run_group);
                ALTER TABLE spec_results ADD COLUMN culprit_verdict TEXT;
                """)
        }
    }
}
