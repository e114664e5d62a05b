import Builder
import Foundation
import Harness
import Testing

/// `check --format/--compression` and a spec's `expectDigest`, with the real builder: the gate
/// checks what is pushed, and a rebuild that misses its pin fails naming what changed.
@Suite("check formats and pins", .serialized)
struct CheckFormatTests {
    /// A copy of two corpus store paths and a spec over them, so a test may pin it and change it.
    struct PinnedSpec {
        let root: String
        static let hello = "dhcb9jz9r22yrwjj82la99bbl6chybxm-hello-2.12.1"
        static let app = "1x49s6z22yvv7q1772wn3jmjaklkmd7s-app-1.0"

        init(label: String) throws {
            root = try CLI.temporaryDirectory(label)
            let fm = FileManager.default
            try fm.createDirectory(atPath: root + "/store", withIntermediateDirectories: true)
            try fm.createDirectory(atPath: root + "/pinned", withIntermediateDirectories: true)
            for name in [Self.hello, Self.app] {
                try fm.copyItem(atPath: CLI.repositoryRoot + "/Corpus/store/" + name, toPath: root + "/store/" + name)
            }
            try write(pin: nil)
        }

        var spec: String { root + "/pinned/spec.json" }
        var database: String { root + "/repro.sqlite" }

        func write(pin: String?) throws {
            var spec: [String: Any] = [
                "name": "pinned", "tag": "1.0", "store": "../store", "architecture": "amd64",
                "contents": [Self.hello, Self.app], "maxLayers": 3,
            ]
            if let pin { spec["expectDigest"] = pin }
            try JSONSerialization.data(withJSONObject: spec, options: [.sortedKeys]).write(to: URL(fileURLWithPath: self.spec))
        }

        func check(_ extra: [String]) throws -> CLI.Output {
            try CLI.run(["check", spec, "--db", database, "--vary=@none,+umask"] + extra)
        }

        func summary(_ path: String) throws -> JSONSummary.Document {
            try JSONDecoder().decode(JSONSummary.Document.self, from: Data(contentsOf: URL(fileURLWithPath: path)))
        }

        func remove() { try? FileManager.default.removeItem(atPath: root) }
    }

    @Test("check --format oci-archive --compression zstd records the archive and manifest digests build writes")
    func ociArchiveDigests() throws {
        let fixture = try PinnedSpec(label: "check-oci")
        defer { fixture.remove() }
        let format = ["--format", "oci-archive", "--compression", "zstd"]
        let build = try CLI.run(["build", fixture.spec, "-o", fixture.root + "/image.tar", "--digest-file", fixture.root + "/digest"] + format)
        #expect(build.status == 0, "\(build.stderr)")
        let manifestDigest = try String(contentsOfFile: fixture.root + "/digest", encoding: .utf8)
            .trimmingCharacters(in: .whitespacesAndNewlines)
        let archiveDigest = Digest.of(try Data(contentsOf: URL(fileURLWithPath: fixture.root + "/image.tar")))

        let json = fixture.root + "/summary.json"
        let check = try fixture.check(format + ["--json", json])
        #expect(check.status == 0, "\(check.stderr)")
        let spec = try #require(try fixture.summary(json).specs.first)
        #expect(spec.outcome == .reproducible, "\(spec.explanation)")
        for build in spec.builds {
            #expect(build.manifestDigest?.description == manifestDigest, "\(build.role)")
            #expect(build.archiveDigest == archiveDigest, "\(build.role)")
            #expect(build.format == .ociArchive && build.compression == .zstd, "\(build.role)")
        }

        let database = try ResultsDatabase(path: fixture.database)
        let runID = try #require(try database.runs().last?.id)
        let control = try #require(try database.specResults(runID: runID).first?.builds.first { $0.role == .control })
        #expect(control.format == .ociArchive)
        #expect(control.compression == .zstd)
        #expect(control.manifestDigest?.description == manifestDigest)
        #expect(control.compressorVersions == CompressorVersions.linked.description)

        // Each layer's blob, as skopeo reads the manifest of the archive build wrote.
        let raw = try Shell.check("skopeo", ["inspect", "--raw", "oci-archive:\(fixture.root)/image.tar"])
        let manifest = try #require(try JSONSerialization.jsonObject(with: Data(raw.utf8)) as? [String: Any])
        let descriptors = try #require(manifest["layers"] as? [[String: Any]])
        #expect(control.layers.map { $0.blob?.digest.description } == descriptors.map { $0["digest"] as? String })
        #expect(control.layers.map { $0.blob?.size } == descriptors.map { ($0["size"] as? Int).map(UInt64.init) })
        let zstd = CompressorVersions.linked.zstd
        #expect(control.layers.allSatisfy { $0.blob?.compression == .zstd && $0.blob?.compressorVersion == "zstd \(zstd)" })
        #expect(control.layers.allSatisfy { $0.blob?.mediaType == "application/vnd.oci.image.layer.v1.tar+zstd" })
        let summaryLayers = try #require(spec.builds.first { $0.role == .control }?.layers)
        #expect(summaryLayers.map(\.compressedDigest) == control.layers.map { $0.blob?.digest })
        // The diff_ids are the config's, the same as a docker-archive's.
        let config = try Shell.check("skopeo", ["inspect", "--config", "oci-archive:\(fixture.root)/image.tar"])
        let rootfs = try #require(try JSONSerialization.jsonObject(with: Data(config.utf8)) as? [String: Any])["rootfs"] as? [String: Any]
        #expect(control.layers.map(\.diffID.description) == (rootfs?["diff_ids"] as? [String] ?? []))
        #expect(control.layers.contains { $0.paths.contains { $0.hasSuffix(PinnedSpec.hello) } })
    }

