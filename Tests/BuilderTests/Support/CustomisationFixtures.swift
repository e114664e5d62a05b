import Builder
import Foundation
import Testing

/// Customisation tests that change the process umask run one at a time under this suite: the
/// umask is process-wide, so two of them interleaving would restore each other's values.
@Suite("Customisation", .serialized)
enum CustomisationSuite {}

/// A throwaway host store whose entries are named by image paths under `/nix/store`.
struct TestStore {
    let base: String
    var hostDirectory: String { base + "/store" }
    var binding: StoreBinding { StoreBinding(imageDirectory: "/nix/store", hostDirectory: hostDirectory) }

    init(_ label: String) throws {
        base = try FixtureStore.temporaryDirectory(label)
        try TestStore.makeDirectories(hostDirectory)
    }

    func remove() { FixtureStore.remove(base) }

    /// A 32-character nix-base32 hash made of one repeated character.
    static func hash(_ seed: Character) -> String { String(repeating: seed, count: 32) }

    func path(_ seed: Character, _ name: String) -> StorePathMapping {
        let base = "\(TestStore.hash(seed))-\(name)"
        return StorePathMapping(hostPath: "\(hostDirectory)/\(base)", imagePath: "/nix/store/\(base)")
    }

    func directory(_ path: StorePathMapping, _ relative: String = "") throws {
        try TestStore.makeDirectories(relative.isEmpty ? path.hostPath : "\(path.hostPath)/\(relative)")
    }

    func file(_ path: StorePathMapping, _ relative: String, _ content: String, mode: mode_t = 0o644) throws {
        let full = "\(path.hostPath)/\(relative)"
        try TestStore.makeDirectories((full as NSString).deletingLastPathComponent)
        guard FileManager.default.createFile(atPath: full, contents: Data(content.utf8)) else {
            throw FixtureStore.Failure(description: "cannot create \(full)")
        }
        chmod(full, mode)
    }

    func symlink(_ path: StorePathMapping, _ relative: String, to target: String) throws {
        let full = "\(path.hostPath)/\(relative)"
        try TestStore.makeDirectories((full as NSString).deletingLastPathComponent)
        try FileManager.default.createSymbolicLink(atPath: full, withDestinationPath: target)
    }

    /// mkdir -p with every created level set to 0755, whatever the umask.
    static func makeDirectories(_ path: String) throws {
        var missing: [String] = []
        var current = path
        while !FileManager.default.fileExists(atPath: current) {
            missing.append(current)
            current = (current as NSString).deletingLastPathComponent
        }
        for directory in missing.reversed() {
            try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: false)
            chmod(directory, 0o755)
        }
    }
}

enum LayerReading {
    struct Entry: Equatable {
        var header: TarHeader
        var content: [UInt8]
        var name: String { header.nameString }
    }

    static func entries(ofTarAt path: String) throws -> [Entry] {
        var reader = TarReader(source: try FileSource(path: path))
        var out: [Entry] = []
        while let header = try reader.next() {
            out.append(Entry(header: header, content: header.carriesData ? try reader.readAll() : []))
        }
        return out
    }

    static func bytes(_ path: String) throws -> [UInt8] {
        Array(try Data(contentsOf: URL(fileURLWithPath: path)))
    }
}

func withUmask<T>(_ mask: mode_t, _ body: () async throws -> T) async rethrows -> T {
    let previous = umask(mask)
    defer { umask(previous) }
    return try await body()
}

func fileMode(_ path: String) throws -> UInt32 {
    try FileSystem.lstatus(Array(path.utf8)).mode & 0o7777
}
