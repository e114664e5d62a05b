import Builder
import Foundation
#if canImport(Glibc)
import Glibc
#endif

/// Everything about a tree we only read that must not change: each entry as `lstat` sees it
/// (never following a link), with each regular file's bytes and each symlink's target.
struct StoreSnapshot: Equatable {
    struct Entry: Equatable {
        var type: UInt32
        var mode: UInt32
        var uid: UInt32
        var gid: UInt32
        var links: UInt64
        var size: Int64
        var mtime: Int
        /// Changes with any chmod, chown or link-count change, even one that is undone.
        var ctime: [Int]
        var content: Data
    }

    var entries: [String: Entry] = [:]

    /// Snapshots each root and everything under it.
    init(_ roots: [String]) throws {
        var pending = roots
        while let path = pending.popLast() {
            var info = stat()
            guard lstat(path, &info) == 0 else { throw CLI.Failure(description: "cannot lstat \(path): errno \(errno)") }
            let type = info.st_mode & S_IFMT
            var content = Data()
            if type == S_IFREG {
                content = try Data(contentsOf: URL(fileURLWithPath: path))
            } else if type == S_IFLNK {
                content = Data(try FileManager.default.destinationOfSymbolicLink(atPath: path).utf8)
            } else if type == S_IFDIR {
                pending += try FileManager.default.contentsOfDirectory(atPath: path).map { path + "/" + $0 }
            }
            entries[path] = Entry(
                type: type, mode: info.st_mode & 0o7777, uid: info.st_uid, gid: info.st_gid, links: UInt64(info.st_nlink),
                size: Int64(info.st_size), mtime: Int(info.st_mtim.tv_sec),
                ctime: [Int(info.st_ctim.tv_sec), Int(info.st_ctim.tv_nsec)], content: content
            )
        }
    }

    /// One line per entry that differs, for a test's message.
    func differences(from later: StoreSnapshot) -> [String] {
        Set(entries.keys).union(later.entries.keys).sorted().compactMap { path in
            switch (entries[path], later.entries[path]) {
            case let (before?, after?) where before != after:
                return "\(path): mode \(String(before.mode, radix: 8)) → \(String(after.mode, radix: 8)), links \(before.links) → \(after.links), "
                    + "uid \(before.uid) → \(after.uid), bytes \(before.content == after.content ? "same" : "changed"), ctime \(before.ctime) → \(after.ctime)"
            case (nil, _?): return "\(path) appeared"
            case (_?, nil): return "\(path) vanished"
            default: return nil
            }
        }
    }
}

extension CLI {
    /// Builds `spec` twice, to `a.tar` and `b.tar` in `folder`, and returns both archives.
    static func buildTwice(_ spec: String, into folder: String, environment: [String: String]) throws -> [Data] {
        try ["a.tar", "b.tar"].map { name in
            let build = try run(["build", spec, "-o", folder + "/" + name], environment: environment)
            guard build.status == 0 else { throw Failure(description: "build \(spec) exited \(build.status): \(build.stderr)") }
            return try Data(contentsOf: URL(fileURLWithPath: folder + "/" + name))
        }
    }
}

enum TestFolder {
    /// Unmounts whatever an interrupted check left mounted under `root` (its disorderfs), since
    /// removal never enters a mount point, then removes `root`.
    static func remove(_ root: String) {
        let table = (try? String(contentsOfFile: "/proc/self/mountinfo", encoding: .utf8)) ?? ""
        let points = table.split(separator: "\n").compactMap { line -> String? in
            let fields = line.split(separator: " ")
            return fields.count > 4 && fields[4].hasPrefix(root + "/") ? String(fields[4]) : nil
        }
        for point in points.sorted().reversed() { _ = try? Tool.run("/bin/fusermount", ["-u", "-z", point]) }
        SpecResolver.removeWorkDirectory(root)
    }
}

/// Runs a tool other than our binary (nix, skopeo, umoci).
enum Tool {
    @discardableResult
    static func run(_ executable: String, _ arguments: [String], environment: [String: String]? = nil) throws -> CLI.Output {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: executable)
        process.arguments = arguments
        if let environment { process.environment = environment }
        let out = Pipe(), err = Pipe()
        process.standardOutput = out
        process.standardError = err
        process.standardInput = FileHandle.nullDevice
        try process.run()
        // Both pipes drain at once, or a chatty tool blocks on a full one.
        final class Box: @unchecked Sendable { var data = Data() }
        let stderrBox = Box()
        let errors = DispatchQueue(label: "tool-stderr")
        errors.async { stderrBox.data = err.fileHandleForReading.readDataToEndOfFile() }
        let data = out.fileHandleForReading.readDataToEndOfFile()
        errors.sync {}
        process.waitUntilExit()
        return CLI.Output(status: process.terminationStatus, stdout: data, stderr: String(decoding: stderrBox.data, as: UTF8.self))
    }

    /// Like `run`, but a non-zero exit is a failure carrying the tool's stderr.
    @discardableResult
    static func check(_ executable: String, _ arguments: [String], environment: [String: String]? = nil) throws -> CLI.Output {
        let output = try run(executable, arguments, environment: environment)
        guard output.status == 0 else {
            throw CLI.Failure(description: "\(executable) \(arguments.joined(separator: " ")) exited \(output.status): \(output.stderr)")
        }
        return output
    }
}

/// A child `repro-check` the test stops with a signal once it reaches a point it announces.
/// Spawned and reaped directly (posix_spawn, waitpid): Foundation's `Process` learns of a
/// child's exit through a dispatch signal source, which can miss the SIGCHLD and wait for ever.
struct InterruptedRun {
    /// Starts `repro-check arguments`, waits until `marker` exists (the spec's commands create
    /// it), sends `signal`, and returns the exit status (128 + n when killed by signal n).
    static func run(_ arguments: [String], environment: [String: String], marker: String, signal: Int32) throws -> Int32 {
        var actions = posix_spawn_file_actions_t()
        posix_spawn_file_actions_init(&actions)
        defer { posix_spawn_file_actions_destroy(&actions) }
        for fd in [Int32(0), 1, 2] { posix_spawn_file_actions_addopen(&actions, fd, "/dev/null", fd == 0 ? O_RDONLY : O_WRONLY, 0) }
        let argv = ([CLI.binary] + arguments).map { strdup($0) } + [nil]
        let envp = environment.map { strdup("\($0.key)=\($0.value)") } + [nil]
        defer { for pointer in argv + envp { free(pointer) } }
        var pid = pid_t()
        let rc = posix_spawn(&pid, CLI.binary, &actions, nil, argv, envp)
        guard rc == 0 else { throw CLI.Failure(description: "cannot start \(CLI.binary): errno \(rc)") }
        var status: Int32 = 0
        var exited = false
        // Bounded, so a run that never gets there fails the test instead of hanging it.
        for _ in 0..<600 where !FileManager.default.fileExists(atPath: marker) {
            if waitpid(pid, &status, WNOHANG) == pid {
                exited = true
                break
            }
            usleep(50_000)
        }
        let reached = FileManager.default.fileExists(atPath: marker)
        if !exited {
            kill(pid, reached ? signal : SIGKILL)
            while waitpid(pid, &status, 0) < 0 && errno == EINTR {}
        }
        guard reached else { throw CLI.Failure(description: "repro-check \(arguments.joined(separator: " ")) never reached \(marker)") }
        let signalled = status & 0x7f
        return signalled == 0 ? (status >> 8) & 0xff : 128 + signalled
    }
}
