import ArgumentParser
import Builder
#if canImport(Glibc)
import Glibc
#endif

struct ReproCheck: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "repro-check",
        abstract: "Build container images the way nixpkgs' streamLayeredImage does, and prove they are reproducible.",
        version: ToolVersion.string,
        subcommands: [BuildCommand.self, PlanCommand.self, CheckCommand.self, DiffCommand.self, ReportCommand.self, MergeCommand.self, ReplayCommand.self]
    )
}

enum ToolVersion {
    static let string = "0.1.0"
}

/// Exit statuses: 0 success, 1 a failed build or check, 2 a usage or spec error.
@main
enum Main {
    static func main() async {
        // A closed stdout surfaces as EPIPE, so work directories and temporary outputs are
        // cleaned up on the way out; then the exit is as quiet as `cat`'s (see closedStdout).
        signal(SIGPIPE, SIG_IGN)
        let known = ReproCheck.configuration.subcommands.map { $0._commandName }
        if let typo = SubcommandSuggestion.error(for: Array(Self.arguments().dropFirst()), known: known) { fail(typo, code: 2) }
        do {
            var command = try ReproCheck.parseAsRoot(Array(Self.arguments().dropFirst()))
            if var asynchronous = command as? AsyncParsableCommand {
                try await asynchronous.run()
            } else {
                try command.run()
            }
        } catch where StandardOutput.isClosed(error) {
            // `repro-check … | head`: the reader has what it wanted. Say nothing and exit as a
            // shell reports a process killed by SIGPIPE (128 + 13), as `cat` would.
            exit(141)
        } catch where isInputError(error) {
            fail("\(error)", code: 2)
        } catch where isDomainError(error) {
            fail(SystemErrorText.message(error), code: 1)
        } catch {
            let code = ReproCheck.exitCode(for: error)
            if code == .success {
                ReproCheck.exit(withError: error)
            }
            if code == .validationFailure {
                FileHandleStderr.write(ReproCheck.fullMessage(for: error) + "\n")
                exit(2)
            }
            ReproCheck.exit(withError: error)
        }
    }

    /// The process's arguments. Under libfaketime (the harness's `time` variation) Swift's
    /// runtime sees an empty `CommandLine.arguments`, so read them back from the kernel.
    static func arguments() -> [String] {
        guard CommandLine.arguments.isEmpty else { return CommandLine.arguments }
        let fd = open("/proc/self/cmdline", O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else { return [] }
        defer { close(fd) }
        var bytes: [UInt8] = []
        var chunk = [UInt8](repeating: 0, count: 4096)
        while true {
            let count = read(fd, &chunk, chunk.count)
            if count <= 0 { break }
            bytes += chunk[0..<count]
        }
        return bytes.split(separator: 0, omittingEmptySubsequences: false).dropLast().map { String(decoding: $0, as: UTF8.self) }
    }

    /// A spec, conf, graph or archive that cannot describe an image: the caller must change the
    /// input.
    static func isInputError(_ error: any Error) -> Bool {
        if case ImageBuildError.baseLayerMismatch = error { return true }  // a corrupt base image is input too
        return error is SpecError || error is UsageError || error is StoreError || error is LayeringError
            || error is ArchiveError || error is InputError
    }

    /// Errors of our own modules carry a one-sentence description; ArgumentParser's own
    /// (help, version, validation) are rendered by ArgumentParser.
    static func isDomainError(_ error: any Error) -> Bool {
        !String(reflecting: type(of: error)).hasPrefix("ArgumentParser.")
    }

    static func fail(_ message: String, code: Int32) -> Never {
        FileHandleStderr.write("repro-check: \(message)\n")
        exit(code)
    }
}

/// A mistake in how the command was called, with how to fix it.
struct UsageError: Error, CustomStringConvertible {
    var description: String
    init(_ description: String) { self.description = description }
}

/// The one writer of stdout, used by every command (the archive goes through a
/// `FileDescriptorSink` labelled `stdout`, which fails the same way).
enum StandardOutput {
    /// Thrown when the reader of stdout has gone away (EPIPE).
    struct Closed: Error {}

    static func write(_ bytes: [UInt8]) throws {
        var offset = 0
        while offset < bytes.count {
            let count = bytes.withUnsafeBytes { raw in
                raw.baseAddress.map { Glibc.write(1, $0 + offset, raw.count - offset) } ?? 0
            }
            if count < 0 {
                if errno == EINTR { continue }
                if errno == EPIPE { throw Closed() }
                throw IOError.write("stdout", errno: errno)
            }
            offset += count
        }
    }

    static func print(_ line: String) throws {
        try write(Array((line + "\n").utf8))
    }

    static func isClosed(_ error: any Error) -> Bool {
        if error is Closed { return true }
        if let error = error as? IOError, case .write("stdout", EPIPE) = error { return true }
        return false
    }
}

enum FileHandleStderr {
    static func write(_ text: String) {
        var bytes = Array(text.utf8)
        _ = bytes.withUnsafeMutableBytes { Glibc.write(2, $0.baseAddress, $0.count) }
    }
}
