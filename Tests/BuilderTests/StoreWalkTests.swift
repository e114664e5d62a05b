import Foundation
import Testing
@testable import Builder

@Suite("Store walk", .serialized)
struct StoreWalkTests {
    /// A chain of `depth` directories named `d` below `base`, made through descriptors so no
    /// path ever exceeds PATH_MAX; the deepest holds `file` with `content`.
    static func makeDeepTree(_ base: String, depth: Int, content: String) throws {
        var fd = open(base, O_RDONLY | O_DIRECTORY)
        guard fd >= 0 else { throw Tools.Failure(description: "cannot open \(base)") }
        for _ in 0..<depth {
            guard mkdirat(fd, "d", 0o755) == 0 else { throw Tools.Failure(description: "mkdirat failed: \(errno)") }
            let child = openat(fd, "d", O_RDONLY | O_DIRECTORY)
            close(fd)
            guard child >= 0 else { throw Tools.Failure(description: "openat failed: \(errno)") }
            fd = child
        }
        defer { close(fd) }
        let file = openat(fd, "file", O_WRONLY | O_CREAT | O_EXCL, 0o644)
        guard file >= 0 else { throw Tools.Failure(description: "cannot create the deepest file") }
        _ = Array(content.utf8).withUnsafeBytes { write(file, $0.baseAddress, $0.count) }
        close(file)
    }

    /// GNU rm walks with descriptors too; FileManager gives up beyond PATH_MAX.
    static func removeDeep(_ path: String) {
        _ = try? Tools.run("/bin/rm", ["-rf", path])
    }

    /// Descriptors this process holds on `base` or below. Other suites run in the same process,
    /// so only this tree's are counted: the kernel cannot name one deeper than a page, and
    /// the suite is serialized so no other deep tree is open meanwhile.
    static func openDescriptors(under base: String) -> Int {
        let descriptors = (try? FileManager.default.contentsOfDirectory(atPath: "/proc/self/fd")) ?? []
        var buffer = [CChar](repeating: 0, count: 1 << 16)
        let capacity = buffer.count
        return descriptors.filter { fd in
            let count = readlink("/proc/self/fd/" + fd, &buffer, capacity)
            guard count >= 0 else { return errno == ENAMETOOLONG }
            return String(decoding: buffer[0..<count].map { UInt8(bitPattern: $0) }, as: UTF8.self).hasPrefix(base)
        }.count
    }

    @Test("orders names as CPython sorts pathlib paths: undecodable bytes as U+DC80-U+DCFF")
    func pythonOrder() {
        var names: [[UInt8]] = [Array("zz".utf8), [0xFF], Array("ｆ".utf8), Array("\u{D7FF}".utf8), Array("\u{E000}".utf8), [0xC3], Array("é".utf8)]
        names.sort { $0.lexicographicallyPrecedes($1) }
        PythonNameOrder.reorder(&names)
        #expect(names == [Array("zz".utf8), Array("é".utf8), Array("\u{D7FF}".utf8), [0xC3], [0xFF], Array("\u{E000}".utf8), Array("ｆ".utf8)])
        #expect(PythonNameOrder.codePoints([0x61, 0xE2, 0x82, 0x41, 0xED, 0xA0, 0x80]) == [0x61, 0xDCE2, 0xDC82, 0x41, 0xDCED, 0xDCA0, 0xDC80])
    }

    @Test("leaves valid UTF-8 names in byte order, which is code point order")
    func validNamesUnchanged() {
        let sorted = [Array("a".utf8), Array("a-b".utf8), Array("é".utf8), Array("ｆ".utf8), Array("😀".utf8)]
        var names = sorted
        PythonNameOrder.reorder(&names)
        #expect(names == sorted)
    }

    @Test("walks a tree 10,000 directories deep without recursion, PATH_MAX or a descriptor per level")
    func deepTree() throws {
        let base = try FixtureStore.temporaryDirectory("deep-walk")
        defer { Self.removeDeep(base) }
        try Self.makeDeepTree(base, depth: 10_000, content: "bottom")
        var count = 0
        var deepest = 0
        var found = ""
        var peakDescriptors = 0
        try StoreWalk.forEach(root: Array(base.utf8)) { entry in
            count += 1
            deepest = max(deepest, entry.relative.count)
            if entry.status.isRegular {
                let file = try entry.open()
                var buffer = [UInt8](repeating: 0, count: 16)
                let got = try buffer.withUnsafeMutableBytes { try file.read(into: $0) }
                found = String(decoding: buffer[0..<got], as: UTF8.self)
                peakDescriptors = Self.openDescriptors(under: base)
            }
        }
        #expect(count == 10_002)
        #expect(deepest == 20_004)
        #expect(found == "bottom")
        // The open ancestors plus the file itself.
        #expect(peakDescriptors >= StoreWalk.openDescriptorLimit && peakDescriptors <= StoreWalk.openDescriptorLimit + 2)
        #expect(Self.openDescriptors(under: base) == 0)
    }

    @Test("finds a reference at the bottom of a tree 10,000 directories deep")
    func deepReference() throws {
        let base = try FixtureStore.temporaryDirectory("deep-scan")
        defer { Self.removeDeep(base) }
        let target = "/nix/store/" + String(repeating: "a", count: 32) + "-target"
        try Self.makeDeepTree(base, depth: 10_000, content: "uses \(target)/bin")
        #expect(try ReferenceScanner(candidates: [target]).scan(hostPath: base) == [target])
    }
}
