import GRDB

extension ResultsDatabase {
    /// Differences stored whole, as typed JSON (kind, text diff lines, byte offset…), beside the
    /// text columns older rows keep; and digest drift as a flag rather than a sentence.
    static func registerTypedDifferencesMigration(_ migrator: inout DatabaseMigrator) {
        migrator.registerMigration("typed-differences-and-drift") { db in
            try db.execute(sql: """
                ALTER TABLE differences ADD COLUMN detail TEXT;
                ALTER TABLE spec_results ADD COLUMN digest_drift INTEGER NOT NULL DEFAULT 0;
                UPDATE spec_results SET digest_drift = 1 WHERE explanation LIKE '%Digest drift:%';
                """)
        }
    }
}