    @Test("check --format dual records both views' layers, and a rebuild pinned to a gzip manifest names each layer whose compression changed")
    func dualAndCompressionPin() throws {
        let fixture = try PinnedSpec(label: "check-dual")
        defer { fixture.remove() }
        let first = fixture.root + "/first.json"
        let recorded = try fixture.check(["--format", "dual", "--json", first])
        #expect(recorded.status == 0, "\(recorded.stderr)")
        let control = try #require(try fixture.summary(first).specs.first?.builds.first { $0.role == .control })
        let pinned = try #require(control.manifestDigest)
        #expect(control.format == .dual && control.layers.count >= 2)
        #expect(control.layers.allSatisfy { $0.compression == .gzip && $0.compressorVersion == "zlib \(CompressorVersions.linked.zlib)" })

        // The same spec pinned to its gzip manifest, checked with zstd: same content, other blobs.
        try fixture.write(pin: pinned.description)
        let second = fixture.root + "/second.json"
        let failed = try fixture.check(["--format", "dual", "--compression", "zstd", "--json", second])
        #expect(failed.status == 1, "\(failed.stderr)")
        let spec = try #require(try fixture.summary(second).specs.first)
        let pin = try #require(spec.pin)
        #expect(pin.layerChanges.count == control.layers.count)
        #expect(pin.layerChanges.allSatisfy { $0.kind == .compression })
        let note = "(only its compression: same diff_id, compressed by zlib \(CompressorVersions.linked.zlib) for the pin "
            + "and zstd \(CompressorVersions.linked.zstd) now)"
        #expect(pin.summary.contains("changed: layer 1 \(note)"), "\(pin.summary)")
        #expect(failed.stderr.contains(pin.summary), "\(failed.stderr)")
    }

