import Builder
import Foundation
@testable import Harness
import Testing

@Suite("Archive diff")
struct ArchiveDiffTests {
    /// Builds both archives, writes them to files and compares them.
    static func diff(_ control: TestArchive, _ experiment: TestArchive, limit: Int = ArchiveDiff.defaultLimit) throws -> (differences: [Difference], control: TestArchive.Built, experiment: TestArchive.Built) {
        let files = try TemporaryFiles()
        defer { files.remove() }
        let a = try control.build()
        let b = try experiment.build()
        let differences = try ArchiveDiff.compare(
            control: try files.write("control.tar", a.bytes), experiment: try files.write("experiment.tar", b.bytes), limit: limit
        )
        return (differences, a, b)
    }

    static func layerName(_ position: Int, _ a: TestArchive.Built, _ b: TestArchive.Built) -> String {
        "layer \(position + 1) (\(a.diffIDs[position].hex.prefix(12)) vs \(b.diffIDs[position].hex.prefix(12)))"
    }

    static func inLayer(_ differences: [Difference], _ name: String) -> [Difference] {
        differences.filter { $0.layer == name }
    }

    static func quoted(_ text: String) -> String { "\"\(text)\"" }

    static func field(_ layer: String, _ path: String, _ field: String, _ control: String, _ experiment: String) -> Difference {
        Difference(kind: .entryField, layer: layer, path: path, field: field, control: control, experiment: experiment)
    }

    static func config(_ path: String, _ control: String, _ experiment: String) -> Difference {
        Difference(kind: .configField, layer: "config", path: path, field: "value", control: control, experiment: experiment)
    }

    static func follows(_ consequences: [Difference.Consequence]) -> Difference {
        Difference(kind: .derived, layer: nil, path: nil, field: "follows from the above", consequences: consequences)
    }

    /// An mtime as the diff shows it: epoch seconds, then UTC.
    static let one = "1 (1970-01-01T00:00:01Z)"

    @Test("finds nothing between identical archives")
    func identical() throws {
        let result = try Self.diff(TestArchive.basic, TestArchive.basic)
        #expect(result.differences == [])
        #expect(ArchiveDiff.explain([]) == "The archives are identical.\n")
    }

