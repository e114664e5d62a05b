import Foundation

/// Everything that can go wrong opening, writing, reading or merging a results database.
public enum ResultsDatabaseError: Error, Equatable, Sendable, CustomStringConvertible {
    /// A command that only reads was pointed at a file that does not exist.
    case missing(path: String)
    /// The file is empty (or an SQLite file with no tables): no run was ever recorded in it.
    case empty(path: String)
    /// The file exists but SQLite cannot read it as a database.
    case notADatabase(path: String)
    /// The file was migrated by a newer repro-check; reading it here could misinterpret columns.
    case newerSchema(path: String, unknownMigrations: [String])
    /// The directory that should hold the database could not be created.
    case cannotCreateDirectory(path: String, reason: String)
    /// A merge source does not exist (merging never creates its inputs).
    case missingSource(path: String)
    /// Copying runs into the destination failed; its transaction was rolled back.
    case mergeFailed(path: String, reason: String)
    /// `record` or `finishRun` named a run that `beginRun` never created.
    case unknownRun(path: String, runID: Int64)
    /// A value does not fit the column that stores it.
    case valueOutOfRange(path: String, column: String, value: String)
    /// A stored value could not be decoded (hand-edited or damaged file).
    case corruptValue(path: String, table: String, column: String, value: String)
    /// SQLite reported an error the cases above do not cover.
    case sqlite(path: String, message: String)

    public var description: String {
        switch self {
        case .missing(let path):
            return "\(path) does not exist, so it holds no results."
        case .empty(let path):
            return "\(path) is empty, so it holds no results."
        case .notADatabase(let path):
            return "\(path) is not an SQLite results database; move it aside or pick another path."
        case .newerSchema(let path, let unknown):
            return "\(path) was written by a newer repro-check (unknown migrations \(unknown.joined(separator: ", "))); upgrade repro-check to read it."
        case .cannotCreateDirectory(let path, let reason):
            return "\(path) cannot be created because its directory could not be made: \(reason)."
        case .missingSource(let path):
            return "\(path) does not exist, so it cannot be merged."
        case .mergeFailed(let path, let reason):
            return "\(path) was left unchanged because the merge failed: \(reason)."
        case .unknownRun(let path, let runID):
            return "\(path) has no run with id \(runID); call beginRun first."
        case .valueOutOfRange(let path, let column, let value):
            return "\(path) cannot store \(value) in column \(column) because it exceeds SQLite's 64-bit integer range."
        case .corruptValue(let path, let table, let column, let value):
            return "\(path) holds an unreadable value \(value.debugDescription) in \(table).\(column)."
        case .sqlite(let path, let message):
            return "\(path) could not be used: \(message)."
        }
    }
}
