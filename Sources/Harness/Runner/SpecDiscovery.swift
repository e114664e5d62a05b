import Builder
import Foundation

public enum DiscoveryError: Error, Equatable, Sendable, CustomStringConvertible {
    case notFound(path: String)
    case empty(path: String)
    case badShard(text: String)
    case badFilter(pattern: String)
    case noMatch(patterns: [String])

    public var description: String {
        switch self {
        case let .notFound(path): "\(path): no such spec file or corpus folder"
        case let .empty(path): "\(path): the folder holds no *.json spec and no */spec.json"
        case let .badShard(text): "--shard \"\(text)\" must be K/N with 1 ≤ K ≤ N (for example 2/4)"
        case let .badFilter(pattern): "--filter \"\(pattern)\" is not a valid regular expression"
        case let .noMatch(patterns):
            "--filter \(patterns.map { "\"\($0)\"" }.joined(separator: ", ")) matches no spec name or path"
        }
    }
}

/// `--shard K/N`: this machine takes the specs whose index mod N is K-1.
public struct Shard: Sendable, Equatable, CustomStringConvertible {
    public var index: Int
    public var count: Int

    public init(index: Int, count: Int) {
        self.index = index
        self.count = count
    }

    public init(parsing text: String) throws(DiscoveryError) {
        let parts = text.split(separator: "/", omittingEmptySubsequences: false)
        guard parts.count == 2, let k = Int(parts[0]), let n = Int(parts[1]), n >= 1, k >= 1, k <= n else {
            throw .badShard(text: text)
        }
        self.init(index: k, count: n)
    }

    public func selects(_ position: Int) -> Bool { position % count == index - 1 }
    public var description: String { "\(index)/\(count)" }
}

/// `--filter PATTERN`: regular expressions (as `swift test --filter` takes them); a spec is
/// kept when any of them matches its name or its path.
public struct SpecFilter: Sendable {
    public private(set) var patterns: [String]

    public init(patterns: [String]) throws(DiscoveryError) {
        for pattern in patterns where (try? Regex(pattern)) == nil { throw .badFilter(pattern: pattern) }
        self.patterns = patterns
    }

    /// The name is read only when the path does not match; a spec whose name cannot be read
    /// is judged by its path alone (its error surfaces if it is checked).
    public func matches(specPath: String) -> Bool {
        // Compiled here rather than stored: a `Regex` is not `Sendable`, and specs are few.
        let expressions = patterns.compactMap { try? Regex($0) }
        if expressions.isEmpty || expressions.contains(where: { specPath.contains($0) }) { return true }
        guard let name = try? ImageSpec.load(path: specPath).name else { return false }
        return expressions.contains { name.contains($0) }
    }
}

public enum SpecDiscovery {
    /// Spec files, absolute, in a stable order: a file is taken as is; a folder holding
    /// `spec.json` is that one spec (its other JSON files are its inputs); any other folder is
    /// a corpus and gives its `*.json` files and `*/spec.json`, sorted by path so shards split
    /// the same way everywhere. The filter applies before the shard, so the shards of a
    /// filtered corpus still cover it.
    public static func find(_ arguments: [String], filter: SpecFilter? = nil, shard: Shard? = nil) throws -> [String] {
        let fm = FileManager.default
        var found: [String] = []
        for argument in arguments {
            let path = absolute(argument)
            var isDirectory: ObjCBool = false
            guard fm.fileExists(atPath: path, isDirectory: &isDirectory) else { throw DiscoveryError.notFound(path: argument) }
            guard isDirectory.boolValue else {
                found.append(path)
                continue
            }
            if fm.fileExists(atPath: path + "/spec.json") {
                found.append(path + "/spec.json")
                continue
            }
            var specs: [String] = []
            for entry in (try? fm.contentsOfDirectory(atPath: path)) ?? [] where !entry.hasPrefix(".") {
                let child = path + "/" + entry
                var childIsDirectory: ObjCBool = false
                _ = fm.fileExists(atPath: child, isDirectory: &childIsDirectory)
                if childIsDirectory.boolValue {
                    if fm.fileExists(atPath: child + "/spec.json") { specs.append(child + "/spec.json") }
                } else if entry.hasSuffix(".json") {
                    specs.append(child)
                }
            }
            guard !specs.isEmpty else { throw DiscoveryError.empty(path: argument) }
            found += specs.sorted()
        }
        var seen = Set<String>()
        var unique = found.filter { seen.insert($0).inserted }
        if let filter {
            unique = unique.filter(filter.matches)
            if unique.isEmpty { throw DiscoveryError.noMatch(patterns: filter.patterns) }
        }
        guard let shard else { return unique }
        return unique.enumerated().filter { shard.selects($0.offset) }.map(\.element)
    }

    /// `path` made absolute against the working folder, with `.`, `..` and a trailing slash
    /// removed: how spec paths are recorded.
    public static func absolute(_ path: String) -> String {
        let joined = path.hasPrefix("/") ? path : FileManager.default.currentDirectoryPath + "/" + path
        return URL(fileURLWithPath: joined).standardizedFileURL.path
    }
}