    @Test("check with repeated --format and --compression builds and compares every output, each once, in a fixed order")
    func severalOutputs() throws {
        let fixture = try PinnedSpec(label: "check-outputs")
        defer { fixture.remove() }
        let outputs = ["--format", "oci-archive", "--compression", "zstd", "--format", "docker-archive", "--compression", "gzip",
                       "--format", "oci-archive"]
        let json = fixture.root + "/all.json"
        let all = try fixture.check(outputs + ["--json", json])
        #expect(all.status == 0, "\(all.stderr)")
        let document = try fixture.summary(json)
        let spec = try #require(document.specs.first)
        #expect(spec.outcome == .reproducible && spec.passed, "\(spec.explanation)")
        #expect(spec.builds.map { "\($0.output ?? "?") \($0.role)" } == [
            "docker-archive control", "docker-archive experiment", "oci-archive+gzip control", "oci-archive+gzip experiment",
            "oci-archive+zstd control", "oci-archive+zstd experiment",
        ])
        #expect(spec.explanation.hasPrefix("docker-archive: Reproducible"), "\(spec.explanation)")
        #expect(spec.explanation.contains("\noci-archive+zstd: Reproducible"), "\(spec.explanation)")
        #expect(document.run.options.objectValue?["outputs"] == .array(["docker-archive", "oci-archive+gzip", "oci-archive+zstd"]))
        // Each output is compared like with like: the docker-archive has no blobs, the OCI ones do.
        let docker = try #require(spec.builds.first)
        #expect(docker.layers.allSatisfy { $0.compressedDigest == nil })
        let zstd = try #require(spec.builds.first { $0.output == "oci-archive+zstd" })
        #expect(zstd.layers.allSatisfy { $0.compression == .zstd })

        // Pinned to the zstd manifest, the same outputs pass: one of them gives the pin.
        try fixture.write(pin: try #require(zstd.manifestDigest).description)
        let pinned = try fixture.check(outputs)
        #expect(pinned.status == 0, "\(pinned.stderr)")
        // Without the zstd output, the miss is charged to the output closest to the pinned build's.
        let missed = try fixture.check(["--format", "oci-archive", "--format", "docker-archive"])
        #expect(missed.status == 1, "\(missed.stderr)")
        #expect(missed.stderr.contains("but the oci-archive+gzip rebuild has manifest digest"), "\(missed.stderr)")
        #expect(missed.stderr.contains("changed: layer 1 (only its compression: same diff_id, compressed by zstd "), "\(missed.stderr)")

        let refused = try CLI.run(["check", fixture.spec, "--db", fixture.database, "--format", "docker-archive", "--compression", "zstd"])
        #expect(refused.status == 2 && refused.stderr.contains("--compression zstd needs an OCI --format"), "\(refused.stderr)")
    }

    @Test("a spec whose rebuild misses its expectDigest fails naming the pin; the right pin passes")
    func pins() throws {
        let fixture = try PinnedSpec(label: "check-pin")
        defer { fixture.remove() }
        let format = ["--format", "oci-archive"]
        let build = try CLI.run(["build", fixture.spec, "-o", "/dev/null", "--digest-file", fixture.root + "/digest"] + format)
        #expect(build.status == 0, "\(build.stderr)")
        let pinned = try String(contentsOfFile: fixture.root + "/digest", encoding: .utf8)
            .trimmingCharacters(in: .whitespacesAndNewlines)

        try fixture.write(pin: pinned)
        let right = try fixture.check(format)
        #expect(right.status == 0, "\(right.stderr)")

        let wrong = "sha256:" + String(repeating: "0", count: 64)
        try fixture.write(pin: wrong)
        let junit = fixture.root + "/junit.xml"
        let failed = try fixture.check(format + ["--junit", junit])
        #expect(failed.status == 1, "\(failed.stderr)")
        #expect(failed.stderr.contains("expectDigest pin not met by pinned"), "\(failed.stderr)")
        #expect(failed.stderr.contains("FAIL [1/1] pinned: reproducible; the spec pins expectDigest \(wrong)"), "\(failed.stderr)")
        let xml = try String(contentsOfFile: junit, encoding: .utf8)
        #expect(xml.contains("type=\"pin\""), "\(xml)")
        #expect(xml.contains("pins expectDigest \(wrong) but the rebuild has manifest digest \(pinned)"), "\(xml)")
    }

    @Test("a docker-archive rebuild that misses its pin names the layer that changed since the pinned build")
    func namesChangedLayer() throws {
        let fixture = try PinnedSpec(label: "check-pin-layer")
        defer { fixture.remove() }
        let first = fixture.root + "/first.json"
        let recorded = try fixture.check(["--json", first])
        #expect(recorded.status == 0, "\(recorded.stderr)")
        let control = try #require(try fixture.summary(first).specs.first?.builds.first { $0.role == .control })
        let imageID = try #require(control.imageID)
        let layerCount = control.layers.count
        #expect(layerCount >= 2)

        // The same spec, pinned to what it gave, with one store path grown by a file.
        try fixture.write(pin: imageID.description)
        try "extra\n".write(toFile: fixture.root + "/store/" + PinnedSpec.app + "/extra", atomically: true, encoding: .utf8)
        let second = fixture.root + "/second.json"
        let failed = try fixture.check(["--json", second])
        #expect(failed.status == 1, "\(failed.stderr)")
        let spec = try #require(try fixture.summary(second).specs.first)
        #expect(spec.explanation.contains("pins expectDigest \(imageID) but the rebuild has image ID"), "\(spec.explanation)")
        let changed = spec.explanation.components(separatedBy: "changed: ").dropFirst().first ?? ""
        #expect(changed.hasPrefix("layer "), "\(spec.explanation)")
        #expect(changed.components(separatedBy: "layer ").count - 1 < layerCount, "one store path changed, not every layer: \(changed)")
    }
}
