import Builder
import CChildSpawn
import Foundation
import Synchronization
#if canImport(Glibc)
import Glibc
#endif

/// How a child build ended and what it cost, from `wait4`'s rusage (swift-subprocess does
/// not expose rusage, nor a hook between fork and exec, so the child is started by `CChildSpawn`).
public struct ChildOutcome: Sendable, Equatable {
    /// The exit status, or 128 + the signal number when a signal ended it (as shells report).
    public var exitStatus: Int32
    public var signal: Int32?
    public var wallMilliseconds: Int
    public var cpuMilliseconds: Int
    public var peakRSSKiB: Int
    /// The child ran past its timeout and its process group was killed.
    public var timedOut: Bool
    /// The last few KiB of stderr, for the error message of a failed build.
    public var stderrTail: String
}

public enum ChildProcessError: Error, Equatable, Sendable, CustomStringConvertible {
    case spawnFailed(executable: String, errno: Int32)
    case pipeFailed(errno: Int32)
    case waitFailed(executable: String, errno: Int32)

    public var description: String {
        switch self {
        case let .spawnFailed(executable, code):
            "\(executable): could not start the build: \(String(cString: strerror(code)))"
        case let .pipeFailed(code):
            "could not create a pipe for a child build: \(String(cString: strerror(code)))"
        case let .waitFailed(executable, code):
            "\(executable): waiting for the build failed: \(String(cString: strerror(code)))"
        }
    }
}

/// Live children, so a SIGINT can stop them. Shared by the runner's threads, hence a lock.
public final class ChildRegistry: Sendable {
    private let state = Mutex(State())
    private struct State {
        var pids: Set<pid_t> = []
        var stopping = false
    }

    public init() {}

    /// Registers a pid; false when the run is stopping and the child should be killed at once.
    func add(_ pid: pid_t) -> Bool {
        state.withLock { state in
            state.pids.insert(pid)
            return !state.stopping
        }
    }

    func remove(_ pid: pid_t) { state.withLock { _ = $0.pids.remove(pid) } }

    public var isStopping: Bool { state.withLock { $0.stopping } }

    /// Asks every child's supervisor to stop its process group (the builder and whatever it
    /// started), and makes later spawns stop at once. The supervisor, not the group, gets the
    /// signal: it stops the group in the order that lets shells clean up (see `CChildSpawn`).
    public func stopAll() {
        let pids = state.withLock { state -> Set<pid_t> in
            state.stopping = true
            return state.pids
        }
        for pid in pids { kill(pid, SIGTERM) }
    }
}


public enum ChildProcess {
    static let stderrTailLimit = 4096
    /// How long a stopped build may take to exit after SIGTERM before its group gets SIGKILL.
    static let stopGraceSeconds: UInt32 = 10
    /// After a timeout, how long to keep reading while the supervisor stops the group (SIGINT,
    /// SIGTERM, then SIGKILL after its grace); a descendant that left the group may hold the
    /// pipes open forever.
    static let drainAfterTimeoutMilliseconds: Int32 = (5 + Int32(stopGraceSeconds)) * 1000 + 5_000

