#if canImport(Glibc)
import Glibc
#endif

public enum ReferenceScannerError: Error, CustomStringConvertible, Equatable {
    case notAStorePath(String)

    public var description: String {
        switch self {
        case let .notAStorePath(path):
            "\(path) is not a store path of the form <store dir>/<32 nix-base32 characters>-<name>"
        }
    }
}

/// Finds which candidate store paths a tree refers to, as Nix does: any run of 32 nix-base32
/// characters that is a candidate's hash part counts, wherever it appears (file contents,
/// symlink targets, and entry names, since Nix scans the NAR serialisation, which holds names).
public struct ReferenceScanner: Sendable {
    /// Nix's base-32 alphabet: digits and lowercase letters without e, o, u, t.
    public static let alphabet = Array("0123456789abcdfghijklmnpqrsvwxyz".utf8)
    public static let hashLength = 32

    private static let digitValue: [Int8] = {
        var table = [Int8](repeating: -1, count: 256)
        for (value, character) in alphabet.enumerated() { table[Int(character)] = Int8(value) }
        return table
    }()

    /// Hash parts packed into 160 bits, so a lookup allocates nothing.
    struct HashKey: Hashable {
        var high: UInt64
        var middle: UInt64
        var low: UInt64
    }

    private let pathsByHash: [HashKey: [String]]
    /// Read size; small values let tests put a hash across a chunk boundary.
    public let chunkSize: Int

    public init(candidates: some Sequence<String>, chunkSize: Int = 1 << 16) throws {
        var map: [HashKey: [String]] = [:]
        for path in candidates {
            let base = path.split(separator: "/").last.map { Array($0.utf8) } ?? []
            guard base.count > Self.hashLength, base[Self.hashLength] == UInt8(ascii: "-"),
                  let key = Self.key(base[0..<Self.hashLength]) else {
                throw ReferenceScannerError.notAStorePath(path)
            }
            map[key, default: []].append(path)
        }
        pathsByHash = map
        self.chunkSize = max(chunkSize, Self.hashLength)
    }

    /// The candidates referred to anywhere under `hostPath` (a file or a directory tree, symlinks
    /// not followed), sorted.
    public func scan(hostPath: String) throws -> [String] {
        var found = Set<HashKey>()
        let buffer = UnsafeMutableRawBufferPointer.allocate(byteCount: chunkSize + Self.hashLength, alignment: 16)
        defer { buffer.deallocate() }
        try scanTree(Array(hostPath.utf8), buffer: buffer, found: &found)
        return found.flatMap { pathsByHash[$0] ?? [] }.sorted()
    }

    /// The candidates `storePath` refers to, read through its host path. Self-references are
    /// kept; a caller building a graph drops them.
    public static func references(of storePath: StorePathMapping, among candidates: some Sequence<String>) throws -> [String] {
        try ReferenceScanner(candidates: candidates).scan(hostPath: storePath.hostPath)
    }

    /// Scans bytes given whole (names, link targets).
    func scanBytes(_ bytes: [UInt8], found: inout Set<HashKey>) {
        bytes.withUnsafeBytes { search(UnsafeRawBufferPointer($0), found: &found) }
    }

    /// Iterative and descriptor-relative (through `StoreWalk`), so a tree of any depth scans.
    private func scanTree(_ path: [UInt8], buffer: UnsafeMutableRawBufferPointer, found: inout Set<HashKey>) throws {
        try StoreWalk.forEach(root: path, order: .bytewise) { entry in
            if !entry.relative.isEmpty { scanBytes(entry.nameBytes, found: &found) }
            switch entry.status.type {
            case UInt32(S_IFREG): try scanFile(try entry.open(), buffer: buffer, found: &found)
            case UInt32(S_IFLNK): scanBytes(try entry.readLink(), found: &found)
            default: break
            }
        }
    }

    /// Streams a file in chunks; the last 31 bytes of each chunk are carried to the front of the
    /// next, so a hash split by a chunk boundary is still seen whole.
    private func scanFile(_ file: borrowing ReadableFile, buffer: UnsafeMutableRawBufferPointer, found: inout Set<HashKey>) throws {
        let carryLimit = Self.hashLength - 1
        var carried = 0
        while true {
            let got = try file.read(into: UnsafeMutableRawBufferPointer(rebasing: buffer[carried..<(carried + chunkSize)]))
            if got == 0 { break }
            let filled = carried + got
            search(UnsafeRawBufferPointer(rebasing: buffer[0..<filled]), found: &found)
            carried = min(carryLimit, filled)
            if carried > 0 {
                UnsafeMutableRawBufferPointer(rebasing: buffer[0..<carried])
                    .copyMemory(from: UnsafeRawBufferPointer(rebasing: buffer[(filled - carried)..<filled]))
            }
        }
    }

    /// Nix's RefScanSink search: check a 32-byte window from its end, and on a non-base32
    /// byte jump past it, so most windows are rejected after one comparison.
    private func search(_ bytes: UnsafeRawBufferPointer, found: inout Set<HashKey>) {
        let length = Self.hashLength
        guard bytes.count >= length else { return }
        var start = 0
        outer: while start + length <= bytes.count {
            var offset = length - 1
            while offset >= 0 {
                if Self.digitValue[Int(bytes[start + offset])] < 0 {
                    start += offset + 1
                    continue outer
                }
                offset -= 1
            }
            if let key = Self.key(bytes[start..<(start + length)]), pathsByHash[key] != nil {
                found.insert(key)
            }
            start += 1
        }
    }

    static func key<C: Collection>(_ characters: C) -> HashKey? where C.Element == UInt8 {
        guard characters.count == hashLength else { return nil }
        var words: [UInt64] = [0, 0, 0]
        for (index, character) in characters.enumerated() {
            let value = digitValue[Int(character)]
            guard value >= 0 else { return nil }
            // 12 + 12 + 8 characters of 5 bits each.
            let word = index < 12 ? 0 : (index < 24 ? 1 : 2)
            words[word] = words[word] << 5 | UInt64(value)
        }
        return HashKey(high: words[0], middle: words[1], low: words[2])
    }
}
