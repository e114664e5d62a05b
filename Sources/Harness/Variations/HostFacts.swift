import Foundation
#if canImport(Glibc)
import Glibc
#endif

/// What this machine offers the variations, read once per run so that every build of the run
/// sees the same values and tests can describe another machine.
public struct HostFacts: Sendable, Equatable {
    public var uid: UInt32
    public var gid: UInt32
    public var cpuCount: Int
    public var hostname: String
    /// `uname -m`, which `setarch` wants as its first argument.
    public var architecture: String
    /// The PATH every build gets (reversed under `exec_path`).
    public var path: String
    public var hasFUSE: Bool
    /// The preload library that moves the clock, when installed.
    public var libfaketime: String?
    /// Executable name → absolute path, for the tools the variations need.
    public var tools: [String: String]
    public var zoneinfo: Set<String>

    public init(
        uid: UInt32, gid: UInt32, cpuCount: Int, hostname: String, architecture: String, path: String, hasFUSE: Bool,
        libfaketime: String?, tools: [String: String], zoneinfo: Set<String> = []
    ) {
        self.uid = uid
        self.gid = gid
        self.cpuCount = cpuCount
        self.hostname = hostname
        self.architecture = architecture
        self.path = path
        self.hasFUSE = hasFUSE
        self.libfaketime = libfaketime
        self.tools = tools
        self.zoneinfo = zoneinfo
    }

    public func executable(_ name: String) -> String? { tools[name] }
    public func hasZoneinfo(_ zone: String) -> Bool { zoneinfo.contains(zone) }

    static let toolNames = [
        "setpriv", "disorderfs", "fusermount", "unshare", "mount", "umount", "setarch", "taskset", "hostname", "domainname", "sh",
        "env",
    ]

    /// Reads the live machine. PATH falls back to Debian's default when unset.
    public static func probe(environment: [String: String] = ProcessInfo.processInfo.environment) -> HostFacts {
        let path = environment["PATH"].flatMap { $0.isEmpty ? nil : $0 }
            ?? "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"
        var tools: [String: String] = [:]
        for name in toolNames {
            if let found = which(name, path: path + ":/usr/sbin:/sbin:/usr/bin:/bin") { tools[name] = found }
        }
        var names = utsname()
        uname(&names)
        let architecture = withUnsafeBytes(of: &names.machine) { String(decoding: $0.prefix { $0 != 0 }, as: UTF8.self) }
        let fm = FileManager.default
        let zones: Set<String> = ["Pacific/Kiritimati"].filter { fm.fileExists(atPath: "/usr/share/zoneinfo/" + $0) }
            .reduce(into: []) { $0.insert($1) }
        return HostFacts(
            uid: getuid(), gid: getgid(), cpuCount: max(1, Self.allowedCPUCount()),
            hostname: Self.gethostname(),
            architecture: architecture.isEmpty ? "x86_64" : architecture, path: path,
            hasFUSE: access("/dev/fuse", R_OK | W_OK) == 0, libfaketime: findLibfaketime(), tools: tools, zoneinfo: zones)
    }

    public static func gethostname() -> String {
        var buffer = [CChar](repeating: 0, count: 256)
        guard Glibc.gethostname(&buffer, buffer.count - 1) == 0 else { return "localhost" }
        return String(decoding: buffer.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
    }

    /// The CPUs this process may run on, which is what `nproc` in a child reports.
    static func allowedCPUCount() -> Int {
        GNUFunctions.allowedCPUs() ?? Int(sysconf(Int32(_SC_NPROCESSORS_ONLN)))
    }

    /// The multiarch path differs per architecture and distribution, so look where Debian,
    /// Fedora and Nix-style installs put it instead of assuming x86_64.
    static func findLibfaketime() -> String? {
        var candidates = ["/usr/lib/x86_64-linux-gnu/faketime/libfaketime.so.1"]
        if let entries = try? FileManager.default.contentsOfDirectory(atPath: "/usr/lib") {
            for entry in entries.sorted() where entry.hasSuffix("-linux-gnu") {
                candidates.append("/usr/lib/\(entry)/faketime/libfaketime.so.1")
            }
        }
        candidates += ["/usr/lib/faketime/libfaketime.so.1", "/usr/lib64/faketime/libfaketime.so.1"]
        return candidates.first { access($0, R_OK) == 0 }
    }

    static func which(_ name: String, path: String) -> String? {
        for directory in path.split(separator: ":") where !directory.isEmpty {
            let candidate = "\(directory)/\(name)"
            if access(candidate, X_OK) == 0 { return candidate }
        }
        return nil
    }
}
