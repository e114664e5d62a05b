import Foundation
#if canImport(Glibc)
import Glibc
#endif

/// The process groups of the spec's commands that are still running, so that an interrupted
/// `build` stops them before it removes the folder they write into. Each command starts as
/// the leader of its own group, which then holds whatever it started (but for fakeroot's
/// `faked`, which fakeroot itself stops).
public final class ProcessGroups: @unchecked Sendable {
    private let lock = NSLock()
    private var groups: Set<pid_t> = []

    public init() {}

    func insert(_ group: pid_t) {
        lock.lock()
        defer { lock.unlock() }
        groups.insert(group)
    }

    func remove(_ group: pid_t) {
        lock.lock()
        defer { lock.unlock() }
        groups.remove(group)
    }

    /// The groups registered now, in a fixed order.
    public var running: [pid_t] {
        lock.lock()
        defer { lock.unlock() }
        return groups.sorted()
    }

    /// SIGINT to every group, then SIGTERM, then SIGKILL to groups still alive after `grace`
    /// seconds each: SIGINT first because fakeroot stops its `faked` (which runs in a session
    /// of its own) only from its INT and EXIT traps, and a shell killed by SIGTERM runs neither.
    /// Safe to call from the interrupt thread while a command is being started: a group
    /// registered later is not waited for.
    public func terminateAll(grace: Double = 1) {
        var alive = running
        for signal in [SIGINT, SIGTERM] where !alive.isEmpty {
            for group in alive { kill(-group, signal) }
            let deadline = Date().addingTimeInterval(grace)
            repeat {
                usleep(20_000)
                alive = alive.filter(Self.hasLiveMember)
            } while !alive.isEmpty && Date() < deadline
        }
        for group in alive { kill(-group, SIGKILL) }
    }

    /// Whether any member of `group` is still running: a member that has exited but was not
    /// reaped yet (a zombie, which signals still reach) does not count.
    static func hasLiveMember(_ group: pid_t) -> Bool {
        guard kill(-group, 0) == 0 else { return false }
        guard let entries = try? FileManager.default.contentsOfDirectory(atPath: "/proc") else { return true }
        for entry in entries {
            guard let pid = pid_t(entry), let stat = try? String(contentsOfFile: "/proc/\(pid)/stat", encoding: .utf8) else { continue }
            // Fields after the command name, which is in parentheses and may hold spaces.
            guard let close = stat.lastIndex(of: ")") else { continue }
            let fields = stat[stat.index(after: close)...].split(separator: " ")
            guard fields.count > 2, let pgrp = pid_t(fields[2]), pgrp == group else { continue }
            if fields[0] != "Z" && fields[0] != "X" { return true }
        }
        return false
    }
}
