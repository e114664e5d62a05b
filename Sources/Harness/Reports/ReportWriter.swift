import Builder
import Foundation

#if canImport(Glibc)
    import Glibc
#elseif canImport(Darwin)
    import Darwin
#endif

/// Failures writing report files.
public enum ReportError: Error, Equatable, Sendable, CustomStringConvertible {
    case cannotCreateDirectory(path: String, reason: String)
    case writeFailed(path: String, reason: String)

    public var description: String {
        switch self {
        case .cannotCreateDirectory(let path, let reason):
            return "\(path) could not be created as the report directory: \(reason)."
        case .writeFailed(let path, let reason):
            return "\(path) could not be written: \(reason)."
        }
    }
}

/// Writes `index.html` and `summary.md` from a results database.
public enum ReportWriter {
    public static let htmlFileName = "index.html"
    public static let markdownFileName = "summary.md"

    public static func write(database: ResultsDatabase, outDirectory: String) throws {
        let rendered = try render(database: database)
        do {
            try FileManager.default.createDirectory(atPath: outDirectory, withIntermediateDirectories: true)
        } catch {
            throw ReportError.cannotCreateDirectory(path: outDirectory, reason: SystemErrorText.reason(error))
        }
        let directory = URL(fileURLWithPath: outDirectory)
        try writeReplacing(rendered.html, to: directory.appendingPathComponent(htmlFileName).path)
        try writeReplacing(rendered.markdown, to: directory.appendingPathComponent(markdownFileName).path)
    }

    /// Both reports as text, without touching the file system.
    public static func render(database: ResultsDatabase) throws -> (html: String, markdown: String) {
        let data = try ReportData.load(from: database)
        return (HTMLReport.render(data), MarkdownReport.render(data))
    }

    /// Writes beside the target and renames over it, so a reader (a browser, a CI upload)
    /// never sees half a report.
    static func writeReplacing(_ text: String, to path: String) throws {
        let url = URL(fileURLWithPath: path)
        let temporary = url.deletingLastPathComponent().appendingPathComponent(".\(url.lastPathComponent).tmp").path
        do {
            try Data(text.utf8).write(to: URL(fileURLWithPath: temporary))
        } catch {
            try? FileManager.default.removeItem(atPath: temporary)
            throw ReportError.writeFailed(path: path, reason: SystemErrorText.reason(error))
        }
        guard rename(temporary, path) == 0 else {
            let reason = String(cString: strerror(errno))
            try? FileManager.default.removeItem(atPath: temporary)
            throw ReportError.writeFailed(path: path, reason: "renaming \(temporary) failed: \(reason)")
        }
    }
}
