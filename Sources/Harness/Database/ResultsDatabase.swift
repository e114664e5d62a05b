import Builder
import Foundation
import GRDB

/// The results of every check run: one SQLite file per machine (merged across machines later).
///
/// Owns the connection and the migrator, as GRDB recommends: callers never see SQL or GRDB
/// types, so the schema can grow by appending migrations without touching them.
public struct ResultsDatabase: Sendable {
    /// The database file, or `:memory:`; used to name the file in errors.
    public let path: String
    let writer: any DatabaseWriter

    /// Opens (creating if needed) the database at `path` in WAL mode and brings its schema up to date.
    public init(path: String) throws {
        let directory = URL(fileURLWithPath: path).deletingLastPathComponent().path
        do {
            try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        } catch {
            throw ResultsDatabaseError.cannotCreateDirectory(path: path, reason: SystemErrorText.reason(error))
        }
        // A pool gives WAL, so a report can read while a check writes.
        let pool = try Self.translatingErrors(path: path) {
            try DatabasePool(path: path, configuration: Self.configuration())
        }
        try self.init(path: path, writer: pool)
    }

    /// A private database that lives as long as the value; for tests and dry runs.
    public static func inMemory() throws -> ResultsDatabase {
        let queue = try translatingErrors(path: ":memory:") {
            try DatabaseQueue(configuration: configuration())
        }
        return try ResultsDatabase(path: ":memory:", writer: queue)
    }

    init(path: String, writer: any DatabaseWriter) throws {
        self.path = path
        self.writer = writer
        try migrate()
    }

    /// Releases the connection; further use throws. Needed before a file is renamed or deleted.
    public func close() throws {
        try translatingErrors { try writer.close() }
    }

    /// The journal mode SQLite reports (`wal` for files, `memory` for in-memory databases).
    public func journalMode() throws -> String {
        try read { db in try String.fetchOne(db, sql: "PRAGMA journal_mode") ?? "" }
    }

    /// Applied migration identifiers, oldest first.
    public func appliedMigrations() throws -> [String] {
        try read { db in try Self.migrator.appliedMigrations(db) }
    }

    static func configuration() -> Configuration {
        var config = Configuration()
        config.foreignKeysEnabled = true
        // Several checks on one machine may share a file; wait for a writer rather than fail.
        config.busyMode = .timeout(10)
        config.label = "repro-check results"
        return config
    }

    private func migrate() throws {
        let migrator = Self.migrator
        let applied = try read { db -> [String] in
            guard try db.tableExists("grdb_migrations") else { return [] }
            return try String.fetchAll(db, sql: "SELECT identifier FROM grdb_migrations ORDER BY identifier")
        }
        let known = Set(migrator.migrations)
        let unknown = applied.filter { !known.contains($0) }
        guard unknown.isEmpty else {
            throw ResultsDatabaseError.newerSchema(path: path, unknownMigrations: unknown)
        }
        try translatingErrors { try migrator.migrate(writer) }
    }

    // MARK: Error translation

    func read<T>(_ body: (Database) throws -> T) throws -> T {
        try translatingErrors { try writer.read(body) }
    }

    func write<T>(_ body: (Database) throws -> T) throws -> T {
        try translatingErrors { try writer.write(body) }
    }

    func translatingErrors<T>(_ body: () throws -> T) throws -> T {
        try Self.translatingErrors(path: path, body)
    }

    /// Maps GRDB errors to `ResultsDatabaseError` so every message names the file.
    static func translatingErrors<T>(path: String, _ body: () throws -> T) throws -> T {
        do {
            return try body()
        } catch let error as ResultsDatabaseError {
            throw error
        } catch let error as DatabaseError {
            if error.resultCode == .SQLITE_NOTADB {
                throw ResultsDatabaseError.notADatabase(path: path)
            }
            throw ResultsDatabaseError.sqlite(path: path, message: error.message ?? error.description)
        }
    }
}

// MARK: - Schema

