import Builder
import Foundation
import Testing

@Suite("Symlink join")
struct SymlinkJoinTests {
    private func link(_ path: String) throws -> String {
        try FileManager.default.destinationOfSymbolicLink(atPath: path)
    }

    @Test("merges two contents with overlapping directories into real directories and image-path symlinks")
    func mergesOverlappingDirectories() throws {
        let store = try TestStore("join-merge")
        defer { store.remove() }
        let hello = store.path("1", "hello")
        let tools = store.path("2", "tools")
        try store.file(hello, "bin/hello", "#!/bin/sh\n", mode: 0o755)
        try store.file(hello, "share/man/man1/hello.1", "man")
        try store.file(tools, "bin/tool", "tool", mode: 0o755)
        try store.file(tools, "share/doc/tool.txt", "doc")
        try store.symlink(tools, "bin/tool-alias", to: "tool")
        let root = store.base + "/root"

        let warnings = try SymlinkJoin(contents: [hello, tools], store: store.binding).stage(into: root)

        #expect(warnings.isEmpty)
        for directory in ["", "/bin", "/share", "/share/man", "/share/man/man1", "/share/doc"] {
            let status = try FileSystem.lstatus(Array((root + directory).utf8))
            #expect(status.isDirectory, "\(directory) is a real directory")
            #expect(status.mode & 0o7777 == 0o755, "\(directory) has mode 0755")
        }
        #expect(try link(root + "/bin/hello") == hello.imagePath + "/bin/hello")
        #expect(try link(root + "/bin/tool") == tools.imagePath + "/bin/tool")
        #expect(try link(root + "/bin/tool-alias") == tools.imagePath + "/bin/tool-alias")
        #expect(try link(root + "/share/man/man1/hello.1") == hello.imagePath + "/share/man/man1/hello.1")
        #expect(try link(root + "/share/doc/tool.txt") == tools.imagePath + "/share/doc/tool.txt")
        #expect(try FileSystem.sortedEntries(Array((root + "/bin").utf8)).map { String(decoding: $0, as: UTF8.self) } == ["hello", "tool", "tool-alias"])
    }

    /// The kernel caps a symlink's target at PATH_MAX, so the image paths stay below it; the
    /// host store and the root sit under a 2,000-byte prefix, so their paths do not.
    @Test("merges two contents 1,100 directories deep whose host paths exceed PATH_MAX")
    func mergesDeepTrees() throws {
        let base = try FixtureStore.temporaryDirectory("join-deep")
        defer { StoreWalkTests.removeDeep(base) }
        let prefix = base + String(repeating: "/" + String(repeating: "x", count: 250), count: 8)
        let binding = StoreBinding(imageDirectory: "/nix/store", hostDirectory: prefix + "/store")
        let contents = ["1", "2"].map { seed in
            let name = TestStore.hash(Character(seed)) + "-deep-\(seed)"
            return StorePathMapping(hostPath: binding.hostDirectory + "/" + name, imagePath: "/nix/store/" + name)
        }
        for content in contents {
            try FileManager.default.createDirectory(atPath: content.hostPath, withIntermediateDirectories: true)
            try StoreWalkTests.makeDeepTree(content.hostPath, depth: 1100, content: content.imagePath)
        }
        let root = prefix + "/root"

        let warnings = try SymlinkJoin(contents: contents, store: binding).stage(into: root)

        let deepest = Array(repeating: "d", count: 1100).joined(separator: "/") + "/file"
        #expect(warnings == [SymlinkJoin.Warning(path: deepest, kept: contents[0].imagePath, ignored: contents[1].imagePath)])
        var directories = 0
        var links: [String: String] = [:]
        try StoreWalk.forEach(root: Array(root.utf8), order: .bytewise) { entry in
            if entry.status.isDirectory { directories += 1 }
            if entry.status.isSymlink { links[String(decoding: entry.relative, as: UTF8.self)] = String(decoding: try entry.readLink(), as: UTF8.self) }
        }
        #expect(directories == 1101)
        #expect(links == [deepest: contents[0].imagePath + "/" + deepest])
    }

    @Test("keeps the first file on a file clash and returns a warning naming both store paths")
    func fileClashFirstWins() throws {
        let store = try TestStore("join-clash")
        defer { store.remove() }
        let first = store.path("1", "hello-2.12")
        let second = store.path("2", "hello-2.10")
        try store.file(first, "bin/hello", "new")
        try store.file(second, "bin/hello", "old")
        let root = store.base + "/root"

        let warnings = try SymlinkJoin(contents: [first, second], store: store.binding).stage(into: root)

        #expect(try link(root + "/bin/hello") == first.imagePath + "/bin/hello")
        #expect(warnings == [SymlinkJoin.Warning(path: "bin/hello", kept: first.imagePath, ignored: second.imagePath)])
        #expect(warnings.first?.description.contains(second.imagePath) == true)
    }

    @Test("refuses a path that is a directory in one content and a file in another")
    func directoryFileClash() throws {
        let store = try TestStore("join-dirfile")
        defer { store.remove() }
        let fileSide = store.path("1", "a")
        let directorySide = store.path("2", "b")
        try store.file(fileSide, "lib", "not a directory")
        try store.file(directorySide, "lib/libb.so", "elf")

        #expect {
            try SymlinkJoin(contents: [fileSide, directorySide], store: store.binding).stage(into: store.base + "/root")
        } throws: { error in
            guard let error = error as? CustomisationError, case let .directoryFileClash(path, directoryIn, fileIn) = error else { return false }
            return path == "lib" && directoryIn == directorySide.imagePath && fileIn == fileSide.imagePath
                && error.description.contains(fileSide.imagePath) && error.description.contains(directorySide.imagePath)
        }
    }

    @Test("refuses a symlink to a directory outside the store")
    func outsideStoreSymlink() throws {
        let store = try TestStore("join-outside")
        defer { store.remove() }
        let content = store.path("1", "etc-files")
        try TestStore.makeDirectories(store.base + "/host-etc")
        try store.symlink(content, "etc", to: store.base + "/host-etc")

        #expect {
            try SymlinkJoin(contents: [content], store: store.binding).stage(into: store.base + "/root")
        } throws: { error in
            "\(error)".contains("points outside the store") && "\(error)".contains(content.imagePath + "/etc")
        }
    }

    @Test("follows a symlink to a directory inside the store and merges what it points to")
    func followsInStoreDirectorySymlink() throws {
        let store = try TestStore("join-instore")
        defer { store.remove() }
        let library = store.path("1", "lib")
        let wrapper = store.path("2", "wrapper")
        try store.file(library, "share/data.txt", "data")
        try store.directory(wrapper)
        try store.symlink(wrapper, "share", to: library.imagePath + "/share")
        let root = store.base + "/root"

        _ = try SymlinkJoin(contents: [wrapper], store: store.binding).stage(into: root)

        #expect(try FileSystem.lstatus(Array((root + "/share").utf8)).isDirectory)
        #expect(try link(root + "/share/data.txt") == library.imagePath + "/share/data.txt")
    }

    @Test("refuses a content path that is a regular file, naming it")
    func contentIsFile() throws {
        let store = try TestStore("join-file")
        defer { store.remove() }
        let script = store.path("1", "script.sh")
        _ = FileManager.default.createFile(atPath: script.hostPath, contents: Data("echo".utf8))

        #expect(throws: CustomisationError.contentIsFile(script.hostPath)) {
            try SymlinkJoin(contents: [script], store: store.binding).stage(into: store.base + "/root")
        }
    }
}
