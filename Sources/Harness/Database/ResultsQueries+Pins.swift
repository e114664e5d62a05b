import Builder
import GRDB

extension ResultsDatabase {
    /// The layer digests (in order) of the latest recorded build whose pinned digest in
    /// `format` is `pinned`: what a spec's `expectDigest` was made from, so a rebuild that
    /// misses the pin can say which layer changed. Nil when no such build is recorded.
    public func layerDigests(ofBuildPinnedAt pinned: Digest, format: ImageFormat) throws -> [Digest]? {
        // The column is one of two fixed names, never input.
        let column = format.isOCI ? "manifest_digest" : "config_digest"
        return try read { db in
            guard let buildID = try Int64.fetchOne(
                db,
                sql: """
                    SELECT id FROM builds WHERE \(column) = ? AND COALESCE(format, 'docker-archive') = ?
                    ORDER BY id DESC LIMIT 1
                    """,
                arguments: [pinned.description, format.rawValue])
            else { return nil }
            let diffIDs = try String.fetchAll(
                db, sql: "SELECT diff_id FROM layers WHERE build_id = ? ORDER BY idx, id", arguments: [buildID])
            return try diffIDs.map { try digest($0, "layers", "diff_id") }
        }
    }
}
