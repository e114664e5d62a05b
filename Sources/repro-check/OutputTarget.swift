import Builder
#if canImport(Glibc)
import Glibc
#endif

/// Where an archive goes: stdout, or a file that appears under its final name only once it is
/// complete (written to a temporary name in the same directory, synced, renamed).
enum OutputTarget {
    static func write(to path: String?, _ body: (FileDescriptorSink) throws -> FileDescriptorSink) throws {
        guard let path else {
            if isatty(1) != 0 {
                throw UsageError("refusing to write an image archive to a terminal; pipe it (| podman load) or use -o FILE")
            }
            _ = try body(FileDescriptorSink(fd: 1, label: "stdout"))
            return
        }
        let directory = path.contains("/") ? String(path[..<(path.lastIndex(of: "/") ?? path.startIndex)]) : "."
        let base = path.split(separator: "/").last.map(String.init) ?? path
        var template = Array("\(directory.isEmpty ? "/" : directory)/.\(base).tmp-XXXXXX".utf8CString)
        let fd = template.withUnsafeMutableBufferPointer { buffer in buffer.baseAddress.map { mkstemp($0) } ?? -1 }
        guard fd >= 0 else { throw IOError.open(path, errno: errno) }
        let temporary = String(cString: template)
        do {
            let sink = try body(FileDescriptorSink(fd: fd, label: path))
            try sink.flush()
            guard fsync(fd) == 0 else { throw IOError.write(path, errno: errno) }
            fchmod(fd, 0o644)
            close(fd)
            guard rename(temporary, path) == 0 else { throw IOError.rename(path, errno: errno) }
        } catch {
            close(fd)
            unlink(temporary)
            throw error
        }
    }
}
