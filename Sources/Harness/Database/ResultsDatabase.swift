import Builder
import Foundation
import GRDB
#if canImport(Glibc)
    import Glibc
#endif

/// The results of every check run: one SQLite file per machine (merged across machines later).
///
/// Owns the connection and the migrator, as GRDB recommends: callers never see SQL or GRDB
/// types, so the schema can grow by appending migrations without touching them.
public struct ResultsDatabase: Sendable {
    /// The database file, or `:memory:`; used to name the file in errors.
    public let path: String
    let writer: any DatabaseWriter

    /// Opens (creating if needed) the database at `path` for writing, in WAL mode, and brings
    /// its schema up to date.
    ///
    /// An existing file is first inspected through a read-only connection, so a file this
    /// version must refuse (written by a newer repro-check, or not a database) is left
    /// byte-identical, with no `-wal` or `-shm` beside it.
    public init(path: String) throws {
        if let size = Self.fileSize(path), size > 0 {
            let applied = try Self.withReadOnlyConnection(path: path) { db in try Self.appliedIdentifiers(db) }
            try Self.refuseUnknown(applied, path: path)
        }
        let directory = URL(fileURLWithPath: path).deletingLastPathComponent().path
        do {
            try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        } catch {
            throw ResultsDatabaseError.cannotCreateDirectory(path: path, reason: SystemErrorText.reason(error))
        }
        // WAL, so a report can read while a check writes. One read-write connection (not a
        // pool, whose read-only connections close last and cannot) so that closing it
        // checkpoints the WAL and removes `-wal` and `-shm` when nobody else has the file open.
        var config = Self.configuration()
        config.journalMode = .wal
        let queue = try Self.translatingErrors(path: path) { try DatabaseQueue(path: path, configuration: config) }
        try self.init(path: path, writer: queue)
    }

    /// A private in-memory copy of the database at `path`, migrated in memory: for commands
    /// that only read (`report`, `merge`'s sources). The file, its `-wal` and its `-shm` are
    /// never written, not even to bring an old schema up to date.
    public static func snapshot(path: String) throws -> ResultsDatabase {
        guard let size = fileSize(path) else { throw ResultsDatabaseError.missing(path: path) }
        guard size > 0 else { throw ResultsDatabaseError.empty(path: path) }
        let copy = try translatingErrors(path: path) { try DatabaseQueue(configuration: configuration()) }
        try withReadOnlyConnection(path: path) { source in
            let applied = try appliedIdentifiers(source)
            try refuseUnknown(applied, path: path)
            if applied.isEmpty {
                let tables = try Int.fetchOne(source, sql: "SELECT COUNT(*) FROM sqlite_master") ?? 0
                throw tables == 0 ? ResultsDatabaseError.empty(path: path) : ResultsDatabaseError.notADatabase(path: path)
            }
            try copy.writeWithoutTransaction { destination in try source.backup(to: destination) }
        }
        return try ResultsDatabase(path: path, writer: copy)
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
        // Several checks, and merges into the file a check writes, wait for each other rather than fail.
        config.busyMode = .timeout(60)
        config.label = "repro-check results"
        return config
    }

    /// Brings the schema up to date. Two processes opening a new file at once race to apply the
    /// same migration; each migration is its own transaction, so the loser's attempt rolls back
    /// and a second look finds it applied.
    private func migrate() throws {
        let migrator = Self.migrator
        let known = Set(migrator.migrations)
        for attempt in 0...migrator.migrations.count {
            let applied = try read { db in try Self.appliedIdentifiers(db) }
            try Self.refuseUnknown(applied, path: path)
            if known.isSubset(of: applied) { return }
            do {
                try translatingErrors { try migrator.migrate(writer) }
                return
            } catch where attempt < migrator.migrations.count {
                continue
            }
        }
    }

    private static func isNewerSchema(_ error: any Error) -> Bool {
        if case ResultsDatabaseError.newerSchema = error { return true }
        return false
    }

    static func appliedIdentifiers(_ db: Database) throws -> [String] {
        guard try db.tableExists("grdb_migrations") else { return [] }
        return try String.fetchAll(db, sql: "SELECT identifier FROM grdb_migrations ORDER BY identifier")
    }

    static func refuseUnknown(_ applied: [String], path: String) throws {
        let known = Set(migrator.migrations)
        let unknown = applied.filter { !known.contains($0) }
        guard unknown.isEmpty else { throw ResultsDatabaseError.newerSchema(path: path, unknownMigrations: unknown) }
    }

