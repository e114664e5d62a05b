import Builder

/// Everything needed to start one child build, decided before anything runs: the argv
/// (wrappers, then `<builder> build SPEC`), the whole environment, the folder it starts in,
/// and the file-system preparation it needs. Printable, so a failure can be replayed by hand.
public struct BuildPlan: Sendable, Equatable {
    public enum Step: Sendable, Equatable {
        /// Copy the spec's folder (spec and store) to `to`, owned by `owner` when given.
        case copy(from: String, to: String, owner: (uid: UInt32, gid: UInt32)?)
        /// Mount disorderfs over `source` at `mountpoint` (unmounted with `fusermount -u`).
        case disorderfs(source: String, mountpoint: String)

        public static func == (lhs: Step, rhs: Step) -> Bool {
            switch (lhs, rhs) {
            case let (.copy(a, b, c), .copy(d, e, f)):
                a == d && b == e && c?.uid == f?.uid && c?.gid == f?.gid
            case let (.disorderfs(a, b), .disorderfs(c, d)):
                a == c && b == d
            default: false
            }
        }
    }

    public var role: BuildRole
    public var argv: [String]
    public var environment: [String: String]
    public var workingDirectory: String
    public var steps: [Step]
    public var applied: [String]
    public var skipped: [String: String]
    public var values: [String: String]

    /// The command line as a person would type it, for error messages and replay notes.
    public var commandLine: String {
        let env = environment.sorted { $0.key < $1.key }.map { "\($0.key)=\(ShellQuote.quote($0.value))" }
        return (["env", "-i"] + env + argv.map(ShellQuote.quote)).joined(separator: " ")
    }
}

enum ShellQuote {
    static func quote(_ text: String) -> String {
        let safe = text.unicodeScalars.allSatisfy { scalar in
            scalar.isASCII && (scalar.properties.isAlphabetic || "0123456789-_./:=+@%,".unicodeScalars.contains(scalar))
        }
        if safe && !text.isEmpty { return text }
        return "'" + text.replacingOccurrences(of: "'", with: "'\\''") + "'"
    }
}

extension String {
    fileprivate func replacingOccurrences(of target: String, with replacement: String) -> String {
        split(separator: Character(target), omittingEmptySubsequences: false).joined(separator: replacement)
    }
}

/// Turns the chosen variations into a ``BuildPlan`` for one role. Pure: the same inputs give
/// the same plan, which is what lets the culprit search vary exactly one thing at a time.
public struct BuildEnvironmentPlanner: Sendable {
    public var host: HostFacts
    /// Enabled by `--vary` and applicable here.
    public var active: [Variation]
    /// Enabled by `--vary` but not applicable here, with the reason.
    public var skipped: [String: String]
    /// `<builder> build`: the running executable unless a test substitutes a script.
    public var builder: String
    /// A private folder for this run's copies and mount points.
    public var workRoot: String
    /// Options every child `build` gets after its spec (`check --format/--compression`).
    public var buildArguments: [String] = []

    public init(host: HostFacts, selection: VariationSelection, builder: String, workRoot: String) {
        self.host = host
        self.builder = builder
        self.workRoot = workRoot
        var active: [Variation] = []
        var skipped: [String: String] = [:]
        for variation in Variation.catalogue(host: host) where selection.enabled.contains(variation.name) {
            if let reason = variation.unavailability(on: host) {
                skipped[variation.name.rawValue] = reason
            } else {
                active.append(variation)
            }
        }
        self.active = active
        self.skipped = skipped
    }

    public var activeNames: [Variation.Name] { active.map(\.name) }

