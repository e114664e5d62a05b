import Subprocess
#if canImport(System)
import System
#else
import SystemPackage
#endif
#if canImport(Glibc)
import Glibc
#endif

/// The user's shell snippets for the customisation layer, as nixpkgs' streamLayeredImage
/// takes them.
public struct CustomisationCommands: Sendable, Hashable, Codable {
    public var extraCommands: String
    public var fakeRootCommands: String
    public var enableFakechroot: Bool

    public init(extraCommands: String = "", fakeRootCommands: String = "", enableFakechroot: Bool = false) {
        self.extraCommands = extraCommands
        self.fakeRootCommands = fakeRootCommands
        self.enableFakechroot = enableFakechroot
    }
}

/// Runs `extraCommands` and `fakeRootCommands` in the staged root with a fixed, clean
/// environment, as a Nix build would: nothing of the caller's environment, umask or stdin
/// reaches the commands except the explicit `passThrough` variables.
public struct CommandRunner: Sendable {
    public enum Script: String, Sendable, Equatable {
        case extraCommands
        case fakeRootCommands
    }

    public enum ExitStatus: Sendable, Equatable, CustomStringConvertible {
        case exited(Int32)
        case signaled(Int32)

        public var description: String {
            switch self {
            case let .exited(code): "exit status \(code)"
            case let .signaled(signal): "signal \(signal)"
            }
        }
    }

    /// The fixed search path of the commands, and where fakeroot and proot are looked up: the
    /// caller's PATH would make the tools an ambient input.
    public static let fixedPath = "/usr/local/bin:/usr/bin:/bin"
    /// Keep only the end of stderr: enough to explain a failure, bounded however chatty.
    public static let stderrTailLimit = 2048

    public var root: String
    public var workDirectory: String
    public var mtime: Int
    public var store: StoreBinding
    public var passThrough: [String: String]
    /// Where fakeroot and proot are looked for; tests point it elsewhere.
    public var toolSearchPath: String
    public var shell: String
    /// Where each running command's process group is registered, so an interrupted caller
    /// can stop the commands before removing their folder.
    public var processGroups: ProcessGroups?

    public init(
        root: String, workDirectory: String, mtime: Int, store: StoreBinding,
        passThrough: [String: String] = [:], toolSearchPath: String = CommandRunner.fixedPath, shell: String = "/bin/sh",
        processGroups: ProcessGroups? = nil
    ) {
        self.root = root
        self.workDirectory = workDirectory
        self.mtime = mtime
        self.store = store
        self.passThrough = passThrough
        self.toolSearchPath = toolSearchPath
        self.shell = shell
        self.processGroups = processGroups
    }

    public var temporaryDirectory: String { workDirectory + "/tmp" }
    public var fakerootStatePath: String { workDirectory + "/fakeroot.state" }

    /// The host directories a fakechroot run sees at the same place, when they exist.
    public static let chrootHostDirectories = ["/bin", "/usr", "/lib", "/lib64", "/dev", "/proc", "/sys"]

    /// Runs both scripts (empty ones are skipped) and returns what fakeroot recorded.
    public func run(_ commands: CustomisationCommands) async throws -> FakerootState {
        try HostFiles.makeDirectory(Array(temporaryDirectory.utf8), mode: 0o700, allowExisting: true)
        if !commands.extraCommands.isEmpty {
            try await launch(.extraCommands, arguments: [shell, "-e", "-c", commands.extraCommands], chrooted: false)
        }
        // With nothing to run under fakeroot every owner stays 0:0, which is also what the
        // layer writer assumes without a state.
        guard !commands.fakeRootCommands.isEmpty else { return .empty }
        let fakeroot = try locate("fakeroot", aptPackage: "fakeroot")
        unlink(fakerootStatePath)
        var arguments = [fakeroot, "-s", fakerootStatePath, "--"]
        if commands.enableFakechroot {
            arguments += try prootArguments()
        }
        arguments += [shell, "-e", "-c", commands.fakeRootCommands]
        try await launch(.fakeRootCommands, arguments: arguments, chrooted: commands.enableFakechroot)
        return try FakerootState.load(path: fakerootStatePath)
    }

