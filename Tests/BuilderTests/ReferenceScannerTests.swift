import Builder
import Foundation
import Testing

@Suite("Reference scanner")
struct ReferenceScannerTests {
    @Test("finds a store path named in file contents")
    func findsInContent() throws {
        let store = try TestStore("scan-content")
        defer { store.remove() }
        let app = store.path("1", "app")
        let glibc = store.path("2", "glibc-2.40")
        let unused = store.path("3", "unused")
        try store.file(app, "bin/app", "ELF....\(glibc.imagePath)/lib/ld-linux-x86-64.so.2\0more")

        let found = try ReferenceScanner(candidates: [app.imagePath, glibc.imagePath, unused.imagePath]).scan(hostPath: app.hostPath)

        #expect(found == [glibc.imagePath])
    }

    @Test("finds a store path named by a symlink target")
    func findsInSymlinkTarget() throws {
        let store = try TestStore("scan-symlink")
        defer { store.remove() }
        let profile = store.path("1", "profile")
        let bash = store.path("2", "bash")
        try store.symlink(profile, "bin/sh", to: bash.imagePath + "/bin/bash")

        let found = try ReferenceScanner(candidates: [bash.imagePath]).scan(hostPath: profile.hostPath)

        #expect(found == [bash.imagePath])
    }

    @Test("finds a hash that spans a chunk boundary")
    func findsAcrossChunkBoundary() throws {
        let store = try TestStore("scan-chunk")
        defer { store.remove() }
        let data = store.path("1", "data")
        let target = store.path("2", "target")
        // 50 bytes of filler, so the hash occupies bytes 61..92 and straddles the 64-byte chunk.
        let filler = String(repeating: "_", count: 50)
        try store.file(data, "blob", filler + target.imagePath + String(repeating: "_", count: 100))

        let found = try ReferenceScanner(candidates: [target.imagePath], chunkSize: 64).scan(hostPath: data.hostPath)

        #expect(found == [target.imagePath])
    }

    @Test("ignores hashes that are not candidates and partial hashes")
    func ignoresNonCandidates() throws {
        let store = try TestStore("scan-noise")
        defer { store.remove() }
        let data = store.path("1", "data")
        let candidate = store.path("2", "wanted")
        let partial = String(TestStore.hash("2").dropLast())
        try store.file(data, "notes", "/nix/store/\(TestStore.hash("3"))-other and /nix/store/\(partial)-short")

        let found = try ReferenceScanner(candidates: [candidate.imagePath]).scan(hostPath: data.hostPath)

        #expect(found.isEmpty)
    }

    @Test("reports references sorted and keeps the self-reference")
    func sortedWithSelfReference() throws {
        let store = try TestStore("scan-self")
        defer { store.remove() }
        let app = store.path("5", "app")
        let zlib = store.path("9", "zlib")
        let bash = store.path("0", "bash")
        try store.file(app, "bin/app", "\(zlib.imagePath) \(app.imagePath) \(bash.imagePath)")

        let found = try ReferenceScanner.references(of: app, among: [app.imagePath, zlib.imagePath, bash.imagePath])

        #expect(found == [bash.imagePath, app.imagePath, zlib.imagePath])
    }

    @Test("rejects a candidate that is not a store path")
    func rejectsBadCandidate() {
        #expect(throws: ReferenceScannerError.notAStorePath("/nix/store/not-a-hash")) {
            try ReferenceScanner(candidates: ["/nix/store/not-a-hash"])
        }
    }
}
