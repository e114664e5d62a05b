import Builder
import GRDB

extension ResultsDatabase {
    /// The layers (in order) of the latest recorded build (with layers, if any has them) whose pinned digest in `format` is
    /// `pinned`: what a spec's `expectDigest` was made from, so a rebuild that misses the pin
    /// can say which layer changed, and for an OCI format whether its content or only its
    /// compression did. Nil when no such build is recorded.
    public func layers(ofBuildPinnedAt pinned: Digest, format: ImageFormat) throws -> [LayerResult]? {
        // The column is one of two fixed names, never input.
        let column = format.isOCI ? "manifest_digest" : "config_digest"
        return try read { db in
            guard let buildID = try Int64.fetchOne(
                db,
                sql: """
                    SELECT id FROM builds WHERE \(column) = ? AND COALESCE(format, 'docker-archive') = ?
                    ORDER BY EXISTS (SELECT 1 FROM layers WHERE build_id = builds.id) DESC, id DESC LIMIT 1
                    """,
                arguments: [pinned.description, format.rawValue])
            else { return nil }
            return try LayerRecord.fetchAll(
                db, sql: "SELECT * FROM layers WHERE build_id = ? ORDER BY idx, id", arguments: [buildID]
            ).map { try $0.layer(path: path) }
        }
    }
}

extension ResultsDatabase {
    /// The output the latest recorded build with this pinned digest was made as: a manifest
    /// digest of an OCI build, or the image ID of a docker-archive. Nil when none is recorded.
    public func output(ofBuildPinnedAt pinned: Digest) throws -> CheckOutput? {
        try read { db in
            guard let row = try Row.fetchOne(
                db,
                sql: """
                    SELECT COALESCE(format, 'docker-archive') AS format, compression FROM builds
                    WHERE (manifest_digest = ? AND COALESCE(format, 'docker-archive') != 'docker-archive')
                       OR (config_digest = ? AND COALESCE(format, 'docker-archive') = 'docker-archive')
                    ORDER BY id DESC LIMIT 1
                    """,
                arguments: [pinned.description, pinned.description])
            else { return nil }
            let formatText: String = row["format"]
            guard let format = ImageFormat(rawValue: formatText) else {
                throw ResultsDatabaseError.corruptValue(path: path, table: "builds", column: "format", value: formatText)
            }
            let compression: String? = row["compression"]
            return CheckOutput(format: format, compression: compression.flatMap(LayerCompression.init(rawValue:)))
        }
    }
}
