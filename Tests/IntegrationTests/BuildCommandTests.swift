import Foundation
import Testing

/// `repro-check build --nixpkgs-conf`: good input streams an archive; bad input gives one line
/// naming the file and the problem, a non-zero exit, and no output under the final name.
@Suite("build command")
struct BuildCommandTests {
    @Test("streams an archive to stdout that ends padded to a 10240-byte record")
    func streamsToStdout() throws {
        let fixture = try ConfFixture(label: "stdout")
        defer { fixture.remove() }
        let output = try CLI.run(["build", "--nixpkgs-conf", try fixture.write()])
        #expect(output.status == 0, "\(output.stderr)")
        #expect(output.stdout.count > 0 && output.stdout.count % 10240 == 0)
        // No progress when stderr is not a terminal: only the closing summary line.
        #expect(output.stderr.hasPrefix("image ID sha256:") && output.stderr.split(separator: "\n").count == 1, "\(output.stderr)")
    }

    @Test("-o writes the same bytes as stdout, and --repo-tag changes only the tag")
    func outputFileAndRepoTag() throws {
        let fixture = try ConfFixture(label: "output")
        defer { fixture.remove() }
        let conf = try fixture.write()
        let streamed = try CLI.run(["build", "--nixpkgs-conf", conf])
        let result = try CLI.run(["build", "--nixpkgs-conf", conf, "-o", fixture.root + "/out.tar"])
        #expect(result.status == 0)
        #expect(try Data(contentsOf: URL(fileURLWithPath: fixture.root + "/out.tar")) == streamed.stdout)
        let tagged = try CLI.run(["build", "--nixpkgs-conf", conf, "--repo-tag", "other:1"])
        #expect(tagged.stdout != streamed.stdout)
        #expect(String(decoding: tagged.stdout, as: UTF8.self).contains("\"other:1\""))
    }

    struct BadCase: CustomTestStringConvertible, Sendable {
        var name: String
        var expected: String
        var exitStatus: Int32
        var breakIt: @Sendable (inout ConfFixture) throws -> Void
        var testDescription: String { name }
    }

    static let badCases: [BadCase] = [
        BadCase(name: "missing store path", expected: "does not exist", exitStatus: 1) { fixture in
            fixture.conf["store_layers"] = [[fixture.store + "/00000000000000000000000000000000-gone"]]
        },
        BadCase(name: "path outside store_dir", expected: "is not inside store_dir", exitStatus: 1) { fixture in
            fixture.conf["store_layers"] = [["/etc"]]
        },
        BadCase(name: "checksum not 64 hex", expected: "must hold 64 lowercase hex characters", exitStatus: 1) { fixture in
            try "abc\n".write(toFile: fixture.root + "/customisation/checksum", atomically: true, encoding: .utf8)
        },
        BadCase(name: "checksum not matching layer.tar", expected: "but its checksum file says", exitStatus: 1) { fixture in
            try (String(repeating: "a", count: 64) + "\n").write(toFile: fixture.root + "/customisation/checksum", atomically: true, encoding: .utf8)
        },
        BadCase(name: "missing key", expected: "missing key \"store_dir\"", exitStatus: 2) { fixture in
            fixture.conf["store_dir"] = nil
        },
        BadCase(name: "mistyped key", expected: "key \"uid\" must be an integer", exitStatus: 2) { fixture in
            fixture.conf["uid"] = "alice"
        },
        BadCase(name: "bad time", expected: "key \"created\" is not an ISO-8601 time", exitStatus: 2) { fixture in
            fixture.conf["created"] = "yesterday"
        },
        BadCase(name: "truncated base image", expected: "is truncated", exitStatus: 2) { fixture in
            let base = try Data(contentsOf: URL(fileURLWithPath: CLI.repositoryRoot + "/Tests/BuilderTests/Fixtures/writer/base-image/base.tar"))
            try base.prefix(9000).write(to: URL(fileURLWithPath: fixture.root + "/base.tar"))
            fixture.conf["from_image"] = fixture.root + "/base.tar"
        },
        BadCase(name: "corrupt base image", expected: "corrupt", exitStatus: 2) { fixture in
            var base = try Data(contentsOf: URL(fileURLWithPath: CLI.repositoryRoot + "/Tests/BuilderTests/Fixtures/writer/base-image/base.tar"))
            base[600] ^= 0xFF  // inside the first member's header or data
            base[2000] ^= 0xFF
            try base.write(to: URL(fileURLWithPath: fixture.root + "/base.tar"))
            fixture.conf["from_image"] = fixture.root + "/base.tar"
        },
        BadCase(name: "unreadable file", expected: "cannot open", exitStatus: 1) { fixture in
            // Root reads anything; a dangling customisation directory is unreadable for everyone.
            fixture.conf["customisation_layer"] = fixture.root + "/no-such-dir"
        },
    ]

