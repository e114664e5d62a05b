import GRDB

extension ResultsDatabase {
    /// An OCI build's layers as its manifest lists them: the blob a registry stores (digest,
    /// size, media type) and the compressor that wrote it, because the digest depends on it.
    /// NULL for docker-archive layers and for builds recorded before it.
    static func registerLayerBlobsMigration(_ migrator: inout DatabaseMigrator) {
        migrator.registerMigration("layer-compressed-blobs") { db in
            try db.execute(sql: """
                ALTER TABLE layers ADD COLUMN compressed_digest TEXT;
                ALTER TABLE layers ADD COLUMN compressed_size INTEGER;
                ALTER TABLE layers ADD COLUMN media_type TEXT;
                ALTER TABLE layers ADD COLUMN compression TEXT;
                ALTER TABLE layers ADD COLUMN compressor_version TEXT;
                """)
        }
    }
}
