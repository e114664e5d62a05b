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

    @Test("finds nothing between identical archives")
    func identical() throws {
        let result = try Self.diff(TestArchive.basic, TestArchive.basic)
        #expect(result.differences == [])
        #expect(ArchiveDiff.explain([]) == "The archives are identical.\n")
    }

    @Test("explains an mtime change down to the entry, and its echoes in manifest and config")
    func mtime() throws {
        var experiment = TestArchive.basic
        experiment.layers[1].entries[2].header.mtime = 3600
        let (differences, a, b) = try Self.diff(TestArchive.basic, experiment)
        #expect(differences == [
            Difference(layer: "manifest.json", path: "[0].Config", field: "value", control: Self.quoted(a.configName), experiment: Self.quoted(b.configName)),
            Difference(
                layer: "manifest.json", path: "[0].Layers[1]", field: "value",
                control: Self.quoted("\(a.diffIDs[1].hex)/layer.tar"), experiment: Self.quoted("\(b.diffIDs[1].hex)/layer.tar")
            ),
            Difference(
                layer: "config", path: "rootfs.diff_ids[1]", field: "value",
                control: Self.quoted(a.diffIDs[1].description), experiment: Self.quoted(b.diffIDs[1].description)
            ),
            Difference(layer: Self.layerName(1, a, b), path: TestArchive.helloBin, field: "mtime", control: "1", experiment: "3600"),
        ])
    }

    @Test("reports mode in octal and uid as a number")
    func modeAndUID() throws {
        var experiment = TestArchive.basic
        experiment.layers[1].entries[3].header.mode = 0o644
        experiment.layers[1].entries[3].header.uid = 1000
        let (differences, a, b) = try Self.diff(TestArchive.basic, experiment)
        #expect(Self.inLayer(differences, Self.layerName(1, a, b)) == [
            Difference(layer: Self.layerName(1, a, b), path: TestArchive.helloDir + "/README", field: "mode", control: "0444", experiment: "0644"),
            Difference(layer: Self.layerName(1, a, b), path: TestArchive.helloDir + "/README", field: "uid", control: "0", experiment: "1000"),
        ])
    }

    @Test("gives the first differing byte of content, past the read buffer")
    func contentOffset() throws {
        var content = [UInt8](repeating: UInt8(ascii: "a"), count: 100_000)
        var control = TestArchive.basic
        control.layers[0].entries.append(TestArchive.Entry("nix/store/big", content))
        var experiment = control
        content[70_123] = UInt8(ascii: "b")
        experiment.layers[0].entries[3] = TestArchive.Entry("nix/store/big", content)
        let (differences, a, b) = try Self.diff(control, experiment)
        #expect(Self.inLayer(differences, Self.layerName(0, a, b)) == [
            Difference(layer: Self.layerName(0, a, b), path: "nix/store/big", field: "content", control: "byte 70123: 0x61", experiment: "byte 70123: 0x62"),
        ])
    }

    @Test("reports a longer file as a size change and where the shorter one ends")
    func contentLength() throws {
        var experiment = TestArchive.basic
        experiment.layers[1].entries[3] = .file(TestArchive.helloDir + "/README", "Hello, world.\n!")
        let (differences, a, b) = try Self.diff(TestArchive.basic, experiment)
        let name = Self.layerName(1, a, b)
        #expect(Self.inLayer(differences, name) == [
            Difference(layer: name, path: TestArchive.helloDir + "/README", field: "size", control: "14", experiment: "15"),
            Difference(layer: name, path: TestArchive.helloDir + "/README", field: "content", control: "byte 14: end of data", experiment: "byte 14: 0x21"),
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
                layer: Self.layerName(0, a, b), path: "nix/store/43p2vm6zmimlr0cihf7f95kwnri5icl0-glibc-2.37-8/lib/libc.so.6",
                field: "only-in-experiment", control: nil, experiment: "regular file, 14 bytes"
            ),
        ])
        #expect(Self.inLayer(differences, Self.layerName(1, a, b)) == [
            Difference(layer: Self.layerName(1, a, b), path: TestArchive.helloDir + "/NEWS", field: "only-in-experiment", control: nil, experiment: "regular file, 5 bytes"),
        ])
    }

    @Test("reports a reordering once, naming the first entry out of place")
    func order() throws {
        var experiment = TestArchive.basic
        let entries = experiment.layers[1].entries
        experiment.layers[1].entries = [entries[0], entries[3], entries[1], entries[2]]
        let (differences, a, b) = try Self.diff(TestArchive.basic, experiment)
        #expect(Self.inLayer(differences, Self.layerName(1, a, b)) == [
            Difference(layer: Self.layerName(1, a, b), path: TestArchive.helloDir + "/bin", field: "order", control: "entry 2", experiment: "entry 3"),
        ])
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
            Difference(layer: name, path: TestArchive.helloBin, field: "order", control: "entry 3", experiment: "entry 4"),
            Difference(layer: name, path: TestArchive.helloBin, field: "mtime", control: "1", experiment: "7"),
        ])
    }

    @Test("reports pax records that differ")
    func paxRecords() throws {
        var control = TestArchive.basic
        control.layers[0].entries[2].header.paxRecords = [PaxRecord("SCHILY.xattr.user.note", "one")]
        var experiment = TestArchive.basic
        experiment.layers[0].entries[2].header.paxRecords = [PaxRecord("SCHILY.xattr.user.note", "two")]
        let (differences, a, b) = try Self.diff(control, experiment)
        #expect(Self.inLayer(differences, Self.layerName(0, a, b)) == [
            Difference(
                layer: Self.layerName(0, a, b), path: "nix/store/43p2vm6zmimlr0cihf7f95kwnri5icl0-glibc-2.37-8/lib/libc.so.6",
                field: "pax SCHILY.xattr.user.note", control: "one", experiment: "two"
            ),
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
            Difference(layer: "manifest.json", path: "[0].Config", field: "value", control: Self.quoted(a.configName), experiment: Self.quoted(b.configName)),
            Difference(layer: "config", path: "created", field: "value", control: created.0, experiment: created.1),
            Difference(layer: "config", path: "config.Env[2]", field: "value", control: "\"TZ=UTC\"", experiment: "\"TZ=Europe/Berlin\""),
            Difference(layer: "config", path: "history[0].created", field: "value", control: created.0, experiment: created.1),
            Difference(layer: "config", path: "history[1].created", field: "value", control: created.0, experiment: created.1),
        ])
    }

    @Test("reports a changed repo tag and a different number of layers")
    func manifestShape() throws {
        var experiment = TestArchive.basic
        experiment.repoTag = "hello:other"
        experiment.layers.append(TestArchive.Layer(paths: ["/nix/store/extra"], entries: [.file("nix/store/extra", "x")]))
        let (differences, _, b) = try Self.diff(TestArchive.basic, experiment)
        let manifest = Self.inLayer(differences, "manifest.json")
        #expect(manifest.contains(Difference(layer: "manifest.json", path: "[0].RepoTags[0]", field: "value", control: "\"hello:latest\"", experiment: "\"hello:other\"")))
        #expect(manifest.contains(Difference(layer: "manifest.json", path: "[0].Layers", field: "count", control: "2", experiment: "3")))
        let extra = "layer 3 (\(b.diffIDs[2].hex.prefix(12)))"
        #expect(differences.contains(Difference(layer: extra, path: nil, field: "only-in-experiment", control: nil, experiment: b.diffIDs[2].description)))
        // The first two layers are identical, so nothing is said about them.
        #expect(!differences.contains { $0.layer?.hasPrefix("layer 1") == true || $0.layer?.hasPrefix("layer 2") == true })
    }

    @Test("caps the differences of a layer and counts the rest")
    func cap() throws {
        var experiment = TestArchive.basic
        for index in experiment.layers[1].entries.indices { experiment.layers[1].entries[index].header.mtime = 99 }
        experiment.layers[1].entries[2].header.uid = 5
        let (differences, a, b) = try Self.diff(TestArchive.basic, experiment, limit: 3)
        let name = Self.layerName(1, a, b)
        #expect(Self.inLayer(differences, name) == [
            Difference(layer: name, path: TestArchive.helloDir, field: "mtime", control: "1", experiment: "99"),
            Difference(layer: name, path: TestArchive.helloDir + "/bin", field: "mtime", control: "1", experiment: "99"),
            Difference(layer: name, path: TestArchive.helloBin, field: "uid", control: "0", experiment: "5"),
            Difference(layer: name, path: nil, field: "… 2 more differences", control: nil, experiment: nil),
        ])
    }

    @Test("explains differences as indented lines grouped by layer")
    func explainText() {
        let text = ArchiveDiff.explain([
            Difference(layer: "config", path: "created", field: "value", control: "\"a\"", experiment: "\"b\""),
            Difference(layer: "layer 2 (abc)", path: "nix/store/x", field: "mtime", control: "1", experiment: "3600"),
            Difference(layer: "layer 2 (abc)", path: "nix/store/y", field: "only-in-experiment", control: nil, experiment: "directory"),
            Difference(layer: "layer 2 (abc)", path: "nix/store/z", field: "content", control: "byte 812: 0x41", experiment: "byte 812: end of data"),
        ])
        #expect(text == """
            The archives differ (4 differences):
            config:
              created: value "a" vs "b"
            layer 2 (abc):
              nix/store/x: mtime 1 vs 3600
              nix/store/y: only-in-experiment (absent) vs directory
              nix/store/z: content differs at byte 812: 0x41 vs end of data

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
        #expect(Self.inLayer(differences, Self.layerName(0, a, b)).map(\.experiment) == ["2"])
        #expect(Self.inLayer(differences, Self.layerName(1, a, b)).map(\.experiment) == ["3"])
    }

    @Test("reports outer member header fields for the archive as a whole")
    func outerHeaders() throws {
        var experiment = TestArchive.basic
        experiment.outerMtime = 3600
        let (differences, a, _) = try Self.diff(TestArchive.basic, experiment)
        #expect(differences == [
            Difference(layer: nil, path: "\(a.diffIDs[0].hex)/layer.tar", field: "mtime", control: "1", experiment: "3600"),
            Difference(layer: nil, path: "\(a.diffIDs[1].hex)/layer.tar", field: "mtime", control: "1", experiment: "3600"),
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