    @Test("explains an mtime change down to the entry first, and its echoes in one last line")
    func mtime() throws {
        var experiment = TestArchive.basic
        experiment.layers[1].entries[2].header.mtime = 3600
        let (differences, a, b) = try Self.diff(TestArchive.basic, experiment)
        #expect(differences == [
            Self.field(Self.layerName(1, a, b), TestArchive.helloBin, "mtime", Self.one, "3600 (1970-01-01T01:00:00Z)"),
            Self.follows([.layerDigest, .configDigest, .diffIDs, .manifestConfig, .manifestLayers]),
        ])
        #expect(ArchiveDiff.explain(differences).hasSuffix("""
            archive:
              follows from the above: layer digests, config digest, config rootfs.diff_ids, manifest Config, manifest Layers

            """))
    }

    @Test("reports mode in octal and uid as a number")
    func modeAndUID() throws {
        var experiment = TestArchive.basic
        experiment.layers[1].entries[3].header.mode = 0o644
        experiment.layers[1].entries[3].header.uid = 1000
        let (differences, a, b) = try Self.diff(TestArchive.basic, experiment)
        #expect(Self.inLayer(differences, Self.layerName(1, a, b)) == [
            Self.field(Self.layerName(1, a, b), TestArchive.helloDir + "/README", "mode", "0444", "0644"),
            Self.field(Self.layerName(1, a, b), TestArchive.helloDir + "/README", "uid", "0", "1000"),
        ])
    }

    @Test("gives the first differing byte of a large file, past the read buffer")
    func contentOffset() throws {
        var content = [UInt8](repeating: UInt8(ascii: "a"), count: TextDiff.maxBytes + 100_000)
        var control = TestArchive.basic
        control.layers[0].entries.append(TestArchive.Entry("nix/store/big", content))
        var experiment = control
        content[TextDiff.maxBytes + 70_123] = UInt8(ascii: "b")
        experiment.layers[0].entries[3] = TestArchive.Entry("nix/store/big", content)
        let (differences, a, b) = try Self.diff(control, experiment)
        let name = Self.layerName(0, a, b)
        #expect(Self.inLayer(differences, name) == [
            Difference(
                kind: .entryContent, layer: name, path: "nix/store/big", field: "content", control: "0x61", experiment: "0x62",
                offset: UInt64(TextDiff.maxBytes + 70_123)),
        ])
        #expect(ArchiveDiff.explain(differences).contains("  nix/store/big: content differs at byte \(TextDiff.maxBytes + 70_123): 0x61 vs 0x62\n"))
    }

    @Test("gives the first differing byte of a small binary file")
    func binaryOffset() throws {
        var control = TestArchive.basic
        control.layers[0].entries.append(TestArchive.Entry("nix/store/blob", [0x7F, 0x45, 0x4C, 0x46, 0, 1, 2]))
        var experiment = TestArchive.basic
        experiment.layers[0].entries.append(TestArchive.Entry("nix/store/blob", [0x7F, 0x45, 0x4C, 0x46, 0, 9, 2]))
        let (differences, a, b) = try Self.diff(control, experiment)
        let name = Self.layerName(0, a, b)
        #expect(Self.inLayer(differences, name) == [
            Difference(kind: .entryContent, layer: name, path: "nix/store/blob", field: "content", control: "0x01", experiment: "0x09", offset: 5),
        ])
    }

    @Test("shows a changed line of a text file as a unified diff with context")
    func textDiff() throws {
        func conf(_ host: String) -> String { (1...9).map { $0 == 5 ? host : "line \($0)" }.joined(separator: "\n") + "\n" }
        var control = TestArchive.basic
        control.layers[0].entries.append(.file("etc/app.conf", conf("host=vm")))
        var experiment = TestArchive.basic
        experiment.layers[0].entries.append(.file("etc/app.conf", conf("host=reprotest-capture-host")))
        let (differences, a, b) = try Self.diff(control, experiment)
        let name = Self.layerName(0, a, b)
        let content = try #require(Self.inLayer(differences, name).first { $0.kind == .entryContent })
        #expect(content.diffLines == [
            "@@ -2,7 +2,7 @@", " line 2", " line 3", " line 4", "-host=vm", "+host=reprotest-capture-host", " line 6", " line 7", " line 8",
        ])
        #expect(content.offset == nil)
        let text = ArchiveDiff.explain(differences)
        #expect(text.contains("  etc/app.conf: content differs:\n    @@ -2,7 +2,7 @@\n     line 2\n"), "\(text)")
        #expect(text.contains("\n    -host=vm\n    +host=reprotest-capture-host\n"), "\(text)")
    }

    @Test("reports a longer text file as a size change and the added line")
    func contentLength() throws {
        var experiment = TestArchive.basic
        experiment.layers[1].entries[3] = .file(TestArchive.helloDir + "/README", "Hello, world.\n!")
        let (differences, a, b) = try Self.diff(TestArchive.basic, experiment)
        let name = Self.layerName(1, a, b)
        #expect(Self.inLayer(differences, name) == [
            Self.field(name, TestArchive.helloDir + "/README", "size", "14", "15"),
            Difference(
                kind: .entryContent, layer: name, path: TestArchive.helloDir + "/README", field: "content",
                lines: [.init(.hunk, "@@ -1 +1,2 @@"), .init(.context, "Hello, world."), .init(.added, "!"), .init(.note, "\\ No newline at end of file")]),
        ])
    }

    @Test("names an entry present in only one build")
    func onlyInOne() throws {
        var experiment = TestArchive.basic
        experiment.layers[1].entries.append(.file(TestArchive.helloDir + "/NEWS", "news\n"))
        var control = TestArchive.basic
        control.layers[0].entries.remove(at: 2)
        let (differences, a, b) = try Self.diff(control, experiment)
        #expect(Self.inLayer(differences, Self.layerName(0, a, b)) == [
            Difference(
                kind: .entryOnlyIn, layer: Self.layerName(0, a, b), path: "nix/store/43p2vm6zmimlr0cihf7f95kwnri5icl0-glibc-2.37-8/lib/libc.so.6",
                field: "only in experiment", experiment: "regular file, 14 bytes", side: .experiment
            ),
        ])
        #expect(Self.inLayer(differences, Self.layerName(1, a, b)) == [
            Difference(
                kind: .entryOnlyIn, layer: Self.layerName(1, a, b), path: TestArchive.helloDir + "/NEWS", field: "only in experiment",
                experiment: "regular file, 5 bytes", side: .experiment),
        ])
    }

    @Test("says same entries, different order once, naming the first entry out of place")
    func order() throws {
        var experiment = TestArchive.basic
        let entries = experiment.layers[1].entries
        experiment.layers[1].entries = [entries[0], entries[3], entries[1], entries[2]]
        let (differences, a, b) = try Self.diff(TestArchive.basic, experiment)
        #expect(Self.inLayer(differences, Self.layerName(1, a, b)) == [
            Difference(
                kind: .entryOrder, layer: Self.layerName(1, a, b), path: TestArchive.helloDir + "/bin", field: "same entries, different order",
                control: "entry 2", experiment: "entry 3"),
        ])
        #expect(ArchiveDiff.explain(differences).contains("/bin: same entries, different order: entry 2 vs entry 3\n"))
    }

    @Test("still compares fields of entries that moved")
    func orderAndField() throws {
        var experiment = TestArchive.basic
        var entries = experiment.layers[1].entries
        entries[2].header.mtime = 7
        experiment.layers[1].entries = [entries[0], entries[1], entries[3], entries[2]]
        let (differences, a, b) = try Self.diff(TestArchive.basic, experiment)
        let name = Self.layerName(1, a, b)
        #expect(Self.inLayer(differences, name) == [
            Difference(kind: .entryOrder, layer: name, path: TestArchive.helloBin, field: "same entries, different order", control: "entry 3", experiment: "entry 4"),
            Self.field(name, TestArchive.helloBin, "mtime", Self.one, "7 (1970-01-01T00:00:07Z)"),
        ])
    }

    @Test("still shows a text diff for an entry that moved")
    func textDiffUnaligned() throws {
        var control = TestArchive.basic
        control.layers[0].entries.append(.file("etc/hosts", "127.0.0.1 localhost\nhost=vm\n"))
        var experiment = TestArchive.basic
        experiment.layers[0].entries.insert(.file("etc/hosts", "127.0.0.1 localhost\nhost=ci\n"), at: 1)
        let (differences, a, b) = try Self.diff(control, experiment)
        let layer = Self.inLayer(differences, Self.layerName(0, a, b))
        #expect(layer.map(\.kind) == [.entryOrder, .entryContent], "same size, so only order and content")
        #expect(layer.first?.field == "same entries, different order")
        #expect(layer.last?.diffLines == ["@@ -1,2 +1,2 @@", " 127.0.0.1 localhost", "-host=vm", "+host=ci"])
        #expect(layer.last?.summary == "\(Self.layerName(0, a, b)) etc/hosts: content differs (text): -host=vm / +host=ci")
    }

    @Test("reports pax records that differ")
    func paxRecords() throws {
        var control = TestArchive.basic
        control.layers[0].entries[2].header.paxRecords = [PaxRecord("SCHILY.xattr.user.note", "one")]
        var experiment = TestArchive.basic
        experiment.layers[0].entries[2].header.paxRecords = [PaxRecord("SCHILY.xattr.user.note", "two")]
        let (differences, a, b) = try Self.diff(control, experiment)
        #expect(Self.inLayer(differences, Self.layerName(0, a, b)) == [
            Self.field(
                Self.layerName(0, a, b), "nix/store/43p2vm6zmimlr0cihf7f95kwnri5icl0-glibc-2.37-8/lib/libc.so.6", "pax SCHILY.xattr.user.note", "one", "two"),
        ])
    }

    @Test("explains config differences by key path")
    func configKeys() throws {
        var control = TestArchive.basic
        control.env = ["PATH=/bin", "LANG=C", "TZ=UTC"]
        var experiment = control
        experiment.env[2] = "TZ=Europe/Berlin"
        experiment.created = "2024-05-01T12:00:00+00:00"
        let (differences, a, b) = try Self.diff(control, experiment)
        let created = (Self.quoted(control.created), Self.quoted(experiment.created))
        #expect(differences == [
            Self.config("created", created.0, created.1),
            Self.config("config.Env[2]", "\"TZ=UTC\"", "\"TZ=Europe/Berlin\""),
            Self.config("history[0].created", created.0, created.1),
            Self.config("history[1].created", created.0, created.1),
            Self.follows([.configDigest, .manifestConfig]),
        ])
        #expect(a.configName != b.configName)
    }

    @Test("reports a changed repo tag and a different number of layers")
    func manifestShape() throws {
        var experiment = TestArchive.basic
        experiment.repoTag = "hello:other"
        experiment.layers.append(TestArchive.Layer(paths: ["/nix/store/extra"], entries: [.file("nix/store/extra", "x")]))
        let (differences, _, b) = try Self.diff(TestArchive.basic, experiment)
        let extra = "layer 3 (\(b.diffIDs[2].hex.prefix(12)))"
        #expect(differences == [
            Difference(kind: .layerOnlyIn, layer: extra, path: nil, field: "only in experiment", experiment: b.diffIDs[2].description, side: .experiment),
            Difference(kind: .configField, layer: "config", path: "history", field: "count", control: "2", experiment: "3"),
            Difference(
                kind: .configField, layer: "config", path: "history[2]", field: "only in experiment",
                experiment: #"{"created": "1970-01-01T00:00:01+00:00", "comment": "store paths: ['/nix/store/extra']"}"#, side: .experiment),
            Difference(kind: .manifestField, layer: "manifest.json", path: "[0].RepoTags[0]", field: "value", control: "\"hello:latest\"", experiment: "\"hello:other\""),
            Self.follows([.configDigest, .diffIDs, .manifestConfig, .manifestLayers]),
        ])
        // The first two layers are identical, so nothing is said about them.
        #expect(!differences.contains { $0.layer?.hasPrefix("layer 1") == true || $0.layer?.hasPrefix("layer 2") == true })
    }

    @Test("pairs layers by digest: reordered layers are the same layers, said once")
    func layersReordered() throws {
        var experiment = TestArchive.basic
        experiment.layers.swapAt(0, 1)
        let (differences, a, _) = try Self.diff(TestArchive.basic, experiment)
        let short = a.diffIDs.map { String($0.hex.prefix(12)) }
        #expect(differences == [
            Difference(
                kind: .layerOrder, layer: "layers", path: nil, field: "same layers, different order",
                control: "\(short[0]), \(short[1])", experiment: "\(short[1]), \(short[0])"),
            Self.config("history[0].comment", "\"store paths: ['\(TestArchive.glibc)']\"", "\"store paths: ['\(TestArchive.hello)']\""),
            Self.config("history[1].comment", "\"store paths: ['\(TestArchive.hello)']\"", "\"store paths: ['\(TestArchive.glibc)']\""),
            Self.follows([.configDigest, .diffIDs, .manifestConfig, .manifestLayers]),
        ])
        #expect(!differences.contains { $0.kind == .layerOnlyIn })
    }

    @Test("compares a changed layer with its counterpart when the other layers moved around it")
    func changedAmongMoved() throws {
        var control = TestArchive.basic
        control.layers.append(TestArchive.Layer(paths: ["/nix/store/extra"], entries: [.file("nix/store/extra", "one\n")]))
        var experiment = control
        experiment.layers.swapAt(0, 1)
        experiment.layers[2].entries[0] = .file("nix/store/extra", "two\n")
        let (differences, a, b) = try Self.diff(control, experiment)
        let name = Self.layerName(2, a, b)
        #expect(differences.first?.layer == name)
        #expect(differences.first?.diffLines == ["@@ -1 +1 @@", "-one", "+two"])
        #expect(differences.contains { $0.kind == .layerOrder && $0.field == "shared layers in a different order" })
        #expect(!differences.contains { $0.kind == .layerOnlyIn })
        #expect(differences.last == Self.follows([.layerDigest, .configDigest, .diffIDs, .manifestConfig, .manifestLayers]))
    }

    @Test("pairs a layer that moved and changed with the unmatched layer of the other side")
    func pairing() {
        func digest(_ text: String) -> Digest { Digest.of(Array(text.utf8)) }
        let pairing = LayerPairing(control: [digest("a"), digest("b"), digest("c")], experiment: [digest("c'"), digest("a"), digest("d"), digest("e")])
        #expect(pairing.differing.map { [$0.0, $0.1] } == [[1, 0], [2, 2]])
        #expect(pairing.onlyInControl == [])
        #expect(pairing.onlyInExperiment == [3])
        #expect(pairing.sharedOrder == nil)
        let moved = LayerPairing(control: [digest("a"), digest("b")], experiment: [digest("b"), digest("a")])
        #expect(moved.differing.isEmpty && moved.onlyInControl.isEmpty && moved.onlyInExperiment.isEmpty)
        #expect(moved.sharedOrder?.experiment == [digest("b"), digest("a")])
    }

    @Test("encodes a difference as typed JSON: kind, side, offset and diff lines as data")
    func json() throws {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys]
        let text = Difference(
            kind: .entryContent, layer: "layer 1 (abc)", path: "etc/hosts", field: "content",
            lines: [.init(.hunk, "@@ -1 +1 @@"), .init(.removed, "host=vm"), .init(.added, "host=ci")])
        #expect(String(decoding: try encoder.encode(text), as: UTF8.self) == #"{"field":"content","kind":"entry-content","layer":"layer 1 (abc)","lines":[{"kind":"hunk","text":"@@ -1 +1 @@"},{"kind":"removed","text":"host=vm"},{"kind":"added","text":"host=ci"}],"path":"etc\/hosts"}"#)
        let derived = Self.follows([.layerDigest, .diffIDs])
        #expect(String(decoding: try encoder.encode(derived), as: UTF8.self) == #"{"consequences":["layer digests","config rootfs.diff_ids"],"field":"follows from the above","kind":"derived"}"#)
        #expect(try JSONDecoder().decode(Difference.self, from: try encoder.encode(text)) == text)
    }

    @Test("shows times as ISO-8601 beside epoch seconds, and only seconds outside years 1 to 9999")
    func times() {
        #expect(EntryFields.time(1_700_000_000) == "1700000000 (2023-11-14T22:13:20Z)")
        #expect(EntryFields.time(-1) == "-1 (1969-12-31T23:59:59Z)")
        #expect(EntryFields.time(253_402_300_800) == "253402300800")
        #expect(EntryFields.time(Int.min) == String(Int.min))
    }

    @Test("caps the differences of a layer and counts the rest")
    func cap() throws {
        var experiment = TestArchive.basic
        for index in experiment.layers[1].entries.indices { experiment.layers[1].entries[index].header.mtime = 99 }
        experiment.layers[1].entries[2].header.uid = 5
        let (differences, a, b) = try Self.diff(TestArchive.basic, experiment, limit: 3)
        let name = Self.layerName(1, a, b)
        #expect(Self.inLayer(differences, name) == [
            Self.field(name, TestArchive.helloDir, "mtime", Self.one, "99 (1970-01-01T00:01:39Z)"),
            Self.field(name, TestArchive.helloDir + "/bin", "mtime", Self.one, "99 (1970-01-01T00:01:39Z)"),
            Self.field(name, TestArchive.helloBin, "uid", "0", "5"),
            Difference(kind: .omitted, layer: name, path: nil, field: "more differences", omitted: 2),
        ])
    }

    @Test("explains differences as indented lines grouped by layer")
    func explainText() {
        let text = ArchiveDiff.explain([
            Self.field("layer 2 (abc)", "nix/store/x", "mtime", "1", "3600"),
            Difference(kind: .entryOnlyIn, layer: "layer 2 (abc)", path: "nix/store/y", field: "only in experiment", experiment: "directory", side: .experiment),
            Difference(
                kind: .entryContent, layer: "layer 2 (abc)", path: "nix/store/z", field: "content", control: "0x41", experiment: "end of data",
                offset: 812),
            Difference(
                kind: .entryContent, layer: "layer 2 (abc)", path: "etc/hosts", field: "content",
                lines: [.init(.hunk, "@@ -1 +1 @@"), .init(.removed, "host=vm"), .init(.added, "host=ci")]),
            Self.config("created", "\"a\"", "\"b\""),
            Self.follows([.layerDigest, .diffIDs]),
        ])
        #expect(text == """
            The archives differ (6 differences):
            layer 2 (abc):
              nix/store/x: mtime 1 vs 3600
              nix/store/y: only in experiment: directory
              nix/store/z: content differs at byte 812: 0x41 vs end of data
              etc/hosts: content differs:
                @@ -1 +1 @@
                -host=vm
                +host=ci
            config:
              created: value "a" vs "b"
            archive:
              follows from the above: layer digests, config rootfs.diff_ids

            """)
    }

    @Test("compares layers stored out of manifest order")
    func storedOutOfOrder() throws {
        var control = TestArchive.basic
        control.storageOrder = [1, 0]
        var experiment = control
        experiment.layers[0].entries[2].header.mtime = 2
        experiment.layers[1].entries[2].header.mtime = 3
        let (differences, a, b) = try Self.diff(control, experiment)
        #expect(Self.inLayer(differences, Self.layerName(0, a, b)).map(\.experiment) == ["2 (1970-01-01T00:00:02Z)"])
        #expect(Self.inLayer(differences, Self.layerName(1, a, b)).map(\.experiment) == ["3 (1970-01-01T00:00:03Z)"])
    }

    @Test("reports outer member header fields for the archive as a whole")
    func outerHeaders() throws {
        var experiment = TestArchive.basic
        experiment.outerMtime = 3600
        let (differences, a, _) = try Self.diff(TestArchive.basic, experiment)
        #expect(differences == [
            Difference(kind: .member, layer: nil, path: "\(a.diffIDs[0].hex)/layer.tar", field: "mtime", control: Self.one, experiment: "3600 (1970-01-01T01:00:00Z)"),
            Difference(kind: .member, layer: nil, path: "\(a.diffIDs[1].hex)/layer.tar", field: "mtime", control: Self.one, experiment: "3600 (1970-01-01T01:00:00Z)"),
        ])
    }

    @Test("names a truncated file")
    func truncatedFile() throws {
        let files = try TemporaryFiles()
        defer { files.remove() }
        let bytes = try TestArchive.basic.build().bytes
        let good = try files.write("good.tar", bytes)
        let cut = try files.write("cut.tar", Array(bytes.prefix(2000)))
        #expect(throws: ArchiveError.truncated(cut)) { try ArchiveDiff.compare(control: good, experiment: cut) }
    }

    @Test("names a file with a damaged header")
    func corruptFile() throws {
        let files = try TemporaryFiles()
        defer { files.remove() }
        var bytes = try TestArchive.basic.build().bytes
        let good = try files.write("good.tar", bytes)
        bytes[5] ^= 0x40
        let bad = try files.write("bad.tar", bytes)
        #expect(throws: ArchiveError.corrupt(bad, "a tar header has a bad checksum")) {
            try ArchiveDiff.compare(control: bad, experiment: good)
        }
    }

    @Test("names a file that cannot be opened")
    func missingFile() throws {
        let files = try TemporaryFiles()
        defer { files.remove() }
        let good = try files.write("good.tar", try TestArchive.basic.build().bytes)
        let error = #expect(throws: IOError.self) { try ArchiveDiff.compare(control: good, experiment: files.directory + "/absent.tar") }
        #expect(error?.description.contains("absent.tar") == true)
    }

    @Test("compares gzip-compressed layers entry by entry")
    func gzipLayers() throws {
        var control = TestArchive.basic
        control.gzipLayers = true
        var experiment = control
        experiment.layers[1].entries[2].header.mtime = 3600
        let (differences, a, b) = try Self.diff(control, experiment)
        let layer = differences.filter { $0.layer?.hasPrefix("layer 2") == true }
        #expect(layer.map(\.path) == [TestArchive.helloBin])
        #expect(layer.map(\.field) == ["mtime"])
        #expect(a.diffIDs[0] == b.diffIDs[0])
        #expect(try Self.diff(control, control).differences == [])
    }

    @Test("refuses an input that never ends, such as /dev/zero, naming it")
    func endless() throws {
        let files = try TemporaryFiles()
        defer { files.remove() }
        let good = try files.write("good.tar", try TestArchive.basic.build().bytes)
        #expect(throws: ArchiveError.endless("/dev/zero")) { try ArchiveDiff.compare(control: "/dev/zero", experiment: good) }
    }

    @Test("reads archives from FIFOs, rereading the layers that differ from a spooled copy")
    func fifo() throws {
        let files = try TemporaryFiles()
        defer { files.remove() }
        var experiment = TestArchive.basic
        experiment.layers[1].entries[2].header.mtime = 3600
        let plainA = try files.write("a.tar", try TestArchive.basic.build().bytes)
        let plainB = try files.write("b.tar", try experiment.build().bytes)
        let expected = try ArchiveDiff.compare(control: plainA, experiment: plainB)
        let fifoA = files.directory + "/a.fifo", fifoB = files.directory + "/b.fifo"
        #expect(mkfifo(fifoA, 0o600) == 0 && mkfifo(fifoB, 0o600) == 0)
        // Opening a FIFO for writing blocks until the reader opens it, so each is fed from
        // its own thread.
        let feeders = [(plainA, fifoA), (plainB, fifoB)].map { plain, fifo in
            Thread {
                guard let bytes = FileManager.default.contents(atPath: plain), let handle = FileHandle(forWritingAtPath: fifo) else { return }
                try? handle.write(contentsOf: bytes)
                try? handle.close()
            }
        }
        feeders.forEach { $0.start() }
        #expect(try ArchiveDiff.compare(control: fifoA, experiment: fifoB) == expected)
        #expect(!expected.isEmpty)
    }
}