    /// The variables the commands see, exactly: Nix's builder defaults plus `passThrough`.
    public func environment(chrooted: Bool) -> [String: String] {
        var environment = passThrough
        let fixed: [String: String] = [
            "PATH": Self.fixedPath,
            "HOME": "/homeless-shelter",
            "TZ": "UTC",
            "LC_ALL": "C",
            "SOURCE_DATE_EPOCH": String(mtime),
            "TMPDIR": temporaryDirectory,
            "NIX_BUILD_TOP": workDirectory,
            // Inside the chroot the root's host path means nothing; `/` is the root there.
            "out": chrooted ? "/" : root,
        ]
        environment.merge(fixed) { _, fixedValue in fixedValue }
        return environment
    }

    func prootArguments() throws -> [String] {
        let proot = try locate("proot", aptPackage: "proot")
        var arguments = [proot, "-r", root]
        for directory in Self.chrootHostDirectories where FileSystem.exists(Array(directory.utf8)) {
            arguments += ["-b", directory]
        }
        // The store at its image path, so symlinks into the store resolve; TMPDIR at its own.
        arguments += ["-b", "\(store.hostDirectory):\(store.imageDirectory)", "-b", temporaryDirectory, "-w", "/"]
        return arguments
    }

    func locate(_ tool: String, aptPackage: String) throws -> String {
        for directory in toolSearchPath.split(separator: ":") {
            let candidate = "\(directory)/\(tool)"
            if access(candidate, X_OK) == 0 { return candidate }
        }
        throw CustomisationError.toolMissing(tool: tool, aptPackage: aptPackage, searched: toolSearchPath)
    }

    private func launch(_ script: Script, arguments: [String], chrooted: Bool) async throws {
        let stdoutPath = "\(workDirectory)/\(script.rawValue).stdout"
        let stderrPath = "\(workDirectory)/\(script.rawValue).stderr"
        let stdoutFD = try HostFiles.createFile(stdoutPath)
        let stderrFD: Int32
        do { stderrFD = try HostFiles.createFile(stderrPath) } catch {
            close(stdoutFD)
            throw error
        }
        var environment: [Environment.Key: String] = [:]
        for (key, value) in self.environment(chrooted: chrooted) {
            environment[Environment.Key(stringLiteral: key)] = value
        }
        let status: TerminationStatus
        do {
            // umask is set in the child, not here: ours is process-wide and shared with threads.
            var options = PlatformOptions()
            // Its own process group: everything the command starts can be stopped as one.
            options.processGroupID = 0
            let configuration = Configuration(
                executable: .path(FilePath(shell)),
                arguments: Arguments(["-c", "umask 022 && exec \"$@\"", "repro-check-\(script.rawValue)"] + arguments),
                environment: .custom(environment),
                workingDirectory: FilePath(root),
                platformOptions: options
            )
            let groups = processGroups
            let result = try await Subprocess.run(
                configuration,
                input: .none,
                output: .fileDescriptor(FileDescriptor(rawValue: stdoutFD), closeAfterSpawningProcess: true),
                error: .fileDescriptor(FileDescriptor(rawValue: stderrFD), closeAfterSpawningProcess: true)
            ) { execution in
                groups?.insert(execution.processIdentifier.value)
            }
            groups?.remove(result.processIdentifier.value)
            status = result.terminationStatus
        } catch {
            throw CustomisationError.launchFailed(script: script, reason: "\(error)")
        }
        switch status {
        case .exited(0):
            return
        case let .exited(code):
            throw CustomisationError.commandFailed(script: script, status: .exited(code), stderrTail: HostFiles.tail(of: stderrPath, limit: Self.stderrTailLimit))
        case let .signaled(signal):
            throw CustomisationError.commandFailed(script: script, status: .signaled(signal), stderrTail: HostFiles.tail(of: stderrPath, limit: Self.stderrTailLimit))
        }
    }
}