extension ResultsDatabase {
    /// Append-only: a migration that has shipped is never edited, only followed by a new one,
    /// because databases in the field have already applied it.
    static var migrator: DatabaseMigrator {
        var migrator = DatabaseMigrator()
        migrator.registerMigration("v1") { db in
            try db.execute(sql: """
                CREATE TABLE runs (
                    id INTEGER PRIMARY KEY AUTOINCREMENT,
                    started_at DOUBLE NOT NULL,
                    ended_at DOUBLE,
                    tool_version TEXT NOT NULL,
                    git_commit TEXT,
                    host TEXT NOT NULL,
                    options TEXT NOT NULL DEFAULT '{}',
                    outcome TEXT,
                    interrupted BOOLEAN NOT NULL DEFAULT 0
                );
                CREATE INDEX runs_started_at ON runs(started_at, id);

                CREATE TABLE spec_results (
                    id INTEGER PRIMARY KEY AUTOINCREMENT,
                    run_id INTEGER NOT NULL REFERENCES runs(id) ON DELETE CASCADE,
                    spec_name TEXT NOT NULL,
                    spec_path TEXT NOT NULL,
                    spec_digest TEXT NOT NULL,
                    expectation TEXT NOT NULL,
                    outcome TEXT NOT NULL,
                    passed BOOLEAN NOT NULL,
                    culprits TEXT NOT NULL DEFAULT '[]',
                    explanation TEXT NOT NULL DEFAULT '',
                    UNIQUE (run_id, spec_name)
                );
                CREATE INDEX spec_results_spec_name ON spec_results(spec_name, run_id);

                CREATE TABLE builds (
                    id INTEGER PRIMARY KEY AUTOINCREMENT,
                    run_id INTEGER NOT NULL REFERENCES runs(id) ON DELETE CASCADE,
                    spec_name TEXT NOT NULL,
                    spec_digest TEXT NOT NULL,
                    role TEXT NOT NULL,
                    variations_applied TEXT NOT NULL DEFAULT '[]',
                    variations_skipped TEXT NOT NULL DEFAULT '{}',
                    variation_values TEXT NOT NULL DEFAULT '{}',
                    image_digest TEXT,
                    config_digest TEXT,
                    manifest_digest TEXT,
                    size INTEGER,
                    layer_count INTEGER NOT NULL DEFAULT 0,
                    wall_ms INTEGER NOT NULL DEFAULT 0,
                    cpu_ms INTEGER NOT NULL DEFAULT 0,
                    peak_rss_kib INTEGER NOT NULL DEFAULT 0,
                    exit_status INTEGER NOT NULL DEFAULT 0,
                    error TEXT
                );
                CREATE INDEX builds_run_spec ON builds(run_id, spec_name);
                CREATE INDEX builds_spec_role ON builds(spec_name, role);
                CREATE INDEX builds_digest_role ON builds(spec_digest, role);

                CREATE TABLE layers (
                    id INTEGER PRIMARY KEY AUTOINCREMENT,
                    build_id INTEGER NOT NULL REFERENCES builds(id) ON DELETE CASCADE,
                    idx INTEGER NOT NULL,
                    diff_id TEXT NOT NULL,
                    size INTEGER NOT NULL,
                    paths TEXT NOT NULL DEFAULT '[]'
                );
                CREATE INDEX layers_build ON layers(build_id, idx);

                CREATE TABLE differences (
                    id INTEGER PRIMARY KEY AUTOINCREMENT,
                    run_id INTEGER NOT NULL REFERENCES runs(id) ON DELETE CASCADE,
                    spec_name TEXT NOT NULL,
                    layer TEXT,
                    path TEXT,
                    field TEXT NOT NULL,
                    control_value TEXT,
                    experiment_value TEXT
                );
                CREATE INDEX differences_run_spec ON differences(run_id, spec_name);
                """)
        }
        registerRunGroupMigration(&migrator)
        return migrator
    }
}
