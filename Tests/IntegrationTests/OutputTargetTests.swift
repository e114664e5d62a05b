import Foundation
import Testing
#if canImport(Glibc)
import Glibc
#endif

/// `build -o FILE` where FILE is not a plain file: a device or FIFO is written into and stays
/// what it was; a symlink stays a symlink and the file it leads to is replaced.
@Suite("build -o onto other nodes")
struct OutputTargetTests {
    private static func type(_ path: String) -> mode_t {
        var info = stat()
        return lstat(path, &info) == 0 ? info.st_mode & S_IFMT : 0
    }

    @Test("-o /dev/null succeeds and leaves the device a device")
    func devNull() throws {
        let fixture = try ConfFixture(label: "dev-null")
        defer { fixture.remove() }
        let result = try CLI.run(["build", "--nixpkgs-conf", try fixture.write(), "-o", "/dev/null"])
        #expect(result.status == 0, "\(result.stderr)")
        #expect(Self.type("/dev/null") == S_IFCHR)
    }

    @Test("-o /dev/full fails with one line and leaves the device a device")
    func devFull() throws {
        let fixture = try ConfFixture(label: "dev-full")
        defer { fixture.remove() }
        let result = try CLI.run(["build", "--nixpkgs-conf", try fixture.write(), "-o", "/dev/full"])
        #expect(result.status == 1)
        #expect(result.stderr == "repro-check: cannot write to /dev/full: No space left on device\n")
        #expect(Self.type("/dev/full") == S_IFCHR)
        #expect(try FileManager.default.contentsOfDirectory(atPath: "/dev").filter { $0.hasPrefix(".full") } == [])
    }

    @Test("-o FIFO streams into the FIFO, byte for byte what stdout gets")
    func fifo() throws {
        let fixture = try ConfFixture(label: "fifo")
        defer { fixture.remove() }
        let conf = try fixture.write()
        let fifo = fixture.root + "/pipe"
        #expect(mkfifo(fifo, 0o600) == 0)
        final class Box: @unchecked Sendable { var data = Data() }
        let received = Box()
        let reader = Thread {
            // Opening for reading waits for the writer, as a consumer of a FIFO does.
            if let handle = FileHandle(forReadingAtPath: fifo) { received.data = handle.readDataToEndOfFile() }
        }
        reader.start()
        let result = try CLI.run(["build", "--nixpkgs-conf", conf, "-o", fifo])
        while !reader.isFinished { usleep(1000) }
        #expect(result.status == 0, "\(result.stderr)")
        #expect(received.data == (try CLI.run(["build", "--nixpkgs-conf", conf])).stdout)
        #expect(Self.type(fifo) == S_IFIFO)
    }

    @Test("-o SYMLINK replaces the file the link leads to and keeps the link", arguments: ["absolute", "relative", "chain", "dangling"])
    func symlink(kind: String) throws {
        let fixture = try ConfFixture(label: "symlink-\(kind)")
        defer { fixture.remove() }
        let conf = try fixture.write()
        let fm = FileManager.default
        try fm.createDirectory(atPath: fixture.root + "/real", withIntermediateDirectories: true)
        let target = fixture.root + "/real/image.tar"
        if kind != "dangling" { #expect(fm.createFile(atPath: target, contents: Data("old".utf8))) }
        let link = fixture.root + "/link.tar"
        switch kind {
        case "relative": try fm.createSymbolicLink(atPath: link, withDestinationPath: "real/image.tar")
        case "chain":
            try fm.createSymbolicLink(atPath: fixture.root + "/real/hop.tar", withDestinationPath: "image.tar")
            try fm.createSymbolicLink(atPath: link, withDestinationPath: "real/hop.tar")
        default: try fm.createSymbolicLink(atPath: link, withDestinationPath: target)
        }
        let result = try CLI.run(["build", "--nixpkgs-conf", conf, "-o", link])
        #expect(result.status == 0, "\(result.stderr)")
        #expect(Self.type(link) == S_IFLNK)
        #expect(Self.type(target) == S_IFREG)
        #expect(try Data(contentsOf: URL(fileURLWithPath: target)) == (try CLI.run(["build", "--nixpkgs-conf", conf])).stdout)
        #expect(try fm.contentsOfDirectory(atPath: fixture.root + "/real").filter { $0.contains(".tmp-") } == [])
    }

    @Test("-o DIRECTORY fails with one line and changes nothing")
    func directory() throws {
        let fixture = try ConfFixture(label: "directory")
        defer { fixture.remove() }
        let result = try CLI.run(["build", "--nixpkgs-conf", try fixture.write(), "-o", fixture.root + "/customisation"])
        #expect(result.status == 1)
        #expect(result.stderr == "repro-check: cannot open \(fixture.root)/customisation: Is a directory\n")
        #expect(Self.type(fixture.root + "/customisation") == S_IFDIR)
    }
}