    /// `varied`: the variations that take their experiment value in this build (none for a
    /// control, all active ones for the experiment, one for `bisect-<name>`). Every other
    /// active variation takes its control value, so builds differ only in what is varied.
    ///
    /// `inputs`: what the spec names by a relative path (``SpecInputs``); under `build_path`
    /// those outside the spec's folder are copied too, at the same relative place, so a
    /// `"graph": "../elsewhere/graph.json"` still resolves in the copy.
    public func plan(
        role: BuildRole, varied: Set<Variation.Name>, specPath: String, slot: String, inputs: [String] = []
    ) -> BuildPlan {
        func isVaried(_ name: Variation.Name) -> Bool { varied.contains(name) && activeNames.contains(name) }
        func value(_ name: Variation.Name) -> String? {
            active.first { $0.name == name }.map { isVaried(name) ? $0.experiment : $0.control }
        }
        // A corpus spec (`<corpus>/<name>/spec.json`) may share inputs with its siblings (a
        // common store, a base image), so the whole corpus moves with it; a loose `*.json` spec
        // moves with its own folder.
        var specDirectory = Self.directory(of: specPath)
        if Self.lastComponent(specPath) == "spec.json" { specDirectory = Self.directory(of: specDirectory) }
        var specFile = String(specPath.dropFirst(specDirectory.count).drop { $0 == "/" })
        var values: [String: String] = [:]
        for variation in active { values[variation.name.rawValue] = value(variation.name) }

        // Environment: a fixed baseline, so nothing of the caller's shell reaches the build.
        var environment: [String: String] = [
            "PATH": host.path, "HOME": "/nonexistent-first", "LANG": "C.UTF-8", "LC_ALL": "C.UTF-8", "TZ": "UTC",
            "REPRO_CHECK_ROLE": "control",
        ]
        if isVaried(.environment) {
            environment["REPRO_CHECK_ROLE"] = "experiment"
            environment["REPRO_CHECK_EXTRA"] = "1"
            environment["USER"] = "reprotest"
            environment["LOGNAME"] = "reprotest"
        }
        if isVaried(.home) { environment["HOME"] = "/nonexistent-second" }
        if isVaried(.locales) {
            environment["LANG"] = "fr_CH.UTF-8"
            environment["LC_ALL"] = "fr_CH.UTF-8"
            environment["LANGUAGE"] = "fr_CH:fr"
        }
        if isVaried(.timezone), let zone = value(.timezone) { environment["TZ"] = zone }
        if isVaried(.execPath), let path = value(.execPath) { environment["PATH"] = path }
        // libfaketime goes on the innermost command only: loaded into a root wrapper it creates a
        // shared semaphore that a build running under `user_group`'s uid may not open.
        var clock: [String] = []
        if isVaried(.time), let library = host.libfaketime, let env = host.executable("env") {
            clock = [
                env, "LD_PRELOAD=\(library)", "FAKETIME=+10y",
                // Timers and sleeps keep working; only what a build could embed (the wall clock) moves.
                "FAKETIME_DONT_FAKE_MONOTONIC=1",
            ]
            values["time"] = "FAKETIME=+10y LD_PRELOAD=\(library)"
        }

        // Where the files are, and the path the build sees them at.
        var steps: [BuildPlan.Step] = []
        let slotRoot = "\(workRoot)/\(slot)"
        var visible = specDirectory
        var files = specDirectory
        let changesUser = isVaried(.userGroup)
        let owner: (uid: UInt32, gid: UInt32)? = changesUser ? (Variation.experimentUID, Variation.experimentGID) : nil
        if isVaried(.buildPath) {
            let trees = Self.outermost([specDirectory] + inputs.filter { !Self.isInside($0, specDirectory) })
            let root = Self.commonAncestor(trees)
            visible = "\(slotRoot)/build-path/\(root == "/" ? "root" : Self.lastComponent(root))"
            files = visible
            for tree in trees {
                let relative = Self.relative(tree, to: root)
                steps.append(.copy(from: tree, to: relative.isEmpty ? visible : "\(visible)/\(relative)", owner: owner))
            }
            specFile = Self.relative(specPath, to: root)
            values["build_path"] = visible
        } else if changesUser {
            // The other uid must be able to read the spec and its store; a private copy owned
            // by it is mounted over the original path so the path itself does not change.
            files = "\(slotRoot)/owned/\(Self.lastComponent(specDirectory))"
            steps.append(.copy(from: specDirectory, to: files, owner: owner))
        }
        if isVaried(.fileordering) {
            let mountpoint = "\(slotRoot)/disorderfs"
            steps.append(.disorderfs(source: files, mountpoint: mountpoint))
            files = mountpoint
        }

        // Wrappers, outermost first: namespace set-up needs root, so it precedes setpriv.
        var argv: [String] = []
        var script: [String] = []
        var scriptArguments: [String] = []
        var unshareFlags: [String] = []
        if isVaried(.domainHost), let name = value(.domainHost), let hostname = host.executable("hostname"),
            let domainname = host.executable("domainname")
        {
            // Both names of the new UTS namespace, as reprotest sets them: the host name and
            // the NIS domain name (setdomainname).
            unshareFlags.append("--uts")
            script.append("\"$1\" \"$2\"; \"$3\" \"$4\"; shift 4")
            scriptArguments += [hostname, name, domainname, Variation.experimentDomainName]
            values["domain_host"] = "\(name), domain \(Variation.experimentDomainName)"
        }
        if files != visible, let mount = host.executable("mount") {
            unshareFlags.append("--mount")
            script.append("\"$1\" --bind \"$2\" \"$3\"; cd \"$3\"; shift 3")
            scriptArguments += [mount, files, visible]
        }
        if !unshareFlags.isEmpty, let unshare = host.executable("unshare"), let sh = host.executable("sh") {
            argv += [unshare] + unshareFlags + ["--", sh, "-e", "-c", (script + ["exec \"$@\""]).joined(separator: "; "), "sh"]
            argv += scriptArguments
        }
        if changesUser, let setpriv = host.executable("setpriv") {
            argv += [
                setpriv, "--reuid=\(Variation.experimentUID)", "--regid=\(Variation.experimentGID)", "--clear-groups", "--",
            ]
        }
        if activeNames.contains(.numCPUs), let taskset = host.executable("taskset"), let cpus = value(.numCPUs) {
            argv += [taskset, "-c", cpus]
        }
        var setarchFlags: [String] = []
        if isVaried(.kernel) { setarchFlags.append("--uname-2.6") }
        if activeNames.contains(.aslr) && !isVaried(.aslr) { setarchFlags.append("-R") }
        if !setarchFlags.isEmpty, let setarch = host.executable("setarch") {
            argv += [setarch, host.architecture] + setarchFlags
        }
        if activeNames.contains(.umask), let sh = host.executable("sh"), let mask = value(.umask) {
            argv += [sh, "-c", "umask \(mask); exec \"$@\"", "sh"]
        }
        argv += clock + [builder, "build", "\(visible)/\(specFile)"] + buildArguments

        var planSkipped = skipped
        if files != visible && host.executable("mount") == nil {
            planSkipped["(mount)"] = "mount is not installed, so the build sees its files at another path"
        }
        return BuildPlan(
            role: role, argv: argv, environment: environment, workingDirectory: visible, steps: steps,
            applied: active.map(\.name).filter(isVaried).map(\.rawValue), skipped: planSkipped, values: values)
    }

