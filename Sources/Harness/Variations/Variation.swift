/// One way the experiment build's environment differs from the control's, as Debian's
/// reprotest names it. Variations are data: the planner (``BuildEnvironmentPlanner``) turns a
/// set of them into an environment, a wrapper argv and a working folder for one child.
public struct Variation: Sendable, Hashable, Codable {
    public enum Name: String, Sendable, Hashable, Codable, CaseIterable, Comparable {
        case environment
        case buildPath = "build_path"
        case userGroup = "user_group"
        case fileordering
        case home
        case kernel
        case locales
        case execPath = "exec_path"
        case time
        case timezone
        case umask
        case numCPUs = "num_cpus"
        case domainHost = "domain_host"
        case aslr

        public static func < (lhs: Name, rhs: Name) -> Bool { lhs.rawValue < rhs.rawValue }
    }

    public var name: Name
    /// The value the control build (and every build where this variation is off) gets.
    public var control: String
    /// The value the experiment and `bisect-<name>` builds get.
    public var experiment: String
    /// Executables the variation needs on PATH.
    public var requiredTools: [String]
    /// Changing uid, hostname or mount namespace needs root.
    public var needsRoot: Bool
    /// disorderfs needs the FUSE device.
    public var needsFUSE: Bool

    public init(
        name: Name, control: String, experiment: String, requiredTools: [String] = [], needsRoot: Bool = false,
        needsFUSE: Bool = false
    ) {
        self.name = name
        self.control = control
        self.experiment = experiment
        self.requiredTools = requiredTools
        self.needsRoot = needsRoot
        self.needsFUSE = needsFUSE
    }
}

extension Variation {
    /// The uid/gid the `user_group` experiment runs as: `nobody`/`nogroup` on Debian, which
    /// exists everywhere and owns nothing the build could read by accident.
    public static let experimentUID: UInt32 = 65534
    public static let experimentGID: UInt32 = 65534
    /// The NIS domain name `domain_host` sets beside the host name.
    public static let experimentDomainName = "reprotest-capture-domain"

    /// The catalogue, with the values that depend on this host (its uid, CPU count, hostname,
    /// architecture, PATH, time zone data) resolved, so every chosen value can be recorded.
    public static func catalogue(host: HostFacts) -> [Variation] {
        let path = host.path.split(separator: ":", omittingEmptySubsequences: false).map(String.init)
        let allCPUs = host.cpuCount > 1 ? "0-\(host.cpuCount - 1)" : "0"
        return [
            Variation(name: .environment, control: "(baseline)", experiment: "REPRO_CHECK_EXTRA=1, USER=reprotest, LOGNAME=reprotest"),
            Variation(name: .buildPath, control: "(the spec's own folder)", experiment: "(a copy at another absolute path)"),
            Variation(
                name: .userGroup, control: "\(host.uid):\(host.gid)", experiment: "\(experimentUID):\(experimentGID)",
                requiredTools: ["setpriv"], needsRoot: true),
            Variation(
                name: .fileordering, control: "(native order)", experiment: "disorderfs --shuffle-dirents=yes",
                requiredTools: ["disorderfs", "fusermount", "unshare", "mount"], needsRoot: true, needsFUSE: true),
            Variation(name: .home, control: "/nonexistent-first", experiment: "/nonexistent-second"),
            Variation(
                name: .kernel, control: "(host uname)", experiment: "setarch \(host.architecture) --uname-2.6",
                requiredTools: ["setarch"]),
            Variation(name: .locales, control: "C.UTF-8", experiment: "fr_CH.UTF-8"),
            Variation(name: .execPath, control: path.joined(separator: ":"), experiment: path.reversed().joined(separator: ":")),
            Variation(name: .time, control: "(real clock)", experiment: "+10y", requiredTools: ["env"]),
            Variation(
                name: .timezone, control: "UTC",
                experiment: host.hasZoneinfo("Pacific/Kiritimati") ? "Pacific/Kiritimati" : "GMT+12"),
            Variation(name: .umask, control: "0022", experiment: "0002", requiredTools: ["sh"]),
            Variation(name: .numCPUs, control: allCPUs, experiment: "0", requiredTools: ["taskset"]),
            Variation(
                name: .domainHost, control: host.hostname, experiment: "reprotest-capture-host",
                requiredTools: ["unshare", "hostname", "domainname"], needsRoot: true),
            Variation(
                name: .aslr, control: "setarch \(host.architecture) -R (ASLR off)", experiment: "(ASLR on)",
                requiredTools: ["setarch"]),
        ]
    }

    /// Why this variation cannot be applied on this host, or nil when it can.
    public func unavailability(on host: HostFacts) -> String? {
        if needsRoot && host.uid != 0 {
            return "needs root (running as uid \(host.uid))"
        }
        if let missing = requiredTools.first(where: { host.executable($0) == nil }) {
            return "\(missing) is not installed"
        }
        if needsFUSE && !host.hasFUSE {
            return "/dev/fuse is missing"
        }
        switch name {
        case .time where host.libfaketime == nil:
            return "libfaketime.so.1 is not installed"
        case .numCPUs where host.cpuCount < 2:
            return "only one CPU, so one CPU vs all is no variation"
        default:
            return nil
        }
    }
}
