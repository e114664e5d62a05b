import Builder
import Foundation
import Testing

/// Byte-for-byte agreement with nixpkgs' stream_layered_image.py: each fixture's digest was
/// produced by the reference script on the same store.
@Suite("Reference archives")
struct ReferenceArchiveTests {
    static let cases: [String] = ((try? FileManager.default.contentsOfDirectory(atPath: TestPaths.writerFixtures)) ?? []).sorted()

    @Test("the fixture set is present")
    func fixturesPresent() {
        #expect(Self.cases.count >= 12)
    }

    @Test("writes the same bytes as the reference script", arguments: cases)
    func matchesReference(_ name: String) throws {
        let built = try Self.build(name)
        #expect(built.digest.hex == built.expected.sha256, "archive digest for \(name)")
        #expect(built.size == built.expected.size, "archive size for \(name)")
        #expect(built.result.configDigest.hex == built.expected.configDigest, "config digest for \(name)")
    }

    @Test("building twice gives identical bytes")
    func deterministic() throws {
        let first = try Self.build("many-layers")
        let second = try Self.build("many-layers")
        #expect(first.digest == second.digest)
    }

    struct Expected {
        var sha256: String
        var size: UInt64
        var configDigest: String
    }

    struct Built {
        var digest: Digest
        var size: UInt64
        var result: ImageArchiveResult
        var expected: Expected
    }

    static func build(_ name: String, output: String? = nil) throws -> Built {
        let temporary = try FixtureStore.temporaryDirectory(name)
        defer { FixtureStore.remove(temporary) }
        let (plan, fixture) = try Self.plan(name, under: temporary)
        let sink = TeeHashingSink(OptionalFileSink(path: output))
        let (result, finished) = try ImageArchiveWriter(plan: plan).write(to: sink)
        let (digest, size) = finished.hashing.finalize()
        var expectedSize: UInt64 = 0
        if case let .integer(digits)? = fixture["size"] { expectedSize = UInt64(digits) ?? 0 }
        let expected = Expected(
            sha256: fixture["sha256"]?.stringValue ?? "",
            size: expectedSize,
            configDigest: fixture["config_digest"]?.stringValue ?? ""
        )
        return Built(digest: digest, size: size, result: result, expected: expected)
    }

    /// A writer fixture's plan, with its store materialised under `temporary` (which the caller
    /// removes), and the fixture's JSON.
    static func plan(_ name: String, under temporary: String) throws -> (ImagePlan, JSONObject) {
        let caseDirectory = TestPaths.writerFixtures + "/" + name
        let fixture = try #require(try JSONParser.parse(Array(try Data(contentsOf: URL(fileURLWithPath: caseDirectory + "/fixture.json")))).objectValue)
        try FixtureStore.materialise(fixture["store"]?.arrayValue ?? [], under: temporary + "/nix/store")

        // The customisation layer's own mode is part of its outer header: pin it as Nix does.
        let customisation = temporary + "/customisation"
        try FileManager.default.copyItem(atPath: caseDirectory + "/customisation", toPath: customisation)
        chmod(customisation + "/layer.tar", 0o444)

        var conf = try #require(fixture["conf"]?.objectValue)
        conf["customisation_layer"] = .string(customisation)
        if let base = conf["from_image"]?.stringValue { conf["from_image"] = .string(caseDirectory + "/" + base) }
        let decoded = try NixpkgsConf.decode(PythonJSON.dumps(.object(conf)), file: "\(name)/fixture.json")
        let plan = try decoded.plan(
            file: name, hostPrefix: temporary,
            customisationHistoryLabel: fixture["oracle_customisation_layer"]?.stringValue
        )
        return (plan, fixture)
    }
}

/// Writes to a file when a path is given (to inspect a failing case), else discards.
struct OptionalFileSink: ByteSink {
    var handle: FileHandle?

    init(path: String?) {
        if let path {
            _ = FileManager.default.createFile(atPath: path, contents: nil)
            handle = FileHandle(forWritingAtPath: path)
        }
    }

    mutating func write(_ bytes: UnsafeRawBufferPointer) throws { handle?.write(Data(bytes)) }
    mutating func flush() throws { try handle?.synchronize() }
}