    /// Runs `argv` with exactly `environment`, in `workingDirectory`, stdin from /dev/null,
    /// streaming stdout into `sink` as it arrives. Blocks the calling thread, which must outlive
    /// the child: the child's parent-death signal follows the thread that forked it.
    ///
    /// The child is a small supervisor (see `CChildSpawn`) leading its own process group: a
    /// terminal's Ctrl-C reaches only us, we stop the whole group, and if this process dies,
    /// even by SIGKILL, the supervisor takes the group down with it. With `timeoutSeconds`, a
    /// child still running after that long has its whole group killed and `timedOut` set.
    public static func run(
        argv: [String], environment: [String: String], workingDirectory: String, registry: ChildRegistry,
        timeoutSeconds: Int? = nil, stdout sink: inout some ByteSink
    ) throws -> ChildOutcome {
        precondition(!argv.isEmpty, "a child needs an executable")
        var outPipe: [Int32] = [-1, -1]
        var errPipe: [Int32] = [-1, -1]
        var reportPipe: [Int32] = [-1, -1]
        guard GNUFunctions.pipe2(&outPipe, O_CLOEXEC) == 0 else { throw ChildProcessError.pipeFailed(errno: errno) }
        guard GNUFunctions.pipe2(&errPipe, O_CLOEXEC) == 0 else {
            let code = errno
            close(outPipe[0]); close(outPipe[1])
            throw ChildProcessError.pipeFailed(errno: code)
        }
        guard GNUFunctions.pipe2(&reportPipe, O_CLOEXEC) == 0 else {
            let code = errno
            for fd in outPipe + errPipe { close(fd) }
            throw ChildProcessError.pipeFailed(errno: code)
        }

        let environmentStrings = environment.sorted { $0.key < $1.key }.map { "\($0.key)=\($0.value)" }
        let started = DispatchTime.now()
        var forkError: Int32 = 0
        let pid = withCStrings(argv) { cArgv in
            withCStrings(environmentStrings) { cEnv in
                repro_check_spawn(
                    argv[0], cArgv, cEnv, workingDirectory, outPipe[1], errPipe[1], reportPipe[1], stopGraceSeconds,
                    &forkError)
            }
        }
        close(outPipe[1])
        close(errPipe[1])
        close(reportPipe[1])
        guard pid > 0 else {
            for fd in [outPipe[0], errPipe[0], reportPipe[0]] { close(fd) }
            throw ChildProcessError.spawnFailed(executable: argv[0], errno: forkError)
        }
        if !registry.add(pid) { kill(pid, SIGTERM) }
        defer { registry.remove(pid) }

        let deadline = timeoutSeconds.map { started.uptimeNanoseconds + UInt64(max($0, 0)) * 1_000_000_000 }
        var timedOut = false
        var drainDeadline: UInt64?
        var tail: [UInt8] = []
        var sinkError: (any Error)?
        var buffer = [UInt8](repeating: 0, count: 1 << 16)
        var fds = [pollfd(fd: outPipe[0], events: Int16(POLLIN), revents: 0), pollfd(fd: errPipe[0], events: Int16(POLLIN), revents: 0)]
        var open = 2
        while open > 0 {
            let now = DispatchTime.now().uptimeNanoseconds
            if let deadline, !timedOut, now >= deadline {
                timedOut = true
                // Through the supervisor, so the build can stop what it started outside its
                // group (fakeroot's daemon) before the supervisor's SIGKILL.
                kill(pid, SIGTERM)
                drainDeadline = now + UInt64(drainAfterTimeoutMilliseconds) * 1_000_000
            }
            if let drainDeadline, now >= drainDeadline {
                kill(-pid, SIGKILL)
                break
            }
            let limit = (drainDeadline ?? (timedOut ? nil : deadline)).map { Int32(clamping: ($0 - min($0, now)) / 1_000_000 + 1) } ?? -1
            let ready = poll(&fds, nfds_t(fds.count), limit)
            if ready < 0 {
                if errno == EINTR { continue }
                break
            }
            for index in fds.indices where fds[index].fd >= 0 && fds[index].revents != 0 {
                let count = buffer.withUnsafeMutableBytes { read(fds[index].fd, $0.baseAddress, $0.count) }
                if count < 0 && errno == EINTR { continue }
                if count <= 0 {
                    close(fds[index].fd)
                    fds[index].fd = -1
                    open -= 1
                    continue
                }
                if index == 0 {
                    // After a sink error keep draining, so the child is not blocked on a full pipe.
                    if sinkError == nil {
                        do {
                            try buffer.withUnsafeBytes { try sink.write(UnsafeRawBufferPointer(rebasing: $0[0..<count])) }
                        } catch {
                            sinkError = error
                        }
                    }
                } else {
                    tail.append(contentsOf: buffer[0..<count])
                    if tail.count > stderrTailLimit * 2 { tail.removeFirst(tail.count - stderrTailLimit) }
                }
            }
        }
        for fd in fds where fd.fd >= 0 { close(fd.fd) }

        var status: Int32 = 0
        var usage = rusage()
        while wait4(pid, &status, 0, &usage) < 0 {
            guard errno == EINTR else {
                close(reportPipe[0])
                throw ChildProcessError.waitFailed(executable: argv[0], errno: errno)
            }
        }
        let elapsed = DispatchTime.now().uptimeNanoseconds - started.uptimeNanoseconds
        let reports = readReports(reportPipe[0])
        close(reportPipe[0])
        if let failed = reports.first(where: { $0.kind == Int32(REPRO_CHECK_REPORT_SPAWN_FAILED.rawValue) }) {
            throw ChildProcessError.spawnFailed(executable: argv[0], errno: failed.error)
        }
        // The supervisor ends by killing what is left of the group, itself included, so the
        // command's status comes from its report; so does its usage, since the supervisor is a
        // fork of this (large) process and its own peak RSS would hide the command's. Without
        // a report (the supervisor was killed first) its own status and usage are all there is.
        if let finished = reports.first(where: { $0.kind == Int32(REPRO_CHECK_REPORT_FINISHED.rawValue) }) {
            usage = finished.usage
            status = finished.status
        }
        if let sinkError { throw sinkError }
        if tail.count > stderrTailLimit { tail.removeFirst(tail.count - stderrTailLimit) }
        // WIFEXITED / WTERMSIG are macros Swift cannot import.
        let signal = status & 0x7F
        let exitStatus = signal == 0 ? (status >> 8) & 0xFF : 128 + signal
        let cpu = milliseconds(usage.ru_utime) + milliseconds(usage.ru_stime)
        return ChildOutcome(
            exitStatus: exitStatus, signal: signal == 0 ? nil : signal, wallMilliseconds: Int(elapsed / 1_000_000),
            cpuMilliseconds: cpu, peakRSSKiB: Int(usage.ru_maxrss), timedOut: timedOut,
            stderrTail: String(decoding: tail, as: UTF8.self))
    }

    /// Every record the supervisor wrote; the write ends are closed once it has exited.
    private static func readReports(_ fd: Int32) -> [repro_check_report] {
        var bytes: [UInt8] = []
        var chunk = [UInt8](repeating: 0, count: 1024)
        while true {
            let count = chunk.withUnsafeMutableBytes { read(fd, $0.baseAddress, $0.count) }
            if count < 0 && errno == EINTR { continue }
            if count <= 0 { break }
            bytes += chunk[0..<count]
        }
        let size = MemoryLayout<repro_check_report>.size
        return stride(from: 0, to: bytes.count - size + 1, by: size).map { offset in
            bytes.withUnsafeBytes { raw in raw.loadUnaligned(fromByteOffset: offset, as: repro_check_report.self) }
        }
    }

    private static func milliseconds(_ time: timeval) -> Int { Int(time.tv_sec) * 1000 + Int(time.tv_usec) / 1000 }

    private static func withCStrings<R>(_ strings: [String], _ body: ([UnsafeMutablePointer<CChar>?]) -> R) -> R {
        var pointers: [UnsafeMutablePointer<CChar>?] = strings.map { strdup($0) }
        pointers.append(nil)
        defer { for pointer in pointers { free(pointer) } }
        return body(pointers)
    }
}