    static func directory(of path: String) -> String {
        guard let slash = path.lastIndex(of: "/") else { return "." }
        let directory = String(path[..<slash])
        return directory.isEmpty ? "/" : directory
    }

    static func isInside(_ path: String, _ directory: String) -> Bool {
        path == directory || directory == "/" || path.hasPrefix(directory + "/")
    }

    /// `path` below `root` (which holds it), without a leading slash; empty for `root` itself.
    static func relative(_ path: String, to root: String) -> String {
        guard path != root else { return "" }
        return String(path.dropFirst(root == "/" ? 1 : root.count + 1))
    }

    /// The paths not inside another of them, in their given order.
    static func outermost(_ paths: [String]) -> [String] {
        var kept: [String] = []
        for (index, path) in paths.enumerated() {
            let coveredByOther = paths.enumerated().contains { other in
                other.offset != index && isInside(path, other.element) && (path != other.element || other.offset < index)
            }
            if !coveredByOther { kept.append(path) }
        }
        return kept
    }

    /// The deepest folder holding every path (for one folder, itself).
    static func commonAncestor(_ paths: [String]) -> String {
        guard let first = paths.first else { return "/" }
        if paths.count == 1 { return first }
        var common = first.split(separator: "/", omittingEmptySubsequences: true)
        for path in paths.dropFirst() {
            let components = path.split(separator: "/", omittingEmptySubsequences: true)
            common = Array(zip(common, components).prefix { $0 == $1 }.map(\.0))
        }
        return "/" + common.joined(separator: "/")
    }

    static func lastComponent(_ path: String) -> String {
        path.split(separator: "/").last.map(String.init) ?? "spec"
    }
}
