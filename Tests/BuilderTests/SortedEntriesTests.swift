import Foundation
import Testing
@testable import Builder

/// Directory listings as every walk reads them: all names but `.` and `..`, bytewise sorted,
/// however many system calls the listing takes.
@Suite("FileSystem.sortedEntries")
struct SortedEntriesTests {
    @Test("lists a directory far larger than one read, sorted, dot names kept but . and ..")
    func largeDirectory() throws {
        let root = try FixtureStore.temporaryDirectory("sorted-entries")
        defer { FixtureStore.remove(root) }
        // About 300 KiB of directory records: several getdents64 calls of 32 KiB.
        var expected = [".hidden", "..double", "...", "ü-\u{1F600}", "a"]
        expected += (0..<3000).map { "entry-\(String(repeating: "n", count: 40))-\($0)" }
        for name in expected {
            #expect(FileManager.default.createFile(atPath: root + "/" + name, contents: nil))
        }
        let sorted = expected.map { Array($0.utf8) }.sorted { $0.lexicographicallyPrecedes($1) }
        let fd = open(root, O_RDONLY | O_DIRECTORY | O_CLOEXEC)
        #expect(fd >= 0)
        defer { close(fd) }
        #expect(try FileSystem.sortedEntries(directory: fd, display: Array(root.utf8)) == sorted)
        #expect(try FileSystem.sortedEntries(Array(root.utf8)) == sorted)
    }

    @Test("an empty directory lists nothing")
    func emptyDirectory() throws {
        let root = try FixtureStore.temporaryDirectory("sorted-entries-empty")
        defer { FixtureStore.remove(root) }
        let fd = open(root, O_RDONLY | O_DIRECTORY | O_CLOEXEC)
        defer { close(fd) }
        #expect(try FileSystem.sortedEntries(directory: fd, display: Array(root.utf8)).isEmpty)
    }

    @Test("a descriptor that is not a directory fails naming the path")
    func notADirectory() throws {
        let root = try FixtureStore.temporaryDirectory("sorted-entries-file")
        defer { FixtureStore.remove(root) }
        let path = root + "/plain"
        #expect(FileManager.default.createFile(atPath: path, contents: Data("x".utf8)))
        let fd = open(path, O_RDONLY | O_CLOEXEC)
        defer { close(fd) }
        #expect(throws: IOError.read(path, errno: ENOTDIR)) {
            try FileSystem.sortedEntries(directory: fd, display: Array(path.utf8))
        }
    }
}
