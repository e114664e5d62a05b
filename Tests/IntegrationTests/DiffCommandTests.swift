import Foundation
import Testing

/// `repro-check diff` on two images built by `repro-check build`: causes first, in words.
@Suite("diff command")
struct DiffCommandTests {
    static let lib = "0b5bjzv8jr9y8m07w0glgrkxsj8njwkx-lib-1.0"
    static let conf = "1c9xbjzv8jr9y8m07w0glgrkxsj8njwk-conf-1.0"

    /// Three store layers; the experiment reorders the first two and changes one line of a text file.
    static func build(_ fixture: inout ConfFixture, layers: [String], hostLine: String, output: String) throws {
        let fm = FileManager.default
        try fm.createDirectory(atPath: fixture.store + "/" + Self.lib, withIntermediateDirectories: true)
        try Data("library\n".utf8).write(to: URL(fileURLWithPath: fixture.store + "/" + Self.lib + "/lib.txt"))
        try fm.createDirectory(atPath: fixture.store + "/" + Self.conf, withIntermediateDirectories: true)
        let text = (1...8).map { $0 == 5 ? hostLine : "line \($0)" }.joined(separator: "\n") + "\n"
        let file = fixture.store + "/" + Self.conf + "/app.conf"
        try Data(text.utf8).write(to: URL(fileURLWithPath: file))
        fixture.conf["store_layers"] = layers.map { [fixture.store + "/" + $0] }
        let result = try CLI.run(["build", "--nixpkgs-conf", try fixture.write(), "-o", output])
        #expect(result.status == 0, "\(result.stderr)")
    }

    @Test("shows a one-line text change as a unified diff and pairs reordered layers by content")
    func textAndReorder() throws {
        var fixture = try ConfFixture(label: "diff")
        defer { fixture.remove() }
        let control = fixture.root + "/control.tar", experiment = fixture.root + "/experiment.tar"
        try Self.build(&fixture, layers: [ConfFixture.hello, Self.lib, Self.conf], hostLine: "host=vm", output: control)
        try Self.build(&fixture, layers: [Self.lib, ConfFixture.hello, Self.conf], hostLine: "host=reprotest-capture-host", output: experiment)

        let text = try CLI.run(["diff", control, experiment])
        #expect(text.status == 1, "\(text.stderr)")
        let out = String(decoding: text.stdout, as: UTF8.self)
        let lines = out.split(separator: "\n").map(String.init)
        #expect(lines.contains("    -host=vm"), "\(out)")
        #expect(lines.contains("    +host=reprotest-capture-host"), "\(out)")
        #expect(lines.contains("     line 4"), "context around the change: \(out)")
        #expect(out.contains("same layers, different order") || out.contains("shared layers in a different order"), "\(out)")
        #expect(!out.contains("only in"), "a moved layer is the same layer: \(out)")
        // Causes first: the consequences are one last line.
        let follows = lines.firstIndex { $0.contains("follows from the above") }
        let content = lines.firstIndex { $0.contains("content differs") }
        #expect(follows == lines.count - 1 && content != nil, "\(out)")
        #expect(lines.last?.contains("config rootfs.diff_ids") == true && lines.last?.contains("manifest Layers") == true, "\(out)")
        #expect(!out.contains("rootfs.diff_ids["), "diff_ids only restate the layers: \(out)")

        let json = try CLI.run(["diff", "--json", control, experiment])
        #expect(json.status == 1)
        let array = try #require(try JSONSerialization.jsonObject(with: json.stdout) as? [[String: Any]])
        let entry = try #require(array.first { $0["kind"] as? String == "entry-content" })
        #expect(entry["path"] as? String == "nix/store/\(Self.conf)/app.conf" || (entry["path"] as? String)?.hasSuffix("/app.conf") == true)
        let diffLines = try #require(entry["lines"] as? [[String: String]])
        #expect(diffLines.contains { $0["kind"] == "removed" && $0["text"] == "host=vm" })
        #expect(diffLines.contains { $0["kind"] == "added" && $0["text"] == "host=reprotest-capture-host" })
        #expect(array.last?["kind"] as? String == "derived")
    }
}
