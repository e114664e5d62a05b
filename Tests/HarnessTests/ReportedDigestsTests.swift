import Builder
import Testing
@testable import Harness

/// Reading the digests a child `build` of an OCI format prints when done.
@Suite("Reported digests")
struct ReportedDigestsTests {
    static let config = "sha256:" + String(repeating: "a", count: 64)
    static let manifest = "sha256:" + String(repeating: "b", count: 64)

    @Test("reads the image ID, the manifest digest and the compressor versions")
    func readsSummary() {
        let stderr = "image ID \(Self.config)\nmanifest digest \(Self.manifest) (oci-archive, layers zstd; zlib 1.3, zstd 1.5.6)\n"
        let reported = ReportedDigests(stderr: stderr)
        #expect(reported.imageID?.description == Self.config)
        #expect(reported.manifestDigest?.description == Self.manifest)
        #expect(reported.compressorVersions == "zlib 1.3, zstd 1.5.6")
    }

    @Test("the last summary counts, and a malformed digest is none")
    func lastCounts() {
        let early = "manifest digest \(Self.config) (oci-archive, layers gzip; zlib 1.3, zstd 1.5.6)\n"
        #expect(ReportedDigests(stderr: early + "manifest digest \(Self.manifest) (dual, layers none; v)\n").manifestDigest?.description == Self.manifest)
        #expect(ReportedDigests(stderr: "manifest digest sha256:xyz (oci-archive, layers gzip; v)\n").manifestDigest == nil)
        #expect(ReportedDigests(stderr: "warning: no digest here\n") == ReportedDigests(stderr: ""))
    }
}