    @Test("bad input fails with one line naming the problem and leaves no output file", arguments: badCases)
    func badInput(_ badCase: BadCase) throws {
        var fixture = try ConfFixture(label: "bad")
        defer { fixture.remove() }
        try badCase.breakIt(&fixture)
        let target = fixture.root + "/image.tar"
        let result = try CLI.run(["build", "--nixpkgs-conf", try fixture.write(), "-o", target])
        #expect(result.status == badCase.exitStatus, "\(badCase.name): \(result.stderr)")
        let lines = result.stderr.split(separator: "\n")
        #expect(lines.count == 1, "\(result.stderr)")
        #expect(result.stderr.hasPrefix("repro-check: "))
        #expect(result.stderr.contains(badCase.expected), "\(result.stderr)")
        #expect(!FileManager.default.fileExists(atPath: target))
        let leftovers = try FileManager.default.contentsOfDirectory(atPath: fixture.root).filter { $0.contains(".tmp-") }
        #expect(leftovers.isEmpty)
    }

    @Test("broken JSON names the line and column")
    func brokenJSON() throws {
        let fixture = try ConfFixture(label: "json")
        defer { fixture.remove() }
        let path = fixture.root + "/conf.json"
        try "{\n  \"architecture\": \"amd64\",\n  \"config\": {,}\n}".write(toFile: path, atomically: true, encoding: .utf8)
        let result = try CLI.run(["build", "--nixpkgs-conf", path])
        #expect(result.status == 2)
        #expect(result.stderr.contains("conf.json: invalid JSON at line 3, column 14"), "\(result.stderr)")
    }

    @Test("a closed stdout ends the build quietly with SIGPIPE's status, not a crash")
    func closedStdout() throws {
        let fixture = try ConfFixture(label: "epipe")
        defer { fixture.remove() }
        let pipe = Pipe()
        try pipe.fileHandleForReading.close()
        let result = try CLI.run(["build", "--nixpkgs-conf", try fixture.write()], stdout: pipe.fileHandleForWriting)
        // As `cat` under SIGPIPE: the reader chose to stop; nothing is said.
        #expect(result.status == 141)
        #expect(result.stderr == "", "\(result.stderr)")
    }

    @Test("a full disk fails the build and leaves no output file")
    func fullDisk() throws {
        let fixture = try ConfFixture(label: "full")
        defer { fixture.remove() }
        guard FileManager.default.fileExists(atPath: "/dev/full") else { return }
        let handle = try #require(FileHandle(forWritingAtPath: "/dev/full"))
        let result = try CLI.run(["build", "--nixpkgs-conf", try fixture.write()], stdout: handle)
        #expect(result.status == 1)
        #expect(result.stderr.contains("No space left on device"), "\(result.stderr)")
    }

    @Test("usage errors exit 2 and say how to fix the call")
    func usage() throws {
        let result = try CLI.run(["build"])
        #expect(result.status == 2)
        #expect(result.stderr.contains("--nixpkgs-conf"))
    }
}

/// An interrupted `build -o` removes its temporary file and exits 130; the final name never appears.
@Suite("build interruption")
struct BuildInterruptionTests {
    @Test("SIGTERM while streaming to -o leaves neither the output nor its temporary file")
    func interrupted() throws {
        let fixture = try ConfFixture(label: "interrupt")
        defer { fixture.remove() }
        // A large file so streaming lasts long enough to be interrupted.
        let big = fixture.store + "/" + ConfFixture.hello + "/big"
        FileManager.default.createFile(atPath: big, contents: Data(count: 128 << 20))
        let process = Process()
        process.executableURL = URL(fileURLWithPath: CLI.binary)
        process.arguments = ["build", "--nixpkgs-conf", try fixture.write(), "-o", fixture.root + "/image.tar"]
        process.standardError = FileHandle.nullDevice
        try process.run()
        // Wait until the temporary file exists, then interrupt.
        let deadline = Date().addingTimeInterval(20)
        var sawTemporary = false
        while Date() < deadline && process.isRunning {
            if (try FileManager.default.contentsOfDirectory(atPath: fixture.root)).contains(where: { $0.contains(".tmp-") }) {
                sawTemporary = true
                break
            }
            usleep(2000)
        }
        process.terminate()
        process.waitUntilExit()
        let leftovers = try FileManager.default.contentsOfDirectory(atPath: fixture.root).filter { $0.contains(".tmp-") || $0 == "image.tar" }
        if sawTemporary && process.terminationStatus != 0 {
            #expect(process.terminationStatus == 130)
            #expect(leftovers.isEmpty, "\(leftovers)")
        } else {
            // The build finished before the signal landed: then the output must be whole.
            #expect(leftovers == ["image.tar"])
        }
    }
}
