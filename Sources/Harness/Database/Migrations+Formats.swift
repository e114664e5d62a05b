import GRDB

extension ResultsDatabase {
    /// `check --format/--compression`: what each build streamed, so digests are only compared
    /// with builds of the same format and compression (a zstd manifest never equals a gzip one).
    static func registerFormatsMigration(_ migrator: inout DatabaseMigrator) {
        migrator.registerMigration("build-format-and-compression") { db in
            try db.execute(sql: """
                ALTER TABLE builds ADD COLUMN format TEXT;
                ALTER TABLE builds ADD COLUMN compression TEXT;
                ALTER TABLE builds ADD COLUMN compressor_versions TEXT;
                """)
        }
    }
}
