import Builder
import Foundation
import Harness
import Testing

/// `diff`, `check` and `replay` on OCI outputs of real builds: the same image in two formats has
/// no difference in content, a planted change is found inside a compressed layer, and hostile
/// layouts are refused in one line.
@Suite("diff, check and replay on OCI outputs")
struct OCIDiffCommandTests {
    static func diff(_ control: String, _ experiment: String, json: Bool = false) throws -> (status: Int32, out: String, err: String) {
        let result = try CLI.run(["diff"] + (json ? ["--json"] : []) + [control, experiment])
        return (result.status, String(decoding: result.stdout, as: UTF8.self), result.stderr)
    }

    static func kinds(_ json: String) throws -> [String] {
        let array = try #require(try JSONSerialization.jsonObject(with: Data(json.utf8)) as? [[String: Any]])
        return array.compactMap { $0["kind"] as? String }
    }

    @Test("the same image as docker-archive, oci-archive, dual and oci-layout differs only in packaging and compression")
    func acrossFormats() throws {
        let docker = try OCIFormatsTests.build("ocidiff-formats", format: "docker-archive")
        defer { docker.fixture.remove() }
        let gzip = try OCIFormatsTests.build("", format: "oci-archive", compression: "gzip", in: docker.fixture)
        let dual = try OCIFormatsTests.build("", format: "dual", compression: "zstd", in: docker.fixture)
        let layout = try OCIFormatsTests.build("", format: "oci-layout", compression: "zstd", in: docker.fixture)
        let plain = try OCIFormatsTests.build("", format: "oci-archive", compression: "none", in: docker.fixture)

        let dockerOCI = try Self.diff(docker.output, gzip.output)
        #expect(dockerOCI.status == 1, "\(dockerOCI.err)")
        #expect(dockerOCI.out.contains("No difference in content"), "\(dockerOCI.out)")
        #expect(dockerOCI.out.contains("packaging docker-archive vs oci-archive"), "\(dockerOCI.out)")
        #expect(dockerOCI.out.contains("compression differs application/vnd.docker.image.rootfs.diff.tar, "), "\(dockerOCI.out)")
        #expect(dockerOCI.out.contains(" vs application/vnd.oci.image.layer.v1.tar+gzip, "), "\(dockerOCI.out)")

        // An uncompressed OCI layer is the docker member's bytes: only the packaging differs.
        let dockerPlain = try Self.diff(docker.output, plain.output, json: true)
        #expect(dockerPlain.status == 1, "\(dockerPlain.err)")
        #expect(try Self.kinds(dockerPlain.out) == ["format"], "\(dockerPlain.out)")

        // The dual archive and the layout hold the same blobs and documents.
        let dualLayout = try Self.diff(dual.output, layout.output, json: true)
        #expect(try Self.kinds(dualLayout.out) == ["format"], "\(dualLayout.out)")

        let gzipZstdKinds = try Self.kinds(try Self.diff(gzip.output, dual.output, json: true).out)
        let gzipZstd = try Self.diff(gzip.output, dual.output)
        #expect(gzipZstd.status == 1)
        #expect(gzipZstd.out.contains("tar+gzip, ") && gzipZstd.out.contains(" vs application/vnd.oci.image.layer.v1.tar+zstd, "), "\(gzipZstd.out)")
        #expect(gzipZstd.out.contains("follows from the above: layer digests, manifest Layers, manifest digest, index.json manifests"), "\(gzipZstd.out)")

        // An oci-archive read from a pipe: its layers are read again from the spooled copy.
        let piped = try HostileInputTests.bash("diff --json <(cat \"$1\") \"$2\"", [gzip.output, dual.output])
        #expect(try Self.kinds(String(decoding: piped.stdout, as: UTF8.self)) == gzipZstdKinds, "\(piped.stderr)")

        try FileManager.default.copyItem(atPath: layout.output, toPath: layout.output + "-copy")
        let same = try Self.diff(layout.output, layout.output + "-copy")
        #expect(same.status == 0 && same.out == "The archives are identical.\n", "\(same.out)\(same.err)")
    }

