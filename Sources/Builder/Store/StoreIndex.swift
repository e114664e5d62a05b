/// The store paths of a host folder: each direct child `<hash>-<name>` is a store path that
/// lives at `<storeDir>/<hash>-<name>` in the image.
public struct StoreIndex: Sendable {
    public let hostRoot: String
    public let storeDir: String
    /// Image paths, sorted bytewise.
    public let imagePaths: [String]

    static let hashAlphabet = Set("0123456789abcdfghijklmnpqrsvwxyz".utf8)

    public init(hostRoot: String, storeDir: String) throws {
        self.hostRoot = hostRoot
        self.storeDir = storeDir
        let status: FileSystem.Status
        do { status = try FileSystem.status(Array(hostRoot.utf8), follow: true) } catch {
            throw StoreError.missingStore(hostRoot)
        }
        guard status.isDirectory else { throw StoreError.missingStore(hostRoot) }
        var paths: [String] = []
        for name in try FileSystem.sortedEntries(Array(hostRoot.utf8)) {
            let text = String(decoding: name, as: UTF8.self)
            if Self.isNixBookkeeping(text, hostPath: hostRoot + "/" + text) { continue }
            guard Self.isStorePathName(text) else { throw StoreError.badName(hostRoot + "/" + text) }
            paths.append(storeDir + "/" + text)
        }
        imagePaths = paths
    }

    /// `<32 nix-base32 characters>-<name>`.
    public static func isStorePathName(_ name: String) -> Bool {
        let bytes = Array(name.utf8)
        return bytes.count > 33 && bytes[32] == UInt8(ascii: "-") && bytes[0..<32].allSatisfy { hashAlphabet.contains($0) }
    }

    /// What Nix itself keeps in a store directory besides store paths: `.links` (written by
    /// `nix-store --optimise`), other dot-names (temporary files), `trash` (older collectors),
    /// and beside a path `P` its lock `P.lock`, build chroot `P.chroot` and `--check` output
    /// `P.check`. Those three look like store path names, so they are told apart by being
    /// writable: Nix makes every store path read-only, while `<hash>-Cargo.lock` may well be
    /// a real one.
    static func isNixBookkeeping(_ name: String, hostPath: String) -> Bool {
        if name.hasPrefix(".") || name == "trash" { return true }
        guard name.hasSuffix(".lock") || name.hasSuffix(".chroot") || name.hasSuffix(".check") else { return false }
        guard let status = try? FileSystem.lstatus(Array(hostPath.utf8)), !status.isSymlink else { return false }
        return status.mode & 0o200 != 0
    }

    public func contains(_ imagePath: String) -> Bool {
        imagePaths.binarySearch(imagePath)
    }

    public func hostPath(_ imagePath: String) -> String {
        hostRoot + "/" + imagePath.dropFirst(storeDir.count + 1)
    }

    public func mapping(_ imagePath: String) -> StorePathMapping {
        StorePathMapping(hostPath: hostPath(imagePath), imagePath: imagePath)
    }

    /// The components of `path` below `storeDir`, compared component by component (so
    /// `/nix/store-evil` is not inside `/nix/store`); nil when `path` is not strictly inside,
    /// or when either has a `..` component. Empty and `.` components are dropped, as pathlib does.
    public static func components(of path: String, inside storeDir: String) -> [Substring]? {
        guard path.hasPrefix("/"), storeDir.hasPrefix("/") else { return nil }
        let directory = lexicalComponents(storeDir), parts = lexicalComponents(path)
        guard !directory.contains("..") && !parts.contains("..") else { return nil }
        guard parts.count > directory.count, parts.starts(with: directory) else { return nil }
        return Array(parts[directory.count...])
    }

    private static func lexicalComponents(_ path: String) -> [Substring] {
        path.split(separator: "/", omittingEmptySubsequences: true).filter { $0 != "." }
    }

    /// A spec may name a store path by its image path or by its bare `<hash>-<name>`.
    public func resolve(_ reference: String) -> String? {
        guard let name = storePathComponent(of: reference) else { return nil }
        let path = storeDir + "/" + name
        return contains(path) ? path : nil
    }

