import Builder
import Foundation
import Testing
#if canImport(Glibc)
import Glibc
#endif

@testable import Harness

@Suite("Child processes")
struct ChildProcessTests {
    static func run(_ script: String, in directory: String = "/", timeout: Int? = nil) throws -> (ChildOutcome, String) {
        var sink = MemoryCollector()
        let outcome = try ChildProcess.run(
            argv: ["/bin/sh", "-c", script], environment: ["PATH": "/usr/bin:/bin"], workingDirectory: directory,
            registry: ChildRegistry(), timeoutSeconds: timeout, stdout: &sink)
        return (outcome, String(decoding: sink.bytes, as: UTF8.self))
    }

    /// Gone, or a zombie nobody reaped yet: either way it runs no more.
    static func isGone(_ pid: pid_t) -> Bool {
        guard let stat = try? String(contentsOfFile: "/proc/\(pid)/stat", encoding: .utf8) else { return true }
        return stat.split(separator: ")").last?.split(separator: " ").first == "Z"
    }

    @Test("passes stdout, the stderr tail, the exit status and the command's own resource use through")
    func outcome() throws {
        let (outcome, output) = try Self.run("echo out; echo err >&2; exit 3")
        #expect(output == "out\n")
        #expect(outcome.exitStatus == 3 && outcome.signal == nil && !outcome.timedOut)
        #expect(outcome.stderrTail == "err\n")
        // The supervisor is a fork of this process; its size must not show up as the command's.
        var own = rusage()
        getrusage(__rusage_who_t(RUSAGE_SELF.rawValue), &own)
        #expect(outcome.peakRSSKiB > 0 && outcome.peakRSSKiB < own.ru_maxrss)
    }

    @Test("a command killed by a signal is reported with that signal")
    func signalled() throws {
        let (outcome, _) = try Self.run("kill -TERM $$")
        #expect(outcome.signal == SIGTERM && outcome.exitStatus == 128 + SIGTERM)
    }

    @Test("starts in the working directory with exactly the environment given")
    func environmentAndDirectory() throws {
        let (_, output) = try Self.run("pwd; env | sort", in: "/usr")
        #expect(output == "/usr\nPATH=/usr/bin:/bin\nPWD=/usr\nSHLVL=0\n" || output.hasPrefix("/usr\nPATH=/usr/bin:/bin\n"))
    }

    @Test("a missing executable or working directory fails to start, naming the executable")
    func spawnFailures() throws {
        var sink = MemoryCollector()
        #expect(throws: ChildProcessError.spawnFailed(executable: "/nonexistent/tool", errno: ENOENT)) {
            try ChildProcess.run(
                argv: ["/nonexistent/tool"], environment: [:], workingDirectory: "/", registry: ChildRegistry(), stdout: &sink)
        }
        #expect(throws: ChildProcessError.spawnFailed(executable: "/bin/true", errno: ENOENT)) {
            try ChildProcess.run(
                argv: ["/bin/true"], environment: [:], workingDirectory: "/nonexistent-folder", registry: ChildRegistry(),
                stdout: &sink)
        }
    }

    @Test("a command running past its timeout has its whole process group killed")
    func timeoutKillsGroup() throws {
        let directory = try ResultFixtures.temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: directory) }
        let pidFile = directory.appendingPathComponent("pid").path
        let (outcome, _) = try Self.run("sleep 300 & echo $! > '\(pidFile)'; wait", timeout: 1)
        #expect(outcome.timedOut)
        #expect(outcome.signal == SIGINT)
        let background = try #require(pid_t(try String(contentsOfFile: pidFile, encoding: .utf8).trimmingCharacters(in: .whitespacesAndNewlines)))
        #expect(Self.isGone(background))
    }

    @Test("stopping the registry stops the whole group of a running command")
    func stopStopsGroup() throws {
        let registry = ChildRegistry()
        let directory = try ResultFixtures.temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: directory) }
        let pidFile = directory.appendingPathComponent("pid").path
        let stopper = Thread {
            while !FileManager.default.fileExists(atPath: pidFile) { usleep(20_000) }
            registry.stopAll()
        }
        stopper.start()
        var sink = MemoryCollector()
        let outcome = try ChildProcess.run(
            argv: ["/bin/sh", "-c", "sleep 300 & echo $! > '\(pidFile).tmp'; mv '\(pidFile).tmp' '\(pidFile)'; wait"],
            environment: ["PATH": "/usr/bin:/bin"], workingDirectory: "/", registry: registry, stdout: &sink)
        #expect(outcome.signal == SIGINT)
        let background = try #require(pid_t(try String(contentsOfFile: pidFile, encoding: .utf8).trimmingCharacters(in: .whitespacesAndNewlines)))
        #expect(Self.isGone(background))
    }
}
