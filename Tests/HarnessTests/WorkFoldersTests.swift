import Builder
import Foundation
import Testing
#if canImport(Glibc)
import Glibc
#endif

@testable import Harness

@Suite("Work folders and stale-run clean-up")
struct WorkFoldersTests {
    @Test("reads the owner's pid from names that follow the convention, and only from those")
    func ownerFromName() {
        #expect(WorkFolders.owner(ofFolderNamed: "repro-check-run-4242-a1B2c3") == 4242)
        #expect(WorkFolders.owner(ofFolderNamed: "repro-check-build-17-zzzzzz") == 17)
        for name in [
            "repro-check-build-Ab12cd", "repro-check-it-label-1234-5678", "repro-check-run-0042-abcdef",
            "repro-check-run--1-abcdef", "repro-check-run-12-abc", "other-run-12-abcdef", "repro-check-tests-x-12-abcdef",
        ] {
            #expect(WorkFolders.owner(ofFolderNamed: name) == nil, "\(name)")
        }
    }

    @Test("a new work folder carries this process's pid and is not stale")
    func makeNamesOwnPid() throws {
        let base = try ResultFixtures.temporaryDirectory().path
        defer { SpecResolver.removeWorkDirectory(base) }
        let folder = try WorkFolders.make(kind: "run", base: base)
        let name = URL(fileURLWithPath: folder).lastPathComponent
        #expect(WorkFolders.owner(ofFolderNamed: name) == getpid())
        #expect(WorkFolders.stale(in: [base]).isEmpty)
    }

    @Test("removes the folders of dead processes, keeps those of live ones and never follows a symlink")
    func removesOnlyStale() throws {
        let base = try ResultFixtures.temporaryDirectory().path
        defer { SpecResolver.removeWorkDirectory(base) }
        let dead = try Self.deadPid()
        let fm = FileManager.default
        let stale = base + "/repro-check-build-\(dead)-Xy12ab"
        try fm.createDirectory(atPath: stale + "/nested/deeper", withIntermediateDirectories: true)
        try "x".write(toFile: stale + "/nested/deeper/file", atomically: true, encoding: .utf8)
        let live = base + "/repro-check-run-\(getpid())-Xy12ab"
        try fm.createDirectory(atPath: live, withIntermediateDirectories: true)
        // A symlink named like a stale folder points at something that is not ours.
        let target = base + "/not-ours"
        try fm.createDirectory(atPath: target, withIntermediateDirectories: true)
        try "keep".write(toFile: target + "/keep", atomically: true, encoding: .utf8)
        try fm.createSymbolicLink(atPath: base + "/repro-check-run-\(dead)-Zz98yx", withDestinationPath: target)

        let removed = WorkFolders.removeStale(in: [base], host: HostFacts.probe())
        #expect(removed == [stale])
        #expect(!fm.fileExists(atPath: stale))
        #expect(fm.fileExists(atPath: live))
        #expect(fm.fileExists(atPath: target + "/keep"))
    }

    @Test("parses mount points with escaped spaces and the file-system type after the separator")
    func parsesMountInfo() {
        let text = """
            36 35 98:0 / /tmp/repro-check-run-1-abcdef/0-experiment/disorderfs rw,nosuid shared:1 - fuse.disorderfs disorderfs rw
            37 35 98:0 / /tmp/with\\040space rw master:2 - ext4 /dev/sda1 rw
            """
        #expect(MountTable.parse(text) == [
            MountTable.Mount(point: "/tmp/repro-check-run-1-abcdef/0-experiment/disorderfs", type: "fuse.disorderfs"),
            MountTable.Mount(point: "/tmp/with space", type: "ext4"),
        ])
    }

    /// A pid that belonged to a process which has exited and been reaped.
    static func deadPid() throws -> pid_t {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/bin/true")
        try process.run()
        process.waitUntilExit()
        return process.processIdentifier
    }
}