    @Test("a changed text file inside a zstd layer is shown as a unified diff, causes first", arguments: ["oci-archive", "dual", "oci-layout"])
    func plantedChange(_ format: String) throws {
        var fixture = try ConfFixture(label: "ocidiff-planted")
        defer { fixture.remove() }
        let lib = DiffCommandTests.conf
        var outputs: [String] = []
        for (name, line) in [("control", "host=vm"), ("experiment", "host=reprotest-capture-host")] {
            try FileManager.default.createDirectory(atPath: fixture.store + "/" + lib, withIntermediateDirectories: true)
            let text = (1...8).map { $0 == 5 ? line : "line \($0)" }.joined(separator: "\n") + "\n"
            try Data(text.utf8).write(to: URL(fileURLWithPath: fixture.store + "/" + lib + "/app.conf"))
            fixture.conf["store_layers"] = [[fixture.store + "/" + ConfFixture.hello], [fixture.store + "/" + lib]]
            let output = fixture.root + "/" + name + (format == "oci-layout" ? "" : ".tar")
            let result = try CLI.run(["build", "--nixpkgs-conf", try fixture.write(), "--format", format, "--compression", "zstd", "-o", output])
            #expect(result.status == 0, "\(result.stderr)")
            outputs.append(output)
        }
        let result = try Self.diff(outputs[0], outputs[1])
        #expect(result.status == 1, "\(result.err)")
        let lines = result.out.split(separator: "\n").map(String.init)
        #expect(lines.contains("    -host=vm") && lines.contains("    +host=reprotest-capture-host"), "\(result.out)")
        #expect(lines.contains { $0.hasSuffix("/app.conf: content differs:") }, "\(result.out)")
        #expect(lines.contains { $0.hasPrefix("layer 2 (") }, "the second store layer: \(result.out)")
        #expect(!result.out.contains("No difference in content"))
        #expect(lines.last?.hasPrefix("  follows from the above: layer digests, config digest, config rootfs.diff_ids") == true, "\(result.out)")
    }

    @Test("diff compares every image of a multi-platform index and names an image listed on one side only by its platform")
    func multiPlatformIndex() throws {
        let built = try OCIFormatsTests.build("ocidiff-index", format: "oci-layout", compression: "zstd")
        defer { built.fixture.remove() }
        // Our writer lists one manifest: list it again for a second platform, as a multi-platform index would.
        let multi = built.fixture.root + "/multi"
        try Shell.check("cp", ["-r", built.output, multi])
        let addPlatform = """
            import json, sys
            path = sys.argv[1] + "/index.json"
            index = json.load(open(path))
            first = index["manifests"][0]
            first["platform"] = {"architecture": "amd64", "os": "linux"}
            index["manifests"].append(dict(first, platform={"architecture": "arm64", "os": "linux", "variant": "v8"}))
            json.dump(index, open(path, "w"), separators=(",", ":"))
            """
        try Shell.check("python3", ["-c", addPlatform, multi])
        let manifest = try #require(built.manifestDigest)

        let result = try Self.diff(built.output, multi)
        #expect(result.status == 1, "\(result.err)")
        let lines = result.out.split(separator: "\n").map(String.init)
        #expect(lines.contains { $0.hasPrefix("image linux/arm64/v8 (") && $0.hasSuffix("):") }, "named by its platform and tag: \(result.out)")
        #expect(lines.contains("  only in experiment: \(manifest)"), "\(result.out)")
        #expect(lines.last == "  follows from the above: index.json manifests", "\(result.out)")
        let kinds = try Self.kinds(try Self.diff(built.output, multi, json: true).out)
        #expect(kinds.first == "image-only-in" && !kinds.contains("entry-field"), "\(kinds)")

        // Both images of the index are compared: the same index against itself is identical.
        try Shell.check("cp", ["-r", multi, multi + "-copy"])
        let same = try Self.diff(multi, multi + "-copy")
        #expect(same.status == 0 && same.out == "The archives are identical.\n", "\(same.out)\(same.err)")
    }

    @Test("diff refuses hostile OCI inputs with one line naming the file and exit 2")
    func hostile() throws {
        let built = try OCIFormatsTests.build("ocidiff-hostile", format: "oci-layout", compression: "zstd")
        defer { built.fixture.remove() }
        let root = built.fixture.root
        let good = try OCIFormatsTests.build("", format: "oci-archive", compression: "gzip", in: built.fixture)

        // A blob whose bytes are not its name.
        let blobs = try FileManager.default.contentsOfDirectory(atPath: built.output + "/blobs/sha256").sorted()
        let victim = try #require(blobs.first)
        try Shell.check("cp", ["-r", built.output, root + "/tampered"])
        try Data("tampered\n".utf8).write(to: URL(fileURLWithPath: root + "/tampered/blobs/sha256/" + victim))
        let tampered = try Self.diff(good.output, root + "/tampered")
        #expect(tampered.status == 2)
        #expect(tampered.err.hasPrefix("repro-check: \(root)/tampered/blobs/sha256/\(victim): the blob holds bytes whose digest is"), "\(tampered.err)")
        #expect(tampered.err.split(separator: "\n").count == 1, "\(tampered.err)")

        // An oci-archive holding a member that climbs out of it.
        let rename = """
            import io, sys, tarfile
            with tarfile.open(sys.argv[1]) as source, tarfile.open(sys.argv[2], "w", format=tarfile.USTAR_FORMAT) as target:
                for member in source.getmembers():
                    data = source.extractfile(member).read() if member.isfile() else None
                    if member.name == "oci-layout":
                        member.name = "../oci-layout"
                    target.addfile(member, io.BytesIO(data) if data is not None else None)
            """
        try Shell.check("python3", ["-c", rename, good.output, root + "/evil.tar"])
        let evil = try Self.diff(good.output, root + "/evil.tar")
        #expect(evil.status == 2)
        #expect(evil.err.contains("\(root)/evil.tar: member ../oci-layout is an absolute path or climbs out with '..'"), "\(evil.err)")
        #expect(evil.err.split(separator: "\n").count == 1, "\(evil.err)")
    }

