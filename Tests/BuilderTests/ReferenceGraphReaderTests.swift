import Foundation
import Testing
@testable import Builder

@Suite("ReferenceGraphReader")
struct ReferenceGraphReaderTests {
    /// The direct reader's graph, nil when it hands the input on.
    private func direct(_ json: String) throws -> ReferenceGraph? {
        try Array(json.utf8).withUnsafeBufferPointer { try ReferenceGraphReader.read($0) }
    }

    /// What the general parser and the value-tree reader make of `bytes`.
    private func general(_ bytes: [UInt8]) -> Result<ReferenceGraph, LayeringError> {
        Result { () throws(LayeringError) in try ReferenceGraph(json: JSONValue.decodeLayeringInput(Data(bytes))) }
    }

    /// What `ReferenceGraph(json:)` gives, the direct reader first.
    private func viaPublicInit(_ bytes: [UInt8]) -> Result<ReferenceGraph, LayeringError> {
        Result { () throws(LayeringError) in try ReferenceGraph(json: Data(bytes)) }
    }

    @Test("reads what the general parser reads, for both shapes and every kind of ignored field")
    func agreesOnCoveredInput() throws {
        let documents = [
            "[]",
            "{}",
            " [ ] ",
            #"[{"path": "/nix/store/b-two", "references": ["/nix/store/a-one", "/nix/store/b-two"], "narSize": 7}, {"path": "/nix/store/a-one", "references": [], "narSize": null}]"#,
            // References to entries further on, paths out of order, every JSON kind in ignored fields.
            #"[{"narSize": 0, "references": ["/nix/store/z-last", "/nix/store/z-last"], "path": "/nix/store/m-mid", "closureSize": -12, "ultimate": true, "valid": false, "ca": null, "signatures": ["x", {"k": [1, [], {}]}]}, {"path": "/nix/store/z-last", "references": []}, {"path": "/nix/store/a-first", "references": ["/nix/store/m-mid"], "narSize": 18446744073709551615}]"#,
            // The path-info shape, base-name references, a `path` field that is ignored there.
            #"{"/nix/store/bbb-lib": {"references": [], "narSize": 4, "path": "/elsewhere"}, "/nix/store/aaa-app": {"references": ["/nix/store/aaa-app", "bbb-lib"], "narSize": 3}}"#,
            "[\n\t{\"path\":\"rel\",\"references\":[\"rel\"]}\r\n]",
        ]
        for document in documents {
            let graph = try direct(document)
            #expect(graph != nil, "\(document)")
            #expect(graph.map { .success($0) } == general(Array(document.utf8)), "\(document)")
        }
    }

    @Test("hands escapes, floats, repeats, unknown references and syntax errors to the general parser")
    func handsOnIrregularInput() throws {
        let documents = [
            "", "   ", "null", "\"text\"", "[", "[{}]", "[1]", "[] []", "[],", "{\"a\" {}}",
            #"[{"path": "/nix/store/\u0061", "references": []}]"#,
            #"[{"path": "/nix/store/é", "references": []}]"#,
            #"[{"path": "/nix/store/a", "references": [], "narSize": 1.0}]"#,
            #"[{"path": "/nix/store/a", "references": [], "narSize": 1e3}]"#,
            #"[{"path": "/nix/store/a", "references": [], "narSize": -1}]"#,
            #"[{"path": "/nix/store/a", "references": [], "narSize": -0}]"#,
            #"[{"path": "/nix/store/a", "references": [], "narSize": 18446744073709551616}]"#,
            #"[{"path": "/nix/store/a", "references": [], "narSize": 012}]"#,
            #"[{"path": "/nix/store/a", "references": [], "narSize": NaN}]"#,
            #"[{"path": "/nix/store/a", "references": [], "narSize": "1"}]"#,
            #"[{"path": "/nix/store/a", "references": [], "x": Infinity}]"#,
            #"[{"path": "/nix/store/a", "references": [], "x": -Infinity}]"#,
            #"[{"path": "/nix/store/a", "references": [], "x": tru}]"#,
            #"[{"path": "/nix/store/a", "path": "/nix/store/a", "references": []}]"#,
            #"[{"path": "/nix/store/a", "references": [], "references": []}]"#,
            #"[{"path": "/nix/store/a", "references": [], "narSize": 1, "narSize": 2}]"#,
            #"[{"path": "/nix/store/a", "references": []}, {"path": "/nix/store/a", "references": []}]"#,
            #"{"/nix/store/a": {"references": []}, "/nix/store/a": {"references": ["/nix/store/b"]}}"#,
            #"[{"path": "/nix/store/a", "references": ["/nix/store/gone"]}]"#,
            #"[{"path": "/nix/store/a"}]"#,
            #"[{"references": []}]"#,
            #"[{"path": null, "references": []}]"#,
            #"{"/nix/store/a": {"references": "x"}}"#,
            #"{"/nix/store/a": []}"#,
            "[{\"path\": \"/nix/store/a\", \"references\": [], \"x\": \"tab\there\"}]",
            "[{\"path\": \"/nix/store/a\", \"references\": [], \"x\": " + String(repeating: "[", count: 40) + String(repeating: "]", count: 40) + "}]",
        ]
        for document in documents {
            #expect(try direct(document) == nil, "\(document)")
            #expect(viaPublicInit(Array(document.utf8)) == general(Array(document.utf8)), "\(document)")
        }
    }

