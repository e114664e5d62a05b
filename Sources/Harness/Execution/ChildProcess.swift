import Builder
import Foundation
import Synchronization
#if canImport(Glibc)
import Glibc
#endif

/// How a child build ended and what it cost, from `wait4`'s rusage (swift-subprocess does
/// not expose rusage, so the child is started with `posix_spawn` directly).
public struct ChildOutcome: Sendable, Equatable {
    /// The exit status, or 128 + the signal number when a signal ended it (as shells report).
    public var exitStatus: Int32
    public var signal: Int32?
    public var wallMilliseconds: Int
    public var cpuMilliseconds: Int
    public var peakRSSKiB: Int
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

    /// Sends SIGTERM to every child's process group (the builder and whatever it started),
    /// and makes later spawns die at once.
    public func stopAll() {
        let pids = state.withLock { state -> Set<pid_t> in
            state.stopping = true
            return state.pids
        }
        for pid in pids { kill(-pid, SIGTERM) }
    }
}


public enum ChildProcess {
    static let stderrTailLimit = 4096

    /// Runs `argv` with exactly `environment`, in `workingDirectory`, stdin from /dev/null,
    /// streaming stdout into `sink` as it arrives. Blocks the calling thread.
    public static func run(
        argv: [String], environment: [String: String], workingDirectory: String, registry: ChildRegistry,
        stdout sink: inout some ByteSink
    ) throws -> ChildOutcome {
        precondition(!argv.isEmpty, "a child needs an executable")
        var outPipe: [Int32] = [-1, -1]
        var errPipe: [Int32] = [-1, -1]
        guard GNUFunctions.pipe2(&outPipe, O_CLOEXEC) == 0 else { throw ChildProcessError.pipeFailed(errno: errno) }
        guard GNUFunctions.pipe2(&errPipe, O_CLOEXEC) == 0 else {
            let code = errno
            close(outPipe[0]); close(outPipe[1])
            throw ChildProcessError.pipeFailed(errno: code)
        }

        var actions = posix_spawn_file_actions_t()
        posix_spawn_file_actions_init(&actions)
        defer { posix_spawn_file_actions_destroy(&actions) }
        posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0)
        posix_spawn_file_actions_adddup2(&actions, outPipe[1], 1)
        posix_spawn_file_actions_adddup2(&actions, errPipe[1], 2)
        guard GNUFunctions.addChdir(&actions, workingDirectory) else {
            for fd in outPipe + errPipe { close(fd) }
            throw ChildProcessError.spawnFailed(executable: argv[0], errno: ENOSYS)
        }

        var attributes = posix_spawnattr_t()
        posix_spawnattr_init(&attributes)
        defer { posix_spawnattr_destroy(&attributes) }
        // Its own process group, so a terminal's Ctrl-C reaches only us and we stop the whole
        // group; default signal dispositions and an empty mask, whatever this process ignores.
        var defaults = sigset_t()
        sigemptyset(&defaults)
        for signal in [SIGINT, SIGTERM, SIGPIPE, SIGHUP, SIGQUIT] { sigaddset(&defaults, signal) }
        var emptyMask = sigset_t()
        sigemptyset(&emptyMask)
        posix_spawnattr_setsigdefault(&attributes, &defaults)
        posix_spawnattr_setsigmask(&attributes, &emptyMask)
        posix_spawnattr_setpgroup(&attributes, 0)
        posix_spawnattr_setflags(
            &attributes, Int16(POSIX_SPAWN_SETPGROUP | POSIX_SPAWN_SETSIGDEF | POSIX_SPAWN_SETSIGMASK))

        let environmentStrings = environment.sorted { $0.key < $1.key }.map { "\($0.key)=\($0.value)" }
        let started = DispatchTime.now()
        var pid: pid_t = 0
        let spawnStatus = withCStrings(argv) { cArgv in
            withCStrings(environmentStrings) { cEnv in
                posix_spawn(&pid, argv[0], &actions, &attributes, cArgv, cEnv)
            }
        }
        close(outPipe[1])
        close(errPipe[1])
        guard spawnStatus == 0 else {
            close(outPipe[0]); close(errPipe[0])
            throw ChildProcessError.spawnFailed(executable: argv[0], errno: spawnStatus)
        }
        if !registry.add(pid) { kill(-pid, SIGTERM) }
        defer { registry.remove(pid) }

        var tail: [UInt8] = []
        var sinkError: (any Error)?
        var buffer = [UInt8](repeating: 0, count: 1 << 16)
        var fds = [pollfd(fd: outPipe[0], events: Int16(POLLIN), revents: 0), pollfd(fd: errPipe[0], events: Int16(POLLIN), revents: 0)]
        var open = 2
        while open > 0 {
            let ready = poll(&fds, nfds_t(fds.count), -1)
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
            guard errno == EINTR else { throw ChildProcessError.waitFailed(executable: argv[0], errno: errno) }
        }
        let elapsed = DispatchTime.now().uptimeNanoseconds - started.uptimeNanoseconds
        if let sinkError { throw sinkError }
        if tail.count > stderrTailLimit { tail.removeFirst(tail.count - stderrTailLimit) }
        // WIFEXITED / WTERMSIG are macros Swift cannot import.
        let signal = status & 0x7F
        let exitStatus = signal == 0 ? (status >> 8) & 0xFF : 128 + signal
        let cpu = milliseconds(usage.ru_utime) + milliseconds(usage.ru_stime)
        return ChildOutcome(
            exitStatus: exitStatus, signal: signal == 0 ? nil : signal, wallMilliseconds: Int(elapsed / 1_000_000),
            cpuMilliseconds: cpu, peakRSSKiB: Int(usage.ru_maxrss),
            stderrTail: String(decoding: tail, as: UTF8.self))
    }

    private static func milliseconds(_ time: timeval) -> Int { Int(time.tv_sec) * 1000 + Int(time.tv_usec) / 1000 }

    private static func withCStrings<R>(_ strings: [String], _ body: ([UnsafeMutablePointer<CChar>?]) -> R) -> R {
        var pointers: [UnsafeMutablePointer<CChar>?] = strings.map { strdup($0) }
        pointers.append(nil)
        defer { for pointer in pointers { free(pointer) } }
        return body(pointers)
    }
}