    @Test("check --format oci-archive|dual explains an unreproducible spec entry by entry, and replay rebuilds it in that format",
          arguments: [ImageFormat.ociArchive, .dual])
    func checkAndReplay(_ format: ImageFormat) throws {
        let fixture = try PlantedOCIBuilder.corpus(label: "ocidiff-check")
        defer { fixture.remove() }
        try fixture.addSpec("cpus", plant: "cpus")
        let json = fixture.root + "/summary.json"
        let check = try fixture.check(["--vary=@none,+num_cpus", "--format", format.rawValue, "--compression", "zstd", "--json", json])
        #expect(check.status == 1, "\(check.stderr)")
        let spec = try #require(try fixture.summary(json).specs.first)
        #expect(spec.outcome == .unreproducible, "\(spec.explanation)")
        #expect(spec.builds.allSatisfy { $0.format == format && $0.compression == .zstd })
        #expect(spec.explanation.contains("etc/value: content differs:"), "\(spec.explanation)")
        #expect(spec.explanation.contains("follows from the above: layer digests"), "\(spec.explanation)")
        // The OCI differences (index.json, packaging, manifest digest) meet the published contract.
        let validation = try CLI.run(
            ["python3", CLI.repositoryRoot + "/Scripts/validate-summary", json], executable: "/usr/bin/env")
        #expect(validation.status == 0, "\(String(decoding: validation.stdout, as: UTF8.self))\(validation.stderr)")

        let replay = try CLI.run(["replay", "1", "cpus", "--db", fixture.database, "--builder", fixture.builder])
        let text = String(decoding: replay.stdout, as: UTF8.self) + replay.stderr
        #expect(replay.status == 1, "\(text)")
        #expect(text.contains("Replaying cpus (") && text.contains("(\(format.rawValue), zstd layers)."), "\(text)")
        #expect(text.contains("(as recorded)"), "the replayed builds give the recorded archive digests: \(text)")
        #expect(text.contains("etc/value: content differs:\n    @@ -1,3 +1,3 @@\n     first line\n    -"), "\(text)")
    }

    @Test("replay --output picks one of the outputs a check built, by default the first that differed, and names them when asked for another")
    func replayOutput() throws {
        let fixture = try PlantedOCIBuilder.corpus(label: "ocidiff-replay-output")
        defer { fixture.remove() }
        try fixture.addSpec("cpus", plant: "cpus")
        let check = try fixture.check(["--vary=@none,+num_cpus", "--format", "oci-archive", "--format", "dual", "--compression", "zstd"])
        #expect(check.status == 1, "\(check.stderr)")
        func replay(_ extra: [String]) throws -> (status: Int32, text: String) {
            let result = try CLI.run(["replay", "1", "cpus", "--db", fixture.database, "--builder", fixture.builder] + extra)
            return (result.status, String(decoding: result.stdout, as: UTF8.self) + result.stderr)
        }

        let first = try replay([])
        #expect(first.status == 1, "\(first.text)")
        #expect(first.text.contains("(oci-archive, zstd layers)."), "\(first.text)")
        #expect(first.text.contains("Note: run 1 checked oci-archive+zstd, dual+zstd; this replays oci-archive+zstd (choose another with --output)."),
                "\(first.text)")

        let dual = try replay(["--output", "dual+zstd"])
        #expect(dual.status == 1, "\(dual.text)")
        #expect(dual.text.contains("(dual, zstd layers)."), "\(dual.text)")
        #expect(dual.text.contains("(as recorded)"), "the replayed builds give the recorded archive digests: \(dual.text)")
        #expect(dual.text.contains("etc/value: content differs:"), "\(dual.text)")

        let missing = try CLI.run(["replay", "1", "cpus", "--db", fixture.database, "--output", "oci-archive"])
        #expect(missing.status == 2, "\(missing.stderr)")
        #expect(missing.stderr == "repro-check: \(fixture.database): run 1 built cpus as oci-archive+zstd, dual+zstd, not oci-archive+gzip\n")
        let unknown = try CLI.run(["replay", "1", "cpus", "--db", fixture.database, "--output", "docker-archive+zstd"])
        #expect(unknown.status == 2)
        #expect(unknown.stderr.hasPrefix("repro-check: --output docker-archive+zstd is not an output: ") && !unknown.stderr.dropLast().contains("\n"),
                "\(unknown.stderr)")
    }
}
