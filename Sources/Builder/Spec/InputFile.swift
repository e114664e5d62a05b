import Foundation
#if canImport(Glibc)
import Glibc
#endif

/// Reads a small input document (a spec, a reference graph) whole, saying what the path is
/// when it cannot be one: a directory or a device is refused before any read, a pipe is read
/// like a file (`build <(cat spec.json)`), and every read is bounded so `/dev/zero` or a
/// runaway pipe cannot exhaust memory.
public enum InputFile {
    public struct Contents {
        public var bytes: [UInt8]
        /// False for a pipe or socket: there is no folder to resolve relative paths against.
        public var isRegularFile: Bool
    }

    public static let specLimit = 16 << 20
    public static let graphLimit = 1 << 30

    /// `role` names the document in messages (`spec file`, `reference graph`).
    public static func read(_ path: String, role: String, limit: Int) throws -> Contents {
        let fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY)
        guard fd >= 0 else { throw SpecError.unreadable(file: path, reason: IOError.reason(errno)) }
        defer { close(fd) }
        var info = stat()
        guard fstat(fd, &info) == 0 else { throw SpecError.unreadable(file: path, reason: IOError.reason(errno)) }
        let type = UInt32(info.st_mode) & UInt32(S_IFMT)
        switch type {
        case UInt32(S_IFREG), UInt32(S_IFIFO), UInt32(S_IFSOCK): break
        case UInt32(S_IFDIR): throw SpecError.notAFile(file: path, kind: "a directory", role: role)
        case UInt32(S_IFCHR): throw SpecError.notAFile(file: path, kind: "a character device", role: role)
        case UInt32(S_IFBLK): throw SpecError.notAFile(file: path, kind: "a block device", role: role)
        default: throw SpecError.notAFile(file: path, kind: "not a regular file", role: role)
        }
        var bytes: [UInt8] = []
        // A regular file's size is known: one allocation instead of a doubling series of
        // copies (a pipe, or a file that grows meanwhile, still reads to the end).
        if type == UInt32(S_IFREG) && info.st_size > 0 { bytes.reserveCapacity(min(Int(info.st_size), limit) + 1) }
        var chunk = [UInt8](repeating: 0, count: 1 << 16)
        while true {
            let count = chunk.withUnsafeMutableBytes { Glibc.read(fd, $0.baseAddress, $0.count) }
            if count < 0 {
                if errno == EINTR { continue }
                throw SpecError.unreadable(file: path, reason: IOError.reason(errno))
            }
            if count == 0 { break }
            guard bytes.count + count <= limit else { throw SpecError.tooLarge(file: path, role: role, limit: limit) }
            bytes += chunk[0..<count]
        }
        return Contents(bytes: bytes, isRegularFile: type == UInt32(S_IFREG))
    }
}

extension ReferenceGraph {
    /// Reads a graph file; every error names it.
    public static func load(path: String) throws -> ReferenceGraph {
        let contents = try InputFile.read(path, role: "reference graph", limit: InputFile.graphLimit)
        do {
            return try ReferenceGraph(jsonBytes: contents.bytes)
        } catch {
            throw SpecError.layering(file: path, error)
        }
    }
}
