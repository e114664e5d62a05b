import Builder
import Foundation
#if canImport(Glibc)
import Glibc
#endif

public enum WorkFolderError: Error, Equatable, Sendable, CustomStringConvertible {
    case create(directory: String, errno: Int32)

    public var description: String {
        switch self {
        case let .create(directory, code):
            "\(directory): cannot create a work folder: \(String(cString: strerror(code)))"
        }
    }
}

/// The work folders of every repro-check process follow one convention, shared with
/// `repro-check build`: `$TMPDIR|/tmp/repro-check-<kind>-<pid>-XXXXXX`. The pid says whose
/// folder it is: a folder whose process no longer exists (`kill(pid, 0)` fails with ESRCH) is
/// stale, left by a run that was killed, and any later run may clean it up. A folder of a live
/// process is never touched.
public enum WorkFolders {
    static let prefix = "repro-check-"

    /// Where work folders go: `$TMPDIR` when set, else `/tmp`.
    public static func base(environment: [String: String] = ProcessInfo.processInfo.environment) -> String {
        let directory = environment["TMPDIR"].flatMap { $0.isEmpty ? nil : $0 } ?? "/tmp"
        return directory.count > 1 && directory.hasSuffix("/") ? String(directory.dropLast()) : directory
    }

    /// Every place a run or its children may have put work folders: children get a fixed
    /// environment without `TMPDIR`, so `/tmp` is always one of them.
    public static func bases(environment: [String: String] = ProcessInfo.processInfo.environment) -> [String] {
        let own = base(environment: environment)
        return own == "/tmp" ? ["/tmp"] : [own, "/tmp"]
    }

    /// A new private folder `<base>/repro-check-<kind>-<our pid>-XXXXXX`.
    public static func make(kind: String, base: String = base()) throws -> String {
        var template = Array("\(base)/\(prefix)\(kind)-\(getpid())-XXXXXX".utf8CString)
        guard let made = template.withUnsafeMutableBufferPointer({ buffer in
            buffer.baseAddress.flatMap { mkdtemp($0) }.map { String(cString: $0) }
        }) else { throw WorkFolderError.create(directory: base, errno: errno) }
        return made
    }

    /// The pid in a work folder's name, or nil when the name does not follow the convention.
    static func owner(ofFolderNamed name: String) -> pid_t? {
        guard name.hasPrefix(prefix) else { return nil }
        let parts = name.dropFirst(prefix.count).split(separator: "-", omittingEmptySubsequences: false)
        // kind, pid, the six characters mkdtemp chose (which may not contain "-").
        guard parts.count == 3, !parts[0].isEmpty, parts[0].allSatisfy({ $0.isASCII && $0.isLetter }),
            parts[2].count == 6, let pid = pid_t(parts[1]), pid > 0, String(pid) == parts[1]
        else { return nil }
        return pid
    }

    static func isAlive(_ pid: pid_t) -> Bool { kill(pid, 0) == 0 || errno != ESRCH }

    /// Work folders under `bases` whose process is gone, as full paths, sorted.
    public static func stale(in bases: [String] = bases()) -> [String] {
        var found: [String] = []
        for base in bases {
            guard let entries = try? FileManager.default.contentsOfDirectory(atPath: base) else { continue }
            for entry in entries {
                guard let pid = owner(ofFolderNamed: entry), !isAlive(pid) else { continue }
                let path = base + "/" + entry
                var info = stat()
                // A real directory only: never follow a symlink someone planted under the name.
                guard lstat(path, &info) == 0, info.st_mode & S_IFMT == S_IFDIR else { continue }
                found.append(path)
            }
        }
        return found.sorted()
    }

    /// Removes the stale work folders (and the mounts inside them) of runs that died; returns
    /// the folders it removed.
    @discardableResult
    public static func removeStale(in bases: [String] = bases(), host: HostFacts) -> [String] {
        stale(in: bases).filter { remove($0, host: host) }
    }

    /// Lazily unmounts everything mounted at or under `folder`, deepest first, then removes it.
    /// A folder with a mount that would not go away is left alone: removing it would reach
    /// through the mount into the files it shows. Returns whether the folder is gone.
    @discardableResult
    public static func remove(_ folder: String, host: HostFacts) -> Bool {
        for mount in MountTable.mounts(under: folder).sorted(by: { $0.point.count > $1.point.count }) {
            unmount(mount, host: host)
        }
        guard MountTable.mounts(under: folder).isEmpty else { return false }
        SpecResolver.removeWorkDirectory(folder)
        var info = stat()
        return lstat(folder, &info) != 0
    }

    /// `fusermount3 -uz` (or `fusermount -uz`) for a FUSE mount, `umount -l` otherwise or when
    /// that fails: lazy, so a process still inside cannot keep the mount.
    static func unmount(_ mount: MountTable.Mount, host: HostFacts) {
        let search = host.path + ":/usr/sbin:/sbin:/usr/bin:/bin"
        var commands: [[String]] = []
        if mount.type.hasPrefix("fuse") {
            for tool in ["fusermount3", "fusermount"] {
                if let found = HostFacts.which(tool, path: search) { commands.append([found, "-u", "-z", mount.point]) }
            }
        }
        if let umount = HostFacts.which("umount", path: search) { commands.append([umount, "-l", mount.point]) }
        for argv in commands {
            var sink = MemoryCollector()
            let outcome = try? ChildProcess.run(
                argv: argv, environment: ["PATH": host.path], workingDirectory: "/", registry: ChildRegistry(),
                stdout: &sink)
            if outcome?.exitStatus == 0 { return }
        }
    }
}

/// The mounts this process sees, from `/proc/self/mountinfo`.
enum MountTable {
    struct Mount: Equatable {
        var point: String
        var type: String
    }

    /// Mounts at `folder` or below it.
    /// The kernel lists resolved paths, so `folder` is resolved too (`$TMPDIR` may be a symlink).
    static func mounts(under folder: String) -> [Mount] {
        guard let text = try? String(contentsOfFile: "/proc/self/mountinfo", encoding: .utf8) else { return [] }
        var folders = [folder]
        if let resolved = realpath(folder, nil) {
            folders.append(String(cString: resolved))
            free(resolved)
        }
        return parse(text).filter { mount in
            folders.contains { mount.point == $0 || mount.point.hasPrefix($0 + "/") }
        }
    }

    /// `36 35 98:0 /mnt1 /mnt2 rw,noatime master:1 - ext3 /dev/root rw`: the fifth field is the
    /// mount point with space, tab, newline and backslash as octal escapes; the type follows `-`.
    static func parse(_ text: String) -> [Mount] {
        text.split(separator: "\n").compactMap { line in
            let fields = line.split(separator: " ", omittingEmptySubsequences: false)
            guard fields.count > 7, let dash = fields[6...].firstIndex(of: "-"), dash + 1 < fields.count else { return nil }
            return Mount(point: unescape(fields[4]), type: String(fields[dash + 1]))
        }
    }

    static func unescape(_ field: Substring) -> String {
        var bytes: [UInt8] = []
        var utf8 = Array(field.utf8)[...]
        while let byte = utf8.popFirst() {
            if byte == UInt8(ascii: "\\"), utf8.count >= 3,
                let value = UInt8(String(decoding: utf8.prefix(3), as: UTF8.self), radix: 8)
            {
                bytes.append(value)
                utf8 = utf8.dropFirst(3)
            } else {
                bytes.append(byte)
            }
        }
        return String(decoding: bytes, as: UTF8.self)
    }
}
