import Builder
import Foundation
import Testing

/// Inputs that are damaged, endless or pipes: each either works (pipes) or ends in one line
/// naming the file and the problem, with exit status 2; never a crash, a backtrace or a hang.
@Suite("hostile input")
struct HostileInputTests {
    static let baseTar = CLI.repositoryRoot + "/Tests/BuilderTests/Fixtures/writer/base-image/base.tar"
    static let baseTarGz = CLI.repositoryRoot + "/Tests/BuilderTests/Fixtures/writer/base-image-gz/base.tar.gz"

    static func expectOneLineError(_ result: CLI.Output, _ expected: String, sourceLocation: SourceLocation = #_sourceLocation) {
        #expect(result.status == 2, "\(result.stderr)", sourceLocation: sourceLocation)
        #expect(result.stderr.split(separator: "\n").count == 1, "\(result.stderr)", sourceLocation: sourceLocation)
        #expect(result.stderr.hasPrefix("repro-check: "), sourceLocation: sourceLocation)
        #expect(result.stderr.contains(expected), "\(result.stderr)", sourceLocation: sourceLocation)
    }

    /// Runs `repro-check` under bash so arguments can be process substitutions (`<(cat …)`);
    /// `$1`, `$2`, … in `script` are `files`.
    static func bash(_ script: String, _ files: [String]) throws -> CLI.Output {
        let environment = ProcessInfo.processInfo.environment.merging(["RC": CLI.binary]) { $1 }
        return try CLI.run(["-c", "exec \"$RC\" " + script, "bash"] + files, environment: environment, executable: "/bin/bash")
    }

    /// A FIFO at `path` fed with `file`'s bytes from another thread (opening a FIFO for writing
    /// waits for its reader).
    static func feedFIFO(_ path: String, from file: String) throws {
        #expect(mkfifo(path, 0o600) == 0)
        let bytes = try Data(contentsOf: URL(fileURLWithPath: file))
        Thread {
            guard let handle = FileHandle(forWritingAtPath: path) else { return }
            try? handle.write(contentsOf: bytes)
            try? handle.close()
        }.start()
    }

    /// A one-member archive whose member is made hostile by `records` or `name`.
    static func hostileTar(name: String = "f", records: [PaxRecord] = []) throws -> Data {
        var writer = TarWriter(sink: MemorySink())
        try writer.add(TarHeader(name: Array(name.utf8), size: 3, paxRecords: records), content: Array("abc".utf8))
        try writer.finish()
        return Data(writer.sink.bytes)
    }

    @Test("diff refuses /dev/zero instead of reading it forever")
    func diffDevZero() throws {
        let result = try CLI.run(["diff", "/dev/zero", Self.baseTar])
        Self.expectOneLineError(result, "/dev/zero goes on for more than 1 MiB after its end-of-archive block")
    }

    @Test("build refuses a conf that is /dev/zero instead of filling memory")
    func confDevZero() throws {
        let result = try CLI.run(["build", "--nixpkgs-conf", "/dev/zero"])
        Self.expectOneLineError(result, "/dev/zero is larger than 64 MiB")
    }

    @Test("diff reads an archive from a pipe without losing its first bytes")
    func diffPipe() throws {
        let same = try Self.bash("diff <(cat \"$1\") \"$1\"", [Self.baseTar])
        #expect(same.status == 0, "\(same.stderr)")
        #expect(String(decoding: same.stdout, as: UTF8.self) == "The archives are identical.\n")
        let gzipped = try Self.bash("diff <(cat \"$1\") \"$1\"", [Self.baseTarGz])
        #expect(gzipped.status == 0, "\(gzipped.stderr)")
    }

    @Test("build reads a conf from a pipe and a base image from a FIFO, plain or gzip")
    func buildPipes() throws {
        var fixture = try ConfFixture(label: "pipes")
        defer { fixture.remove() }
        for base in [Self.baseTar, Self.baseTarGz] {
            fixture.conf["from_image"] = base
            let expected = try CLI.run(["build", "--nixpkgs-conf", try fixture.write()])
            #expect(expected.status == 0, "\(expected.stderr)")

            let piped = try Self.bash("build --nixpkgs-conf <(cat \"$1\")", [try fixture.write()])
            #expect(piped.status == 0, "\(piped.stderr)")
            #expect(piped.stdout == expected.stdout)

            let fifo = fixture.root + "/base-\(UUID().uuidString).fifo"
            try Self.feedFIFO(fifo, from: base)
            fixture.conf["from_image"] = fifo
            let fromFIFO = try CLI.run(["build", "--nixpkgs-conf", try fixture.write()])
            #expect(fromFIFO.status == 0, "\(fromFIFO.stderr)")
            #expect(fromFIFO.stdout == expected.stdout)
        }
    }

    @Test("build refuses hostile base image members with one line", arguments: [
        ("a pax size of -5", [PaxRecord("size", "-5")], "f", "a pax size of \"-5\" is not a byte count"),
        ("a pax mtime of 1e400", [PaxRecord("mtime", "1e400")], "f", "a pax mtime of \"1e400\" is not a time"),
        ("a pax mtime of nan", [PaxRecord("mtime", "nan")], "f", "a pax mtime of \"nan\" is not a time"),
        ("a parent component", [], "../escape", "member ../escape has an absolute path or a .. component"),
        ("an absolute path", [], "/etc/passwd", "member /etc/passwd has an absolute path or a .. component"),
        ("an absolute pax path", [PaxRecord("path", "/abs/x")], "f", "member /abs/x has an absolute path"),
    ])
    func hostileBase(_ label: String, _ records: [PaxRecord], _ name: String, _ expected: String) throws {
        var fixture = try ConfFixture(label: "hostile")
        defer { fixture.remove() }
        let base = fixture.root + "/base.tar"
        try Self.hostileTar(name: name, records: records).write(to: URL(fileURLWithPath: base))
        fixture.conf["from_image"] = base
        let result = try CLI.run(["build", "--nixpkgs-conf", try fixture.write(), "-o", fixture.root + "/out.tar"])
        Self.expectOneLineError(result, expected)
        #expect(!FileManager.default.fileExists(atPath: fixture.root + "/out.tar"), "\(label)")
    }

    @Test("diff refuses a layer whose base-256 size overflows, and a negative octal size")
    func diffBadSizes() throws {
        let fixture = try ConfFixture(label: "sizes")
        defer { fixture.remove() }
        var block = [UInt8](try Self.hostileTar().prefix(512))
        for (field, bytes) in [([0x80, 1] + [UInt8](repeating: 0, count: 10), "size field does not fit 64 bits"), (Array("-5".utf8) + [UInt8](repeating: 0, count: 10), "holds \"-5\"")] {
            block.replaceSubrange(124..<136, with: field)
            block.replaceSubrange(148..<156, with: [UInt8](repeating: 0x20, count: 8))
            let sum = Array(String(block.reduce(0) { $0 + Int($1) }, radix: 8).utf8)
            block.replaceSubrange(148..<156, with: [UInt8](repeating: 0x30, count: 6 - sum.count) + sum + [0, 0x20])
            let path = fixture.root + "/bad.tar"
            try Data(block + [UInt8](repeating: 0, count: 1024)).write(to: URL(fileURLWithPath: path))
            Self.expectOneLineError(try CLI.run(["diff", path, Self.baseTar]), bytes)
        }
    }
}
