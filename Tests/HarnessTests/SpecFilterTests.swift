import Foundation
import Testing

@testable import Harness

@Suite("Spec folders and --filter")
struct SpecFilterTests {
    /// `corpus/alpha/{spec,graph,checks}.json`, `corpus/Beta/spec.json`, `corpus/loose.json`.
    static func corpus() throws -> String {
        let root = NSTemporaryDirectory() + "repro-check-filter-\(UUID().uuidString)"
        for folder in ["alpha", "Beta"] {
            try FileManager.default.createDirectory(atPath: "\(root)/\(folder)", withIntermediateDirectories: true)
        }
        let files = [
            "alpha/spec.json": #"{"name": "first-image"}"#, "alpha/graph.json": "[]", "alpha/checks.json": "{}",
            "Beta/spec.json": #"{"name": "second-image"}"#, "loose.json": #"{"name": "third-image"}"#,
        ]
        for (file, text) in files { try Data(text.utf8).write(to: URL(fileURLWithPath: "\(root)/\(file)")) }
        return root
    }

    @Test("a folder holding spec.json is one spec: its other JSON files are inputs, not specs")
    func specFolder() throws {
        let root = try Self.corpus()
        defer { try? FileManager.default.removeItem(atPath: root) }
        #expect(try SpecDiscovery.find(["\(root)/alpha"]) == ["\(root)/alpha/spec.json"])
        #expect(try SpecDiscovery.find(["\(root)/alpha/"]) == ["\(root)/alpha/spec.json"])
        #expect(try SpecDiscovery.find([root]) == ["\(root)/Beta/spec.json", "\(root)/alpha/spec.json", "\(root)/loose.json"])
    }

    @Test("--filter keeps specs whose name or path matches, before sharding")
    func filter() throws {
        let root = try Self.corpus()
        defer { try? FileManager.default.removeItem(atPath: root) }
        #expect(try SpecDiscovery.find([root], filter: SpecFilter(patterns: ["second"])) == ["\(root)/Beta/spec.json"])
        #expect(try SpecDiscovery.find([root], filter: SpecFilter(patterns: ["alpha/"])) == ["\(root)/alpha/spec.json"])
        #expect(
            try SpecDiscovery.find([root], filter: SpecFilter(patterns: ["^third", "first"]))
                == ["\(root)/alpha/spec.json", "\(root)/loose.json"])
        let filter = try SpecFilter(patterns: ["-image$"])
        #expect(try SpecDiscovery.find([root], filter: filter, shard: Shard(parsing: "2/2")) == ["\(root)/alpha/spec.json"])
    }

    @Test("a filter that matches nothing, or is no regular expression, is a usage error naming it")
    func badFilters() throws {
        let root = try Self.corpus()
        defer { try? FileManager.default.removeItem(atPath: root) }
        #expect(throws: DiscoveryError.noMatch(patterns: ["nothing"])) {
            try SpecDiscovery.find([root], filter: SpecFilter(patterns: ["nothing"]))
        }
        #expect(throws: DiscoveryError.badFilter(pattern: "(")) { try SpecFilter(patterns: ["("]) }
        #expect(DiscoveryError.badFilter(pattern: "(").description == #"--filter "(" is not a valid regular expression"#)
    }
}