    // MARK: Read-only access

    /// Runs `body` in a read transaction on the database at `path` without writing the file or
    /// anything beside it.
    ///
    /// A read-only SQLite connection to a WAL database still creates `-wal` and `-shm` and
    /// writes read marks into `-shm`. So: with neither present, nobody has the file open and
    /// it is read as `immutable`; with a live connection (a check writing), through the shared
    /// index opened `readonly_shm` (its `-shm` is that writer's shared memory, under SQLite's
    /// own locking); with leftovers of a killed writer and nobody connected, from a private
    /// copy of the file and its `-wal`. A read without locks is repeated if the files changed
    /// meanwhile (a writer came and went).
    static func withReadOnlyConnection<T>(path: String, _ body: (Database) throws -> T) throws -> T {
        var attempt = 0
        while true {
            attempt += 1
            let before = FileFingerprint(path), wal = FileFingerprint(path + "-wal")
            let shm = FileFingerprint(path + "-shm")
            var config = configuration()
            let value: T
            let locked: Bool
            do {
                if shm == nil && wal == nil {
                    config.readonly = true
                    value = try read(uri(path, "mode=ro&immutable=1"), path: path, config: config, body)
                    locked = false
                } else if shm != nil && hasLiveConnection(shm: path + "-shm") {
                    config.readonly = true
                    value = try read(uri(path, "mode=ro&readonly_shm=1"), path: path, config: config, body)
                    locked = true
                } else {
                    value = try readCopy(path, config: config, body)
                    locked = false
                }
            } catch where attempt < 5 && !isNewerSchema(error) {
                // A lock-free read can catch a file another process is creating or migrating
                // (half-written pages, a WAL that appears mid-read); look again shortly.
                usleep(UInt32(50_000 * attempt))
                continue
            }
            let unchanged = FileFingerprint(path) == before && FileFingerprint(path + "-wal") == wal
            if locked || unchanged || attempt >= 5 { return value }
        }
    }

    private static func read<T>(_ location: String, path: String, config: Configuration, _ body: (Database) throws -> T) throws -> T {
        try translatingErrors(path: path) {
            let queue = try DatabaseQueue(path: location, configuration: config)
            defer { try? queue.close() }
            return try queue.read(body)
        }
    }

    /// Reads a copy of the file and its `-wal` in a private folder, where SQLite may rebuild
    /// the index and checkpoint as it likes.
    private static func readCopy<T>(_ path: String, config: Configuration, _ body: (Database) throws -> T) throws -> T {
        let folder: String
        do { folder = try WorkFolders.make(kind: "read") } catch {
            throw ResultsDatabaseError.sqlite(path: path, message: "\(error)")
        }
        defer { SpecResolver.removeWorkDirectory(folder) }
        let copy = folder + "/copy.sqlite"
        for suffix in ["", "-wal"] where FileFingerprint(path + suffix) != nil {
            do { try FileManager.default.copyItem(atPath: path + suffix, toPath: copy + suffix) } catch {
                throw ResultsDatabaseError.sqlite(path: path + suffix, message: "could not be copied for reading")
            }
        }
        // Errors name the user's file, not the private copy.
        return try read(copy, path: path, config: config, body)
    }

