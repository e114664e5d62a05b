import Builder
import Foundation
#if canImport(Glibc)
import Glibc
#endif

public enum WorkspaceError: Error, Equatable, Sendable, CustomStringConvertible {
    case copyFailed(from: String, to: String, reason: String)
    case chownFailed(path: String, errno: Int32)
    case mountFailed(mountpoint: String, status: Int32, message: String)

    public var description: String {
        switch self {
        case let .copyFailed(from, to, reason): "\(from): could not copy the spec's folder to \(to): \(reason)"
        case let .chownFailed(path, code): "\(path): could not hand the copy to the build's user: \(String(cString: strerror(code)))"
        case let .mountFailed(mountpoint, status, message):
            "\(mountpoint): disorderfs exited with status \(status): \(message)"
        }
    }
}

/// Carries out a plan's file-system steps and undoes them afterwards, whatever happened.
struct BuildWorkspace {
    private var mounts: [String] = []
    private var created: [String] = []
    let host: HostFacts
    let registry: ChildRegistry

    init(host: HostFacts, registry: ChildRegistry) {
        self.host = host
        self.registry = registry
    }

    mutating func prepare(_ steps: [BuildPlan.Step]) throws {
        let fm = FileManager.default
        for step in steps {
            switch step {
            case let .copy(from, to, owner):
                let parent = BuildEnvironmentPlanner.directory(of: to)
                do {
                    try? fm.removeItem(atPath: to)
                    try fm.createDirectory(atPath: parent, withIntermediateDirectories: true)
                    created.append(parent)
                    try fm.copyItem(atPath: from, toPath: to)
                } catch {
                    throw WorkspaceError.copyFailed(from: from, to: to, reason: SystemErrorText.reason(error))
                }
                if let owner { try Self.chownTree(to, uid: owner.uid, gid: owner.gid) }
            case let .disorderfs(source, mountpoint):
                try? fm.createDirectory(atPath: mountpoint, withIntermediateDirectories: true)
                created.append(mountpoint)
                let tool = host.executable("disorderfs") ?? "disorderfs"
                var sink = MemoryCollector()
                let outcome = try ChildProcess.run(
                    argv: [tool, "--shuffle-dirents=yes", "--multi-user=yes", "--quiet", source, mountpoint],
                    environment: ["PATH": host.path], workingDirectory: "/", registry: registry, stdout: &sink)
                guard outcome.exitStatus == 0 else {
                    throw WorkspaceError.mountFailed(mountpoint: mountpoint, status: outcome.exitStatus, message: outcome.stderrTail)
                }
                mounts.append(mountpoint)
            }
        }
    }

    /// Unmounts, then deletes what `prepare` created; what cannot go now (a mount that will
    /// not detach) is left for the run's final clean-up or the next run's stale-folder sweep.
    mutating func cleanUp() {
        for mountpoint in mounts.reversed() {
            for mount in MountTable.mounts(under: mountpoint) { WorkFolders.unmount(mount, host: host) }
        }
        mounts = []
        for path in created.reversed() where MountTable.mounts(under: path).isEmpty {
            SpecResolver.removeWorkDirectory(path)
        }
        created = []
    }

    static func chownTree(_ root: String, uid: UInt32, gid: UInt32) throws {
        guard lchown(root, uid, gid) == 0 else { throw WorkspaceError.chownFailed(path: root, errno: errno) }
        guard let enumerator = FileManager.default.enumerator(atPath: root) else { return }
        while let relative = enumerator.nextObject() as? String {
            let path = root + "/" + relative
            guard lchown(path, uid, gid) == 0 else { throw WorkspaceError.chownFailed(path: path, errno: errno) }
        }
    }
}

/// Collects a small output (a tool's messages) in memory.
struct MemoryCollector: ByteSink {
    var bytes: [UInt8] = []
    mutating func write(_ chunk: UnsafeRawBufferPointer) throws { bytes.append(contentsOf: chunk) }
    mutating func flush() throws {}
}