    @Test("gives the general reader's cycle error for a cyclic graph it read itself")
    func cycle() throws {
        let document = #"[{"path": "/nix/store/a", "references": ["/nix/store/b"]}, {"path": "/nix/store/b", "references": ["/nix/store/a"]}]"#
        #expect(throws: LayeringError.cycle("/nix/store/a", "/nix/store/b")) { try direct(document) }
        #expect(viaPublicInit(Array(document.utf8)) == general(Array(document.utf8)))
    }

    @Test("reads generated graphs of both shapes exactly as the general parser does")
    func generatedGraphs() throws {
        var generator = LCG(seed: 10)
        for round in 0..<12 {
            let nodes = generatedNodes(count: 200, maxReferences: 5, window: 30, generator: &generator)
            // Sorted as Nix writes them, or permuted, so the reader's sort runs too.
            let ordered = round % 3 == 0
                ? nodes.sorted { ReferenceGraph.precedes($0.path, $1.path) }
                : nodes.indices.map { nodes[($0 * 7919 + round) % nodes.count] }
            for document in [Self.exportDocument(ordered), Self.pathInfoDocument(ordered)] {
                let graph = try direct(document)
                #expect(graph != nil)
                #expect(graph.map { .success($0) } == general(Array(document.utf8)))
            }
        }
    }

    @Test("agrees with the general parser on thousands of damaged documents")
    func damagedDocuments() throws {
        var generator = LCG(seed: 4242)
        let nodes = generatedNodes(count: 12, maxReferences: 3, window: 5, generator: &generator)
        let originals = [Self.exportDocument(nodes), Self.pathInfoDocument(nodes)].map { Array($0.utf8) }
        // Bytes that matter to JSON's structure, so damage often still parses.
        let alphabet = Array("{}[],:\" \\-0123456789.eEnulltruefalse/abc\u{7F}".utf8) + [0x00, 0x0A, 0xC3, 0xA9, 0xFF]
        var handedOn = 0, agreed = 0
        for round in 0..<3000 {
            var bytes = originals[round % 2]
            for _ in 0...generator.next(3) {
                let position = generator.next(bytes.count)
                switch generator.next(3) {
                case 0: bytes[position] = alphabet[generator.next(alphabet.count)]
                case 1: bytes.insert(alphabet[generator.next(alphabet.count)], at: position)
                default: bytes.remove(at: position)
                }
                if bytes.isEmpty { bytes = [0x20] }
            }
            let expected = general(bytes)
            #expect(viaPublicInit(bytes) == expected)
            if (try? bytes.withUnsafeBufferPointer { try ReferenceGraphReader.read($0) }) == nil { handedOn += 1 } else { agreed += 1 }
        }
        // Both routes were taken, so the comparison covered the reader's own results.
        #expect(handedOn > 100 && agreed > 100)
    }

    @Test("interns byte strings to stable ids and tells them apart by every byte")
    func byteStringTable() {
        var table = ByteStringTable()
        var ids: [Int] = []
        let words = (0..<1000).map { "/nix/store/\($0 % 7)-\($0)" } + ["", "a", "ab", "/nix/store/0-0"]
        for word in words {
            ids.append(Array(word.utf8).withUnsafeBufferPointer { table.intern($0) })
        }
        #expect(ids[0..<1000] == ArraySlice(0..<1000))
        #expect(ids[1000..<1003] == [1000, 1001, 1002])
        #expect(ids[1003] == 0)
        #expect(table.count == 1003)
        table.withKeys { keys in
            #expect(keys.string(5) == "/nix/store/5-5")
            #expect(keys.string(1000) == "")
            #expect(keys.precedes(1001, 1002) && !keys.precedes(1002, 1001) && keys.precedes(1000, 1001))
        }
    }

    static func exportDocument(_ nodes: [ReferenceGraph.Node]) -> String {
        "[" + nodes.map { node in
            let size = node.narSize.map { ", \"narSize\": \($0)" } ?? ""
            return "{\"path\": \"\(node.path)\", \"references\": [\(node.references.map { "\"\($0)\"" }.joined(separator: ", "))]\(size), \"closureSize\": 1}"
        }.joined(separator: ",\n") + "]"
    }

    /// The path-info shape, references given as base names as newer Nix writes them.
    static func pathInfoDocument(_ nodes: [ReferenceGraph.Node]) -> String {
        "{" + nodes.map { node in
            let size = node.narSize.map { ", \"narSize\": \($0)" } ?? ""
            let references = node.references.map { "\"\($0.split(separator: "/").last ?? "")\"" }
            return "\"\(node.path)\": {\"references\": [\(references.joined(separator: ", "))]\(size), \"valid\": true}"
        }.joined(separator: ",\n") + "}"
    }
}
