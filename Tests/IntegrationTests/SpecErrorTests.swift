import Foundation
import Testing

/// A broken spec gets one line naming the file and the cause, a non-zero exit, and nothing under
/// the final output name.
@Suite("Spec errors")
struct SpecErrorTests {
    static let store = CLI.repositoryRoot + "/Corpus/store"
    static let hello = "dhcb9jz9r22yrwjj82la99bbl6chybxm-hello-2.12.1"
    static let coreutils = "2xk2zvc2zv856xq7j6dd6jjjs5w7lfbj-coreutils-9.5"

    struct Case: CustomTestStringConvertible, Sendable {
        var name: String
        var spec: String
        var expected: String
        var status: Int32
        /// Prepares extra files in the spec's folder (a broken store, a graph).
        var prepare: @Sendable (String) throws -> Void = { _ in }
        var testDescription: String { name }
    }

    static let cases: [Case] = [
        Case(name: "broken JSON", spec: "{\n  \"name\": \"x\",\n  \"contents\": [\n}", expected: "invalid JSON at line 4, column 1", status: 2),
        Case(name: "unknown key with a suggestion", spec: #"{"name": "x", "store": "\#(store)", "maxLayer": 3}"#,
             expected: "unknown key \"maxLayer\" (did you mean \"maxLayers\"?)", status: 2),
        Case(name: "contents path missing from the store", spec: #"{"name": "x", "store": "\#(store)", "contents": ["00000000000000000000000000000000-gone"]}"#,
             expected: "contents names 00000000000000000000000000000000-gone, which is not in the store", status: 2),
        Case(name: "graph path missing from the store", spec: #"{"name": "x", "store": "\#(store)", "contents": ["\#(hello)"], "graph": "graph.json"}"#,
             expected: "graph path /nix/store/00000000000000000000000000000000-gone is not in the store", status: 2,
             prepare: { folder in
                 try #"[{"path": "/nix/store/\#(hello)", "references": ["/nix/store/00000000000000000000000000000000-gone"]}, {"path": "/nix/store/00000000000000000000000000000000-gone", "references": []}]"#
                     .write(toFile: folder + "/graph.json", atomically: true, encoding: .utf8)
             }),
        Case(name: "a reference cycle between distinct paths", spec: #"{"name": "x", "store": "store", "contents": ["aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa-a"]}"#,
             expected: "cycle", status: 2,
             prepare: { folder in
                 let fm = FileManager.default
                 try fm.createDirectory(atPath: folder + "/store/aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa-a", withIntermediateDirectories: true)
                 try fm.createDirectory(atPath: folder + "/store/bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb-b", withIntermediateDirectories: true)
                 try "uses /nix/store/bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb-b".write(toFile: folder + "/store/aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa-a/f", atomically: true, encoding: .utf8)
                 try "uses /nix/store/aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa-a".write(toFile: folder + "/store/bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb-b/f", atomically: true, encoding: .utf8)
             }),
        Case(name: "maxLayers too small for the base image", spec: #"{"name": "x", "store": "\#(store)", "contents": ["\#(hello)"], "fromImage": "\#(CLI.repositoryRoot)/Corpus/base/base.tar", "maxLayers": 4}"#,
             expected: "key \"maxLayers\" is 4, too small for 3 base layers", status: 2),
        Case(name: "a file/directory clash in contents", spec: #"{"name": "x", "store": "store", "contents": ["aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa-a", "bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb-b"]}"#,
             expected: "bin", status: 1,
             prepare: { folder in
                 let fm = FileManager.default
                 try fm.createDirectory(atPath: folder + "/store/aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa-a/bin", withIntermediateDirectories: true)
                 try fm.createDirectory(atPath: folder + "/store/bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb-b", withIntermediateDirectories: true)
                 try "x".write(toFile: folder + "/store/bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb-b/bin", atomically: true, encoding: .utf8)
             }),
        Case(name: "a store symlink pointing outside the store", spec: #"{"name": "x", "store": "store", "contents": ["aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa-a"]}"#,
             expected: "outside the store", status: 1,
             prepare: { folder in
                 let fm = FileManager.default
                 try fm.createDirectory(atPath: folder + "/store/aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa-a", withIntermediateDirectories: true)
                 try fm.createSymbolicLink(atPath: folder + "/store/aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa-a/etc", withDestinationPath: "/etc")
             }),
        Case(name: "a failing command", spec: #"{"name": "x", "store": "\#(store)", "contents": ["\#(hello)"], "extraCommands": "echo doomed >&2; exit 3"}"#,
             expected: "extraCommands", status: 1),
        Case(name: "NaN inside config", spec: #"{"name": "x", "store": "\#(store)", "config": {"Labels": {"x": NaN}}}"#,
             expected: "config.Labels.x is NaN or infinite", status: 2),
        Case(name: "a number beyond a double inside config", spec: #"{"name": "x", "store": "\#(store)", "config": {"Cmd": ["sh", 1e400]}}"#,
             expected: "config.Cmd[1] is NaN or infinite", status: 2),
        Case(name: "a duplicate key deep in config", spec: #"{"name": "x", "store": "\#(store)", "config": {"Labels": {"a": "1", "a": "2"}}}"#,
             expected: #"spec.json: invalid JSON at line 1, column "#, status: 2),
        Case(name: "a duplicate key names the key and where it is", spec: #"{"name": "x", "config": {"Labels": {"a": "1", "a": "2"}}}"#,
             expected: #"invalid JSON at line 1, column 47: duplicate key "a" in config.Labels"#, status: 2),
        Case(name: "a name that is not a valid reference", spec: #"{"name": "my image", "store": "\#(store)"}"#,
             expected: #"key name "my image" is not a valid image reference: the repository name may not contain spaces"#, status: 2),
        Case(name: "a graph file that is not JSON", spec: #"{"name": "x", "store": "\#(store)", "contents": ["\#(hello)"], "graph": "graph.json"}"#,
             expected: "graph.json: The reference graph JSON is malformed", status: 2,
             prepare: { folder in try "not json".write(toFile: folder + "/graph.json", atomically: true, encoding: .utf8) }),
        Case(name: "a graph path that is a directory", spec: #"{"name": "x", "store": "\#(store)", "contents": ["\#(hello)"], "graph": "graphs"}"#,
             expected: "graphs is a directory, not a reference graph", status: 2,
             prepare: { folder in try FileManager.default.createDirectory(atPath: folder + "/graphs", withIntermediateDirectories: true) }),
    ]

    @Test("a spec path that is a directory or a device says what it is", arguments: ["directory", "device"])
    func notAFile(kind: String) throws {
        let folder = try CLI.temporaryDirectory("not-a-file")
        defer { try? FileManager.default.removeItem(atPath: folder) }
        let spec = kind == "directory" ? folder + "/specs" : "/dev/zero"
        if kind == "directory" { try FileManager.default.createDirectory(atPath: spec, withIntermediateDirectories: true) }
        let expected = kind == "directory" ? "\(spec) is a directory, not a spec file" : "/dev/zero is a character device, not a spec file"
        for arguments in [["build", spec, "-o", folder + "/image.tar"], ["plan", spec]] {
            let result = try CLI.run(arguments)
            #expect(result.status == 2, "\(result.stderr)")
            #expect(result.stderr == "repro-check: \(expected)\n")
        }
        #expect(!FileManager.default.fileExists(atPath: folder + "/image.tar"))
    }

    @Test("a spec read from a FIFO builds like one read from a file")
    func fifoSpec() throws {
        let folder = try CLI.temporaryDirectory("fifo")
        defer { try? FileManager.default.removeItem(atPath: folder) }
        let fifo = folder + "/spec.fifo"
        #expect(mkfifo(fifo, 0o600) == 0)
        let writer = Thread {
            let handle = FileHandle(forWritingAtPath: fifo)
            handle?.write(Data(#"{"name": "piped", "tag": "t", "store": "\#(Self.store)", "contents": ["\#(Self.hello)"]}"#.utf8))
            try? handle?.close()
        }
        writer.start()
        let result = try CLI.run(["build", fifo, "-o", folder + "/image.tar"])
        #expect(result.status == 0, "\(result.stderr)")
        let manifest = try Shell.check("tar", ["-xOf", folder + "/image.tar", "manifest.json"])
        #expect(manifest.contains("piped:t"))
    }

    @Test("a repo tag given on the command line must be a valid reference")
    func badRepoTagOption() throws {
        let folder = try CLI.temporaryDirectory("repo-tag")
        defer { try? FileManager.default.removeItem(atPath: folder) }
        try #"{"name": "x", "store": "\#(Self.store)", "contents": ["\#(Self.hello)"]}"#.write(toFile: folder + "/spec.json", atomically: true, encoding: .utf8)
        let result = try CLI.run(["build", folder + "/spec.json", "--repo-tag", "my image:with/bad chars", "-o", folder + "/image.tar"])
        #expect(result.status == 2)
        #expect(result.stderr == "repro-check: --repo-tag \"my image:with/bad chars\" is not a valid image reference: an image reference may not contain spaces\n")
        #expect(!FileManager.default.fileExists(atPath: folder + "/image.tar"))
    }

    @Test(
        "output cut short by its reader ends quietly with SIGPIPE's status",
        arguments: [("build SPEC", "head -c 100"), ("plan --graph GRAPH", "head -c 100")]
    )
    func closedStdout(command: String, reader: String) throws {
        let folder = try CLI.temporaryDirectory("epipe")
        defer { try? FileManager.default.removeItem(atPath: folder) }
        try #"{"name": "x", "tag": "t", "store": "\#(Self.store)", "contents": ["\#(Self.hello)", "\#(Self.coreutils)"]}"#
            .write(toFile: folder + "/spec.json", atomically: true, encoding: .utf8)
        // Enough output to fill a pipe: 5,000 unrelated paths.
        let graph = (0..<5000).map { #"{"path": "/nix/store/\#(String(format: "%032d", $0))-p", "references": []}"# }
        try ("[" + graph.joined(separator: ",") + "]").write(toFile: folder + "/graph.json", atomically: true, encoding: .utf8)
        let arguments = command
            .replacingOccurrences(of: "SPEC", with: folder + "/spec.json")
            .replacingOccurrences(of: "GRAPH", with: folder + "/graph.json")
        let status = try Shell.check("bash", ["-c", "'\(CLI.binary)' \(arguments) 2>'\(folder)/stderr' | \(reader) >/dev/null; echo ${PIPESTATUS[0]}"])
        #expect(try String(contentsOfFile: folder + "/stderr", encoding: .utf8) == "", "\(command)")
        #expect(status == "141\n", "\(command)")
    }

    /// Deeper than PATH_MAX allows a path to name (3,000 × 2 bytes), so every step must work
    /// through descriptors; `StoreWalkTests` walks 10,000 levels, which this CLI build also
    /// passes but which costs a minute of tar names in a debug build.
    @Test("builds a store path and a customisation root deeper than PATH_MAX")
    func deepTrees() throws {
        let folder = try CLI.temporaryDirectory("deep")
        defer { _ = try? Shell.check("rm", ["-rf", folder]) }
        let path = String(repeating: "d", count: 32) + "-deep"
        try FileManager.default.createDirectory(atPath: folder + "/store/" + path, withIntermediateDirectories: true)
        try FileManager.default.createDirectory(atPath: folder + "/tmp", withIntermediateDirectories: true)
        let perl = #"chdir $ARGV[0] or die; for (1..3000) { mkdir "d" or die; chdir "d" or die } open(F, ">file") or die; close F"#
        _ = try Shell.check("perl", ["-e", perl, folder + "/store/" + path])
        try #"""
        {"name": "deep", "tag": "t", "store": "store", "config": {"Cmd": ["/nix/store/\#(path)/file"]},
         "extraCommands": "perl -e 'for (1..3000) { mkdir \"d\" or die; chdir \"d\" or die } open(F, \">file\") or die'"}
        """#.write(toFile: folder + "/spec.json", atomically: true, encoding: .utf8)
        // The work directory goes inside the test's folder, which `rm -rf` removes however deep.
        var environment = ProcessInfo.processInfo.environment
        environment["TMPDIR"] = folder + "/tmp"
        let result = try CLI.run(["build", folder + "/spec.json", "-o", folder + "/image.tar"], environment: environment)
        #expect(result.status == 0, "\(result.stderr)")
        let deepest = try Shell.check("bash", ["-c", """
            cd '\(folder)' && for layer in $(tar -tf image.tar | grep layer.tar); do tar -xOf image.tar "$layer" | tar -tf - | grep -c '/d/file$'; done
            """])
        #expect(deepest == "1\n1\n", "one deepest file in the store layer and one in the customisation layer")
    }

    @Test("a broken spec fails with one clear line and leaves no output", arguments: cases)
    func broken(_ badCase: Case) throws {
        let folder = try CLI.temporaryDirectory("spec")
        defer { try? FileManager.default.removeItem(atPath: folder) }
        try badCase.prepare(folder)
        try badCase.spec.write(toFile: folder + "/spec.json", atomically: true, encoding: .utf8)
        let result = try CLI.run(["build", folder + "/spec.json", "-o", folder + "/image.tar"])
        #expect(result.status == badCase.status, "\(badCase.name): \(result.stderr)")
        #expect(result.stderr.split(separator: "\n").count == 1, "\(result.stderr)")
        #expect(result.stderr.contains(badCase.expected), "\(result.stderr)")
        #expect(!FileManager.default.fileExists(atPath: folder + "/image.tar"))
    }

    @Test("a failing command reports its exit status and the tail of its stderr")
    func failingCommand() throws {
        let folder = try CLI.temporaryDirectory("cmd")
        defer { try? FileManager.default.removeItem(atPath: folder) }
        try #"{"name": "x", "store": "\#(Self.store)", "extraCommands": "echo doomed >&2; exit 3"}"#
            .write(toFile: folder + "/spec.json", atomically: true, encoding: .utf8)
        let result = try CLI.run(["build", folder + "/spec.json", "-o", folder + "/image.tar"])
        #expect(result.status == 1)
        #expect(result.stderr.contains("3") && result.stderr.contains("doomed"), "\(result.stderr)")
    }

    @Test("a content clash keeps the first file and warns")
    func clashWarning() throws {
        let folder = try CLI.temporaryDirectory("clash")
        defer { try? FileManager.default.removeItem(atPath: folder) }
        let fm = FileManager.default
        for name in ["aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa-a", "bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb-b"] {
            try fm.createDirectory(atPath: folder + "/store/\(name)/bin", withIntermediateDirectories: true)
            try name.write(toFile: folder + "/store/\(name)/bin/tool", atomically: true, encoding: .utf8)
        }
        try #"{"name": "x", "contents": ["aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa-a", "bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb-b"]}"#
            .write(toFile: folder + "/spec.json", atomically: true, encoding: .utf8)
        let result = try CLI.run(["build", folder + "/spec.json", "-o", folder + "/image.tar"])
        #expect(result.status == 0, "\(result.stderr)")
        #expect(result.stderr.contains("warning"), "\(result.stderr)")
        let listing = try Shell.check("tar", ["-xOf", folder + "/image.tar", "manifest.json"])
        #expect(listing.contains("x:"))
    }

    @Test("plan prints the store layers as JSON and nothing else")
    func planOutput() throws {
        let result = try CLI.run(["plan", CLI.repositoryRoot + "/Corpus/cmd-only-reference/spec.json"])
        #expect(result.status == 0, "\(result.stderr)")
        let layers = try JSONSerialization.jsonObject(with: result.stdout) as? [[String]]
        #expect(layers?.count == 3)
        #expect(layers?.last?.first?.hasSuffix("-entrypoint-1.0") == true)
    }
}
