import Foundation
import Testing

/// Every Corpus image is built by the CLI, accepted by skopeo, unpacked by umoci, and shows the
/// files, owners, modes and layer counts its `checks.json` expects.
@Suite("Corpus images", .serialized)
struct CorpusImageTests {
    static let specs: [String] = ((try? FileManager.default.contentsOfDirectory(atPath: CLI.repositoryRoot + "/Corpus")) ?? [])
        .filter { FileManager.default.fileExists(atPath: CLI.repositoryRoot + "/Corpus/\($0)/spec.json") }
        .sorted()

    @Test("the corpus has at least ten specs")
    func corpusSize() {
        #expect(Self.specs.count >= 10)
    }

    @Test("each corpus image loads in skopeo and unpacks in umoci as expected", arguments: specs)
    func corpusImage(_ name: String) throws {
        let folder = CLI.repositoryRoot + "/Corpus/" + name
        let checks = try JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: folder + "/checks.json"))) as? [String: Any] ?? [:]
        let scratch = try CLI.temporaryDirectory("corpus-\(name)")
        defer { try? FileManager.default.removeItem(atPath: scratch) }
        let archive = scratch + "/image.tar"
        let build = try CLI.run(["build", folder + "/spec.json", "-o", archive])
        #expect(build.status == 0, "\(build.stderr)")

        let inspect = try Shell.check("skopeo", ["inspect", "docker-archive:\(archive)"])
        let info = try JSONSerialization.jsonObject(with: Data(inspect.utf8)) as? [String: Any] ?? [:]
        if let layers = checks["layers"] as? Int {
            #expect((info["Layers"] as? [Any])?.count == layers, "layer count of \(name)")
        }
        if let env = checks["env"] as? [String] {
            #expect(info["Env"] as? [String] == env)
        }
        if let prefix = checks["tagPrefix"] as? String {
            let manifest = try Shell.check("tar", ["-xOf", archive, "manifest.json"])
            #expect(manifest.contains("\"\(prefix)"), "\(manifest)")
        }

        try Shell.check("skopeo", ["copy", "--quiet", "docker-archive:\(archive)", "oci:\(scratch)/oci:latest"])
        try Shell.check("umoci", ["unpack", "--image", "\(scratch)/oci:latest", "\(scratch)/bundle"])
        let rootfs = scratch + "/bundle/rootfs/"
        for case let file as [String: Any] in checks["files"] as? [Any] ?? [] {
            let path = try #require(file["path"] as? String)
            let attributes = try FileManager.default.attributesOfItem(atPath: rootfs + path)
            switch file["type"] as? String {
            case "file": #expect(attributes[.type] as? FileAttributeType == .typeRegular, "\(path)")
            case "dir": #expect(attributes[.type] as? FileAttributeType == .typeDirectory, "\(path)")
            case "symlink": #expect(attributes[.type] as? FileAttributeType == .typeSymbolicLink, "\(path)")
            default: break
            }
            if let mode = file["mode"] as? String {
                #expect(attributes[.posixPermissions] as? Int == Int(mode, radix: 8), "mode of \(path)")
            }
            if let uid = file["uid"] as? Int { #expect(attributes[.ownerAccountID] as? Int == uid, "uid of \(path)") }
            if let gid = file["gid"] as? Int { #expect(attributes[.groupOwnerAccountID] as? Int == gid, "gid of \(path)") }
            if let target = file["target"] as? String {
                #expect(try FileManager.default.destinationOfSymbolicLink(atPath: rootfs + path) == target)
            }
            if let needle = file["contains"] as? String {
                #expect(try String(contentsOfFile: rootfs + path, encoding: .utf8).contains(needle))
            }
        }
        for case let path as String in checks["absent"] as? [Any] ?? [] {
            #expect(!FileManager.default.fileExists(atPath: rootfs + path), "\(path) should be absent")
        }
    }

    @Test("building a corpus spec twice gives identical bytes")
    func twice() throws {
        for name in ["typical", "fakeroot-owner", "derived-tag-scanned"] {
            let spec = CLI.repositoryRoot + "/Corpus/\(name)/spec.json"
            let first = try CLI.run(["build", spec])
            let second = try CLI.run(["build", spec])
            #expect(first.status == 0 && !first.stdout.isEmpty)
            #expect(first.stdout == second.stdout, "\(name)")
        }
    }
}

enum Shell {
    @discardableResult
    static func check(_ tool: String, _ arguments: [String]) throws -> String {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        process.arguments = [tool] + arguments
        let out = Pipe(), err = Pipe()
        process.standardOutput = out
        process.standardError = err
        try process.run()
        let data = out.fileHandleForReading.readDataToEndOfFile()
        let errors = err.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        guard process.terminationStatus == 0 else {
            throw CLI.Failure(description: "\(tool) \(arguments.joined(separator: " ")) failed: \(String(decoding: errors, as: UTF8.self))")
        }
        return String(decoding: data, as: UTF8.self)
    }
}
