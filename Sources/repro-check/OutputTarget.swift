import Builder
import Dispatch
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
        // The temporary name is known before the file exists, so the interrupt handler is in
        // place before there is anything to leave behind. A file of that name can only be left
        // by a dead process that had our pid: it is stale.
        let temporary = "\(directory.isEmpty ? "/" : directory)/.\(base).tmp-\(getpid())"
        let cleanup = InterruptCleanup(removing: temporary)
        defer { cleanup.disarm() }
        var fd = open(temporary, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0o600)
        if fd < 0 && errno == EEXIST {
            unlink(temporary)
            fd = open(temporary, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0o600)
        }
        guard fd >= 0 else { throw IOError.open(path, errno: errno) }
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

/// Removes a file and exits 130 when SIGINT or SIGTERM arrives. Dispatch signal sources run the
/// handler on their own serial queue, so it fires even while the writing thread is busy.
final class InterruptCleanup {
    private let sources: [DispatchSourceSignal]

    init(removing path: String) {
        let queue = DispatchQueue(label: "repro-check.interrupt-cleanup")
        sources = [SIGINT, SIGTERM].map { number in
            signal(number, SIG_IGN)
            let source = DispatchSource.makeSignalSource(signal: number, queue: queue)
            source.setEventHandler {
                unlink(path)
                _exit(130)
            }
            source.resume()
            return source
        }
    }

    func disarm() {
        for source in sources { source.cancel() }
        signal(SIGINT, SIG_DFL)
        signal(SIGTERM, SIG_DFL)
    }
}