    /// The store-directory entry a reference names, whether or not it is in the store.
    private func storePathComponent(of reference: String) -> Substring? {
        let parts = reference.hasPrefix("/")
            ? Self.components(of: reference, inside: storeDir)
            : Self.components(of: "/" + reference, inside: "/")
        return parts?.first
    }

    /// The error for a reference that `resolve` finds nothing for: a name that cannot be a
    /// store path (`.links`, a lock file, a path outside the store directory) is said to be
    /// one, rather than merely missing.
    public func unresolved(_ reference: String, spec: String, key: String) -> StoreError {
        guard let name = storePathComponent(of: reference), Self.isStorePathName(String(name)),
              !Self.isNixBookkeeping(String(name), hostPath: hostRoot + "/" + name) else {
            return .notAStorePath(spec: spec, key: key, path: reference, storeDir: storeDir)
        }
        return .missingPath(spec: spec, key: key, path: reference)
    }

    /// Store paths named anywhere in a string (`/nix/store/<hash>-…`); only paths of this store
    /// count. Nix finds the references of a derivation's attributes by their hash part, so
    /// whatever follows the 32 hash characters (`/`, `;`, `,`, `)`, a tab…) does not matter.
    public func references(inText text: String) -> [String] {
        var found: [String] = []
        let prefix = storeDir + "/"
        var rest = Substring(text)
        while let range = rest.range(of: prefix) {
            let after = rest[range.upperBound...]
            let hash = Array(after.utf8.prefix(32))
            if hash.count == 32 { found += paths(withHash: hash) }
            rest = after
        }
        return found
    }

    /// The image paths `<storeDir>/<hash>-…`, found by binary search in the sorted list.
    func paths(withHash hash: [UInt8]) -> [String] {
        let key = Array((storeDir + "/").utf8) + hash + [UInt8(ascii: "-")]
        var low = 0, high = imagePaths.count
        while low < high {
            let mid = (low + high) / 2
            if [UInt8](imagePaths[mid].utf8).lexicographicallyPrecedes(key) { low = mid + 1 } else { high = mid }
        }
        var matches: [String] = []
        while low < imagePaths.count, imagePaths[low].utf8.starts(with: key) {
            matches.append(imagePaths[low])
            low += 1
        }
        return matches
    }

    public func references(inJSON value: JSONValue) -> [String] {
        switch value {
        case let .string(text): return references(inText: text)
        case let .array(items): return items.flatMap(references(inJSON:))
        case let .object(object): return object.entries.flatMap { references(inText: $0.key) + references(inJSON: $0.value) }
        default: return []
        }
    }
}

public enum StoreError: Error, CustomStringConvertible, Equatable {
    case missingStore(String)
    case badName(String)
    case missingPath(spec: String, key: String, path: String)
    case notAStorePath(spec: String, key: String, path: String, storeDir: String)
    case graphPathMissing(graph: String, path: String)
    case symlinkOutside(path: String, target: String)

    public var description: String {
        switch self {
        case let .missingStore(path): "store folder \(path) does not exist or is not a directory"
        case let .badName(path): "\(path) is not a store path: names must be a 32-character nix-base32 hash, a dash and a name"
        case let .missingPath(spec, key, path): "\(spec): \(key) names \(path), which is not in the store"
        case let .notAStorePath(spec, key, path, storeDir):
            "\(spec): \(key) names \(path), which is not a store path: expected \(storeDir)/<32-character hash>-<name>"
        case let .graphPathMissing(graph, path): "\(graph): graph path \(path) is not in the store"
        case let .symlinkOutside(path, target): "store path \(path) is a symlink to \(target), outside the store"
        }
    }
}

extension Array where Element == String {
    /// Membership in a bytewise-sorted array.
    func binarySearch(_ value: String) -> Bool {
        var low = 0, high = count
        let key = [UInt8](value.utf8)
        while low < high {
            let mid = (low + high) / 2
            let probe = [UInt8](self[mid].utf8)
            if probe == key { return true }
            if probe.lexicographicallyPrecedes(key) { low = mid + 1 } else { high = mid }
        }
        return false
    }
}
