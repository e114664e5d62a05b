import Builder
import Foundation
import Testing
#if canImport(Glibc)
import Glibc
#endif

/// A push with a digest known in advance: the manifest digest `build --digest-file` writes is the
/// one a real registry (Debian's docker-registry, started here on a free port) reports after
/// `skopeo copy --preserve-digests`, and pulling the image back gives the very same blobs.
@Suite("Registry push", .serialized)
struct RegistryTests {
    @Test("the registry reports the digest build wrote, and serves back the same blobs", arguments: ["gzip", "zstd"])
    func pushWithKnownDigest(_ compression: String) throws {
        let registry = try LocalRegistry()
        defer { registry.stop() }
        let built = try OCIFormatsTests.build("registry-\(compression)", format: "oci-archive", compression: compression)
        defer { built.fixture.remove() }
        let expected = try OCIFormatsTests.file(built.digestFile).trimmingCharacters(in: .newlines)
        let reference = "docker://\(registry.address)/repro/hello:\(compression)"
        try Shell.check("skopeo", ["copy", "--quiet", "--dest-tls-verify=false", "--preserve-digests", "oci-archive:\(built.output)", reference])

        let inspect = try Shell.check("skopeo", ["inspect", "--tls-verify=false", "--format", "{{.Digest}}", reference])
        #expect(inspect.trimmingCharacters(in: .whitespacesAndNewlines) == expected)
        let head = try Shell.check("curl", [
            "-sSfI", "-H", "Accept: application/vnd.oci.image.manifest.v1+json",
            "http://\(registry.address)/v2/repro/hello/manifests/\(compression)",
        ])
        let header = head.split(separator: "\r\n").first { $0.lowercased().hasPrefix("docker-content-digest:") }
        #expect(header.map { $0.split(separator: " ").last.map(String.init) } == expected, "\(head)")

        // Pull back and compare every blob with what build wrote.
        let pulled = built.fixture.root + "/pulled"
        try Shell.check("skopeo", ["copy", "--quiet", "--src-tls-verify=false", "--preserve-digests", reference, "oci:\(pulled):latest"])
        let ours = built.fixture.root + "/ours"
        try FileManager.default.createDirectory(atPath: ours, withIntermediateDirectories: true)
        try Shell.check("tar", ["-xf", built.output, "-C", ours])
        let ourBlobs = try Self.blobs(in: ours)
        #expect(ourBlobs.count >= 4, "config, manifest and at least two layers")
        #expect(try Self.blobs(in: pulled) == ourBlobs)
    }

    /// Every blob of a layout, by name.
    static func blobs(in layout: String) throws -> [String: Data] {
        let directory = layout + "/blobs/sha256"
        var blobs: [String: Data] = [:]
        for name in try FileManager.default.contentsOfDirectory(atPath: directory) {
            blobs[name] = try Data(contentsOf: URL(fileURLWithPath: directory + "/" + name))
        }
        return blobs
    }
}

/// Debian's docker-registry on 127.0.0.1, with a temporary config and storage, stopped (and its
/// storage removed) by `stop()`.
final class LocalRegistry {
    let root: String
    let address: String
    private let process = Process()

    init() throws {
        root = try CLI.temporaryDirectory("registry")
        let port = try Self.freePort()
        address = "127.0.0.1:\(port)"
        let config = """
            version: 0.1
            log:
              level: error
              accesslog:
                disabled: true
            storage:
              filesystem:
                rootdirectory: \(root)/storage
            http:
              addr: \(address)
            """
        try config.write(toFile: root + "/config.yml", atomically: true, encoding: .utf8)
        process.executableURL = URL(fileURLWithPath: "/usr/bin/docker-registry")
        process.arguments = ["serve", root + "/config.yml"]
        process.standardOutput = FileHandle.nullDevice
        process.standardError = FileHandle(forWritingAtPath: "/dev/null")
        process.standardInput = FileHandle.nullDevice
        try process.run()
        try waitUntilServing()
    }

    /// Polls /v2/ until the registry answers (it starts in well under a second).
    private func waitUntilServing() throws {
        for _ in 0..<100 {
            let probe = Process()
            probe.executableURL = URL(fileURLWithPath: "/usr/bin/curl")
            probe.arguments = ["-sf", "-o", "/dev/null", "http://\(address)/v2/"]
            probe.standardOutput = FileHandle.nullDevice
            probe.standardError = FileHandle.nullDevice
            try probe.run()
            probe.waitUntilExit()
            if probe.terminationStatus == 0 { return }
            guard process.isRunning else { break }
            usleep(100_000)
        }
        stop()
        throw CLI.Failure(description: "docker-registry did not start on \(address)")
    }

    func stop() {
        if process.isRunning {
            process.terminate()
            process.waitUntilExit()
        }
        try? FileManager.default.removeItem(atPath: root)
    }

    /// A port the kernel has just handed out and released.
    static func freePort() throws -> UInt16 {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        guard fd >= 0 else { throw CLI.Failure(description: "socket: errno \(errno)") }
        defer { close(fd) }
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        address.sin_port = 0
        var length = socklen_t(MemoryLayout<sockaddr_in>.size)
        let bound = withUnsafeMutablePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, length) == 0 && getsockname(fd, $0, &length) == 0 }
        }
        guard bound else { throw CLI.Failure(description: "bind: errno \(errno)") }
        return UInt16(bigEndian: address.sin_port)
    }
}
