import Foundation
import Testing
@testable import Builder

@Suite("FileSystem.removeTree")
struct FileSystemTests {
    /// What must not change about a file we do not own.
    struct Fingerprint: Equatable {
        var mode: UInt32, uid: UInt32, gid: UInt32, links: UInt64, size: UInt64
        var mtime: Int, ctimeSeconds: Int, ctimeNanoseconds: Int, bytes: [UInt8]?

        init(_ path: String) throws {
            var info = stat()
            guard lstat(path, &info) == 0 else { throw IOError.stat(path, errno: errno) }
            mode = info.st_mode
            uid = info.st_uid
            gid = info.st_gid
            links = UInt64(info.st_nlink)
            size = UInt64(info.st_size)
            mtime = Int(info.st_mtim.tv_sec)
            ctimeSeconds = Int(info.st_ctim.tv_sec)
            ctimeNanoseconds = Int(info.st_ctim.tv_nsec)
            bytes = info.st_mode & S_IFMT == S_IFREG ? FileManager.default.contents(atPath: path).map { Array($0) } : nil
        }
    }

    @Test("removes read-only directories and files of every mode")
    func readOnly() throws {
        let root = try FixtureStore.temporaryDirectory("remove-readonly")
        for (name, mode) in [("a", 0o555), ("b", 0o000), ("c", 0o300), ("d", 0o100)] as [(String, mode_t)] {
            try FileManager.default.createDirectory(atPath: "\(root)/tree/\(name)/inner", withIntermediateDirectories: true)
            #expect(FileManager.default.createFile(atPath: "\(root)/tree/\(name)/inner/f", contents: Data("x".utf8)))
            chmod("\(root)/tree/\(name)/inner/f", 0o444)
            chmod("\(root)/tree/\(name)/inner", mode)
            chmod("\(root)/tree/\(name)", mode)
        }
        chmod(root + "/tree", 0o500)
        try FileSystem.removeTree(root + "/tree")
        #expect(!FileSystem.exists(Array((root + "/tree").utf8)))
        try FileSystem.removeTree(root)
        #expect(!FileSystem.exists(Array(root.utf8)))
    }

    @Test("never follows a symlink or changes a file outside the tree, whatever links into it")
    func outsideUntouched() throws {
        let root = try FixtureStore.temporaryDirectory("remove-outside")
        defer { FixtureStore.remove(root) }
        let fm = FileManager.default
        try fm.createDirectory(atPath: root + "/outside/dir", withIntermediateDirectories: true)
        #expect(fm.createFile(atPath: root + "/outside/file", contents: Data("store bytes".utf8)))
        #expect(fm.createFile(atPath: root + "/outside/dir/inner", contents: Data("inner".utf8)))
        #expect(fm.createFile(atPath: root + "/outside/linked", contents: Data("hard".utf8)))
        chmod(root + "/outside/file", 0o444)
        chmod(root + "/outside/dir/inner", 0o444)
        chmod(root + "/outside/linked", 0o444)
        chmod(root + "/outside/dir", 0o555)
        let watched = ["/outside/file", "/outside/dir", "/outside/dir/inner"]
        let before = try watched.map { try Fingerprint(root + $0) }
        let linkedBefore = try Fingerprint(root + "/outside/linked")

        let tree = root + "/tree"
        try fm.createDirectory(atPath: tree + "/sub/deeper", withIntermediateDirectories: true)
        try fm.createSymbolicLink(atPath: tree + "/file-link", withDestinationPath: root + "/outside/file")
        try fm.createSymbolicLink(atPath: tree + "/dir-link", withDestinationPath: root + "/outside/dir")
        try fm.createSymbolicLink(atPath: tree + "/sub/relative-link", withDestinationPath: "../../outside/dir")
        try fm.createSymbolicLink(atPath: tree + "/sub/deeper/loop", withDestinationPath: "loop")
        try fm.createSymbolicLink(atPath: tree + "/sub/dangling", withDestinationPath: "/nonexistent/x")
        try fm.linkItem(atPath: root + "/outside/linked", toPath: tree + "/sub/deeper/hard")
        chmod(tree + "/sub/deeper", 0o555)
        chmod(tree + "/sub", 0o000)

        try FileSystem.removeTree(tree)
        #expect(!FileSystem.exists(Array(tree.utf8)))
        #expect(try watched.map { try Fingerprint(root + $0) } == before)
        let linkedAfter = try Fingerprint(root + "/outside/linked")
        #expect(linkedAfter.links == 1)
        #expect(linkedAfter.mode == linkedBefore.mode && linkedAfter.bytes == linkedBefore.bytes && linkedAfter.uid == linkedBefore.uid)
    }

    @Test("removes a symlink given as the tree itself, not what it points to")
    func symlinkRoot() throws {
        let root = try FixtureStore.temporaryDirectory("remove-symlink-root")
        defer { FixtureStore.remove(root) }
        try FileManager.default.createDirectory(atPath: root + "/target/sub", withIntermediateDirectories: true)
        chmod(root + "/target/sub", 0o555)
        let before = try Fingerprint(root + "/target/sub")
        try FileManager.default.createSymbolicLink(atPath: root + "/link", withDestinationPath: root + "/target")
        try FileSystem.removeTree(root + "/link")
        try FileSystem.removeTree(root + "/link/")
        #expect(!FileSystem.exists(Array((root + "/link").utf8)))
        #expect(try Fingerprint(root + "/target/sub") == before)
    }

    @Test("removes a tree 10,000 directories deep")
    func deepTree() throws {
        // In memory where possible: on a disk mounted with `discard` every rmdir waits for the
        // device (rm -rf needs 40 s there too), which says nothing about the walk.
        let memory = access("/dev/shm", W_OK) == 0 ? "/dev/shm/" : NSTemporaryDirectory()
        let root = memory + "repro-check-remove-deep-\(UUID().uuidString)"
        #expect(mkdir(root, 0o755) == 0)
        // Built with *at calls: the full path is far beyond PATH_MAX.
        var fd = open(root, O_RDONLY | O_DIRECTORY)
        for _ in 0..<10_000 {
            #expect(mkdirat(fd, "d", 0o755) == 0)
            let next = openat(fd, "d", O_RDONLY | O_DIRECTORY)
            close(fd)
            fd = next
        }
        #expect(fd >= 0)
        #expect(symlinkat("/", fd, "to-root") == 0)
        fchmod(fd, 0o555)
        close(fd)
        try FileSystem.removeTree(root)
        #expect(!FileSystem.exists(Array(root.utf8)))
    }

    @Test("accepts a missing path and refuses . and ..")
    func edges() throws {
        try FileSystem.removeTree("/nonexistent-repro-check/x")
        #expect(throws: FileSystemError.refusedPath("..")) { try FileSystem.removeTree("..") }
        #expect(throws: FileSystemError.refusedPath("/tmp/.")) { try FileSystem.removeTree("/tmp/.") }
        #expect(throws: FileSystemError.refusedPath("/")) { try FileSystem.removeTree("/") }
    }
}
