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
    ]

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
