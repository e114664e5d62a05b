import Builder
import Foundation
import Synchronization
#if canImport(Glibc)
import Glibc
#endif

/// Where an archive goes: stdout; a device or FIFO, written into as it is; or a file that
/// appears under its final name only once it is complete (written to a temporary name in the
/// same directory, synced, renamed). A symlink given as FILE is followed: the file it leads to
/// is replaced, the link itself stays.
enum OutputTarget {
    /// What `-o FILE` turns out to be once its symlinks are followed.
    enum Destination: Equatable {
        /// A regular file, or a name that does not exist yet: replaced atomically.
        case file(String)
        /// A device, a FIFO, or anything else that is not a regular file: opened and written
        /// into, never created or replaced (a directory or socket then fails to open).
        case node(String)
    }

    static func write(to path: String?, interrupts: InterruptCleanup, _ body: (FileDescriptorSink) throws -> FileDescriptorSink) throws {
        guard let path else {
            if isatty(1) != 0 {
                throw UsageError("refusing to write an image archive to a terminal; pipe it (| podman load) or use -o FILE")
            }
            _ = try body(FileDescriptorSink(fd: 1, label: "stdout"))
            return
        }
        switch try destination(of: path) {
        case let .node(node): try writeInto(node, label: path, body)
        case let .file(file): try replace(file, label: path, interrupts: interrupts, body)
        }
    }

    /// Follows `path`'s symlinks (as `open` would, up to 40) without creating anything.
    static func destination(of path: String) throws -> Destination {
        var current = path
        for _ in 0..<40 {
            var info = stat()
            guard lstat(current, &info) == 0 else {
                // A dangling link names the file to create, as the shell's `>` does.
                if errno == ENOENT { return .file(current) }
                throw IOError.open(path, errno: errno)
            }
            switch info.st_mode & S_IFMT {
            case S_IFREG:
                return .file(current)
            case S_IFLNK:
                let target = try FileSystem.readLink(Array(current.utf8))
                let text = String(decoding: target, as: UTF8.self)
                current = text.hasPrefix("/") ? text : directory(of: current) + "/" + text
            default:
                return .node(current)
            }
        }
        throw IOError.open(path, errno: ELOOP)
    }

    /// A device or FIFO: no temporary file, no rename, no sync (a FIFO cannot be synced).
    private static func writeInto(_ node: String, label: String, _ body: (FileDescriptorSink) throws -> FileDescriptorSink) throws {
        let fd = open(node, O_WRONLY | O_NOCTTY | O_CLOEXEC)
        guard fd >= 0 else { throw IOError.open(label, errno: errno) }
        defer { close(fd) }
        if isatty(fd) != 0 {
            throw UsageError("refusing to write an image archive to the terminal \(label); pipe it (| podman load) or name a file")
        }
        try body(FileDescriptorSink(fd: fd, label: label)).flush()
    }

    private static func replace(
        _ file: String, label: String, interrupts: InterruptCleanup, _ body: (FileDescriptorSink) throws -> FileDescriptorSink
    ) throws {
        let base = file.split(separator: "/").last.map(String.init) ?? file
        // The temporary name sits beside the file the name leads to, so the rename is atomic.
        // A file of that name can only be left by a dead process that had our pid: it is stale.
        let temporary = "\(directory(of: file))/.\(base).tmp-\(getpid())"
        let fd = try interrupts.creating(file: temporary) { () throws -> Int32 in
            var fd = open(temporary, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0o600)
            if fd < 0 && errno == EEXIST {
                unlink(temporary)
                fd = open(temporary, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0o600)
            }
            guard fd >= 0 else { throw IOError.open(label, errno: errno) }
            return fd
        }
        do {
            let sink = try body(FileDescriptorSink(fd: fd, label: label))
            try sink.flush()
            guard fsync(fd) == 0 else { throw IOError.write(label, errno: errno) }
            fchmod(fd, 0o644)
            close(fd)
            guard rename(temporary, file) == 0 else { throw IOError.rename(label, errno: errno) }
            interrupts.forget(file: temporary)
        } catch {
            close(fd)
            interrupts.remove(file: temporary)
            throw error
        }
    }

    /// The folder holding `path`: `.` for a bare name, `/` for a child of the root.
    static func directory(of path: String) -> String {
        guard let slash = path.lastIndex(of: "/") else { return "." }
        return slash == path.startIndex ? "/" : String(path[..<slash])
    }
}

