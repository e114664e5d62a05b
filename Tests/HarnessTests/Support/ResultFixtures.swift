import Builder
import Foundation

@testable import Harness

/// Planted check results for database and report tests.
enum ResultFixtures {
    static func digest(_ seed: String) -> Digest { Digest.of(Data(seed.utf8)) }

    static func run(
        host: String = "alpha", startedAt: Double, tool: String = "1.0.0", commit: String? = "0123456789abcdef"
    ) -> RunInfo {
        RunInfo(startedAt: startedAt, toolVersion: tool, gitCommit: commit, host: host, options: #"{"jobs":2}"#)
    }

    static func build(
        _ role: BuildRole, image: String?, wall: Int = 1000, layers: [LayerResult] = [], exitStatus: Int32 = 0,
        error: String? = nil
    ) -> BuildResult {
        BuildResult(
            role: role, variationsApplied: role == .experiment ? ["time", "umask"] : [],
            variationsSkipped: role == .experiment ? ["kernel": "needs setarch"] : [:],
            variationValues: role == .experiment ? ["time": "+373 days", "umask": "0002"] : [:],
            imageDigest: image.map(digest), configDigest: image.map { digest("config-\($0)") },
            manifestDigest: image.map { digest("manifest-\($0)") }, size: image == nil ? nil : 4096, layers: layers,
            wallMilliseconds: wall, cpuMilliseconds: wall / 2, peakRSSKiB: 20_000, exitStatus: exitStatus, error: error)
    }

    /// A reproducible spec: control and experiment built the same image.
    static func reproducible(_ name: String, spec: String = "spec-v1", image: String = "image-a", wall: Int = 1000)
        -> SpecResult
    {
        SpecResult(
            specName: name, specPath: "specs/\(name).json", specDigest: digest("\(name)-\(spec)"),
            expectation: .reproducible, outcome: .reproducible, passed: true,
            builds: [
                build(
                    .control, image: image, wall: wall,
                    layers: [LayerResult(index: 0, diffID: digest("layer-\(image)"), size: 2048, paths: ["/nix/store/aaa-hello"])]),
                build(.experiment, image: image, wall: wall),
            ],
            explanation: "")
    }

    /// An OCI layer whose blob was compressed by `compressor` (`zlib 1.3.1`).
    static func ociLayer(_ index: Int, content: String, blob: String, compressor: String = "zlib 1.3.1") -> LayerResult {
        LayerResult(
            index: index, diffID: digest("layer-\(content)"), size: 900, paths: ["/nix/store/aaa-\(content)"],
            blob: LayerBlob(
                digest: digest("blob-\(blob)"), size: 900, mediaType: LayerCompression.gzip.layerMediaType,
                compression: .gzip, compressorVersion: compressor))
    }

    /// A reproducible oci-archive spec whose control has two gzip layers.
    static func ociReproducible(_ name: String, manifest: String = "manifest", layers: [LayerResult]? = nil) -> SpecResult {
        var result = reproducible(name)
        for index in result.builds.indices {
            result.builds[index].format = .ociArchive
            result.builds[index].compression = .gzip
            result.builds[index].compressorVersions = "zlib 1.3.1, zstd 1.5.6"
            result.builds[index].manifestDigest = digest(manifest)
        }
        result.builds[0].layers = layers ?? [ociLayer(1, content: "glibc", blob: "glibc"), ociLayer(2, content: "hello", blob: "hello")]
        return result
    }

    /// A spec that failed to reproduce, with differences and a culprit.
    static func unreproducible(_ name: String, passed: Bool = false, spec: String = "spec-v1") -> SpecResult {
        SpecResult(
            specName: name, specPath: "specs/\(name).json", specDigest: digest("\(name)-\(spec)"),
            expectation: passed ? .unreproducible : .reproducible, outcome: .unreproducible, passed: passed,
            culprits: ["time"], culpritVerdict: .confirmed,
            builds: [build(.control, image: "\(name)-c"), build(.experiment, image: "\(name)-e")],
            differences: [
                Difference(layer: "layer 1", path: "/nix/store/bbb-date/stamp", field: "mtime", control: "1", experiment: "3600"),
                Difference(layer: "layer 1", path: "/nix/store/bbb-date/stamp", field: "content", control: "a", experiment: "b"),
            ],
            explanation: "The build writes the current time into stamp; the time variation alone reproduces it.")
    }

    static func buildError(_ name: String) -> SpecResult {
        SpecResult(
            specName: name, specPath: "specs/\(name).json", specDigest: digest("\(name)-spec"),
            expectation: .reproducible, outcome: .buildError, passed: false,
            builds: [build(.control, image: nil, exitStatus: 1, error: "store path /nix/store/zzz-missing not found")],
            explanation: "")
    }

    static func temporaryDirectory(_ name: String = #function) throws -> URL {
        let safe = name.filter { $0.isLetter || $0.isNumber }
        let url = FileManager.default.temporaryDirectory
            .appendingPathComponent("repro-check-tests-\(safe)-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
        return url
    }
}