    /// Whether another process has the database open: every SQLite connection holds a shared
    /// lock on the "dead man switch" byte of `-shm` (offset 128 in SQLite's unix VFS).
    /// `F_GETLK` only asks, so it cannot disturb locks this process holds.
    static func hasLiveConnection(shm: String) -> Bool {
        let fd = Glibc.open(shm, O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else { return false }
        defer { Glibc.close(fd) }
        var lock = flock()
        lock.l_type = Int16(F_WRLCK)
        lock.l_whence = Int16(SEEK_SET)
        lock.l_start = 128
        lock.l_len = 1
        guard fcntl(fd, F_GETLK, &lock) == 0 else { return true }
        return lock.l_type != Int16(F_UNLCK)
    }

    /// An SQLite URI for `path`; `?`, `#` and `%` in a file name would otherwise end or escape it.
    static func uri(_ path: String, _ parameters: String) -> String {
        let absolute = path.hasPrefix("/") ? path : FileManager.default.currentDirectoryPath + "/" + path
        var escaped = ""
        for byte in absolute.utf8 {
            switch byte {
            case UInt8(ascii: "%"), UInt8(ascii: "?"), UInt8(ascii: "#"): escaped += String(format: "%%%02X", byte)
            default: escaped += String(decoding: [byte], as: UTF8.self)
            }
        }
        return "file:\(escaped)?\(parameters)"
    }

    static func fileSize(_ path: String) -> Int64? { FileFingerprint(path).map(\.size) }

    // MARK: Error translation

    func read<T>(_ body: (Database) throws -> T) throws -> T {
        try translatingErrors { try writer.read(body) }
    }

    /// One IMMEDIATE transaction: it takes the write lock before reading, so a transaction that
    /// reads then writes (a merge skipping runs it already holds) never fails with a stale
    /// snapshot when another process wrote in between; it waits for the lock instead.
    func write<T>(_ body: (Database) throws -> T) throws -> T {
        try translatingErrors {
            try writer.writeWithoutTransaction { db in
                var value: T?
                try db.inTransaction(.immediate) {
                    value = try body(db)
                    return .commit
                }
                guard let value else { throw ResultsDatabaseError.sqlite(path: path, message: "a transaction returned nothing") }
                return value
            }
        }
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

/// What identifies a file's state: enough to notice that a writer changed it during a read.
struct FileFingerprint: Equatable {
    var device: UInt64
    var inode: UInt64
    var size: Int64
    var modified: Int
    var modifiedNanoseconds: Int

    /// Nil when `path` does not exist (or cannot be examined).
    init?(_ path: String) {
        var info = stat()
        guard stat(path, &info) == 0 else { return nil }
        device = UInt64(info.st_dev)
        inode = UInt64(info.st_ino)
        size = Int64(info.st_size)
        modified = info.st_mtim.tv_sec
        modifiedNanoseconds = info.st_mtim.tv_nsec
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
        // Two specs may share a name (`app:1.0`, `app:2.0` both named `app`): results are keyed
        // by spec path. SQLite cannot drop a constraint, so `spec_results` is rebuilt; builds and
        // differences learn their spec's path from the result they belong to, unique per run in
        // v1 because the name was. `timed_out` records a build killed by `check --timeout`.
        migrator.registerMigration("v2-spec-path-keys") { db in
            try db.execute(sql: """
                CREATE TABLE spec_results_v2 (
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
                    culprit_verdict TEXT,
                    UNIQUE (run_id, spec_path)
                );
                INSERT INTO spec_results_v2
                    (id, run_id, spec_name, spec_path, spec_digest, expectation, outcome, passed, culprits, explanation,
                     culprit_verdict)
                    SELECT id, run_id, spec_name, spec_path, spec_digest, expectation, outcome, passed, culprits, explanation,
                     culprit_verdict
                    FROM spec_results;
                DROP TABLE spec_results;
                ALTER TABLE spec_results_v2 RENAME TO spec_results;
                CREATE INDEX spec_results_spec_path ON spec_results(spec_path, run_id);
                CREATE INDEX spec_results_spec_name ON spec_results(spec_name, run_id);

                ALTER TABLE builds ADD COLUMN spec_path TEXT NOT NULL DEFAULT '';
                ALTER TABLE builds ADD COLUMN timed_out BOOLEAN NOT NULL DEFAULT 0;
                UPDATE builds SET spec_path = COALESCE((SELECT sr.spec_path FROM spec_results sr
                    WHERE sr.run_id = builds.run_id AND sr.spec_name = builds.spec_name), '');
                CREATE INDEX builds_run_spec_path ON builds(run_id, spec_path);
                CREATE INDEX builds_spec_path_role ON builds(spec_path, role);

                ALTER TABLE differences ADD COLUMN spec_path TEXT NOT NULL DEFAULT '';
                UPDATE differences SET spec_path = COALESCE((SELECT sr.spec_path FROM spec_results sr
                    WHERE sr.run_id = differences.run_id AND sr.spec_name = differences.spec_name), '');
                CREATE INDEX differences_run_spec_path ON differences(run_id, spec_path);
                """)
        }
        // After v2, which rebuilds spec_results by an explicit column list.
        registerTypedDifferencesMigration(&migrator)
        registerFormatsMigration(&migrator)
        registerLayerBlobsMigration(&migrator)
        return migrator
    }
}