/// The write end of the armed `InterruptCleanup`'s pipe, or -1: the one thing the signal
/// handler reads, atomically (a C signal handler can capture nothing).
private let interruptPipe = Atomic<Int32>(-1)

/// What an interrupted command must remove before it exits 130: the temporary output file and
/// the work directory. One per command, armed for its whole run, so no two handlers race.
///
/// The signal handler only writes a byte to a pipe; a thread of ours reads it and cleans up.
/// (Dispatch signal sources lose signals on Linux: a signal that lands on a thread other than
/// the one reading their signalfd stays pending there for ever.) Creating a thing and
/// registering it happen under one lock, so the cleanup sees either nothing or a registered
/// path, never an unregistered leftover.
final class InterruptCleanup: @unchecked Sendable {
    private let lock = NSLock()
    private var files: Set<String> = []
    private var directories: Set<String> = []
    private let writeFD: Int32
    /// The spec's commands still running: stopped before their folder is removed.
    let processGroups = ProcessGroups()

    init() {
        var fds: [Int32] = [-1, -1]
        guard pipe(&fds) == 0 else {
            // Without a pipe an interrupt simply kills the process, as if nothing were armed.
            writeFD = -1
            return
        }
        let readFD = fds[0]
        writeFD = fds[1]
        // The commands a build runs must not inherit either end.
        for fd in fds { _ = fcntl(fd, F_SETFD, FD_CLOEXEC) }
        interruptPipe.store(writeFD, ordering: .sequentiallyConsistent)
        let thread = Thread { [self] in
            var byte: UInt8 = 0
            while true {
                let got = read(readFD, &byte, 1)
                if got == 1 { cleanUpAndExit() }
                if got == 0 || errno != EINTR { break }
            }
            close(readFD)
        }
        thread.start()
        var action = sigaction()
        action.__sigaction_handler.sa_handler = { _ in
            var byte: UInt8 = 1
            let fd = interruptPipe.load(ordering: .sequentiallyConsistent)
            if fd >= 0 { _ = write(fd, &byte, 1) }
        }
        action.sa_flags = SA_RESTART
        sigemptyset(&action.sa_mask)
        for number in [SIGINT, SIGTERM] {
            sigaction(number, &action, nil)
            // A parent may have blocked them; this thread at least takes them.
            var set = sigset_t()
            sigemptyset(&set)
            sigaddset(&set, number)
            pthread_sigmask(SIG_UNBLOCK, &set, nil)
        }
    }

    /// Runs `create` (which makes the file `path`) so that an interrupt removes it.
    func creating<T>(file path: String, _ create: () throws -> T) rethrows -> T {
        lock.lock()
        defer { lock.unlock() }
        files.insert(path)
        do { return try create() } catch {
            files.remove(path)
            throw error
        }
    }

    /// Runs `create`, which makes a directory and returns its path, so that an interrupt
    /// removes it (without following its symlinks).
    func creatingDirectory(_ create: () throws -> String) rethrows -> String {
        lock.lock()
        defer { lock.unlock() }
        let path = try create()
        directories.insert(path)
        return path
    }

    /// The file now lives under its final name: an interrupt leaves it alone.
    func forget(file path: String) {
        lock.lock()
        defer { lock.unlock() }
        files.remove(path)
    }

    func remove(file path: String) {
        lock.lock()
        defer { lock.unlock() }
        unlink(path)
        files.remove(path)
    }

    func remove(directory path: String) {
        lock.lock()
        defer { lock.unlock() }
        SpecResolver.removeWorkDirectory(path)
        directories.remove(path)
    }

    private func cleanUpAndExit() {
        // Locked first: a command failing because it was stopped makes the main thread
        // unwind into `remove`, where it waits here instead of reporting the failure.
        lock.lock()
        processGroups.terminateAll()
        for path in files { unlink(path) }
        for path in directories { SpecResolver.removeWorkDirectory(path) }
        _exit(130)
    }

    /// Back to the default dispositions; the reader thread ends when the pipe closes.
    func disarm() {
        signal(SIGINT, SIG_DFL)
        signal(SIGTERM, SIG_DFL)
        guard writeFD >= 0 else { return }
        _ = interruptPipe.compareExchange(expected: writeFD, desired: -1, ordering: .sequentiallyConsistent)
        close(writeFD)
    }
}
