import Builder
import Foundation
import Harness
import Testing
#if canImport(Glibc)
import Glibc
#endif

/// `check`, `merge` and `report` under faults: shared names, concurrent writers, commands that
/// must only read, builds that hang, and a check stopped or killed mid-build.
@Suite("check under faults")
struct CheckFaultTests {
    // MARK: Names, merges and readers

    @Test("two specs sharing a name are both checked, recorded and reported")
    func sharedName() throws {
        let fixture = try PlantedCorpus(label: "same-name")
        defer { fixture.remove() }
        for folder in ["app-1.0", "app-2.0"] {
            try FileManager.default.createDirectory(atPath: fixture.corpus + "/" + folder, withIntermediateDirectories: true)
            try #"{"name": "app", "tag": "none"}"#.write(toFile: fixture.corpus + "/\(folder)/spec.json", atomically: true, encoding: .utf8)
        }
        let json = fixture.root + "/summary.json", junit = fixture.root + "/junit.xml"
        let output = try fixture.check(["--vary=@none,+home", "--json", json, "--junit", junit])
        #expect(output.status == 0, "\(output.stderr)")
        let specs = try fixture.summary(json).specs
        #expect(specs.map(\.name) == ["app", "app"])
        #expect(Set(specs.map(\.path)) == [fixture.corpus + "/app-1.0/spec.json", fixture.corpus + "/app-2.0/spec.json"])
        let xml = try String(contentsOfFile: junit, encoding: .utf8)
        #expect(xml.components(separatedBy: "<testcase ").count == 3)
        let database = try ResultsDatabase.snapshot(path: fixture.database)
        let run = try #require(try database.runs().first)
        #expect(run.status == .finished && run.info.outcome == "passed")
        #expect(try database.specResults(runID: run.id).count == 2)
        let report = try CLI.run(["report", "--db", fixture.database, "--out", fixture.root + "/report"])
        #expect(report.status == 0, "\(report.stderr)")
    }

    /// A results file with `count` finished runs from `host`, one spec each.
    static func writeRuns(_ path: String, host: String, count: Int) throws {
        let database = try ResultsDatabase(path: path)
        for index in 0..<count {
            let runID = try database.beginRun(
                RunInfo(startedAt: Double(1000 + index), toolVersion: "0.1.0", gitCommit: nil, host: host, options: "{}"))
            try database.record(
                SpecResult(
                    specName: "spec-\(index)", specPath: "/corpus/spec-\(index).json", specDigest: Digest.of(Data("\(index)".utf8)),
                    expectation: .reproducible, outcome: .reproducible, passed: true,
                    builds: [BuildResult(role: .control, imageDigest: Digest.of(Data("\(host)\(index)".utf8)))]),
                runID: runID)
            try database.finishRun(id: runID, outcome: "passed", endedAt: Double(1001 + index))
        }
        try database.close()
    }

    @Test("a merge into the database a check is writing loses neither the check's results nor the merged runs")
    func mergeWhileChecking() throws {
        let fixture = try PlantedCorpus(label: "merge-live")
        defer { fixture.remove() }
        try fixture.addSpec("a-slow", plant: "slow")
        try fixture.addSpec("b-slow", plant: "slow")
        let source = fixture.root + "/shard.sqlite"
        try Self.writeRuns(source, host: "shard", count: 200)

        let check = try Background.start(["check", fixture.corpus, "--builder", fixture.builder, "--db", fixture.database, "--jobs", "1", "--vary=@none,+home"])
        #expect(Background.waitUntil { (try? ResultsDatabase.snapshot(path: fixture.database).runs().count) == 1 })
        // Twice: the second merge adds nothing, and both run while the check is still building.
        for _ in 0..<2 {
            let merge = try CLI.run(["merge", source, "-o", fixture.database])
            #expect(merge.status == 0, "\(merge.stderr)")
        }
        check.waitUntilExit()
        #expect(check.terminationStatus == 0)

        let database = try ResultsDatabase.snapshot(path: fixture.database)
        let runs = try database.runs()
        #expect(runs.count == 201)
        let own = try #require(runs.first { $0.info.host != "shard" })
        #expect(own.status == .finished && own.info.outcome == "passed")
        #expect(try database.specResults(runID: own.id).map(\.specName) == ["a-slow", "b-slow"])
        #expect(!FileManager.default.fileExists(atPath: fixture.database + "-wal"))
        let leftovers = try FileManager.default.contentsOfDirectory(atPath: fixture.root).filter { $0.contains("tmp") }
        #expect(leftovers.isEmpty)
    }

    @Test("two merges into one new file at once both keep their runs and both succeed")
    func concurrentMerges() throws {
        let root = try CLI.temporaryDirectory("merge-race")
        defer { try? FileManager.default.removeItem(atPath: root) }
        try Self.writeRuns(root + "/alpha.sqlite", host: "alpha", count: 150)
        try Self.writeRuns(root + "/beta.sqlite", host: "beta", count: 150)
        for attempt in 0..<3 {
            let target = root + "/merged-\(attempt).sqlite"
            let first = try Background.start(["merge", root + "/alpha.sqlite", "-o", target])
            let second = try Background.start(["merge", root + "/beta.sqlite", "-o", target])
            first.waitUntilExit()
            second.waitUntilExit()
            #expect(first.terminationStatus == 0 && second.terminationStatus == 0)
            let runs = try ResultsDatabase.snapshot(path: target).runs()
            #expect(runs.filter { $0.info.host == "alpha" }.count == 150)
            #expect(runs.filter { $0.info.host == "beta" }.count == 150)
        }
    }

    /// SHA-256 of the file and of its -wal and -shm, or "absent".
    static func fingerprint(_ path: String) -> [String] {
        ["", "-wal", "-shm"].map { suffix in
            FileManager.default.contents(atPath: path + suffix).map { Digest.of($0).description } ?? "absent"
        }
    }

    @Test("report only reads: a finished, a killed and a newer database stay byte-identical with their -wal and -shm")
    func reportOnlyReads() throws {
        let fixture = try PlantedCorpus(label: "report-reads")
        defer { fixture.remove() }
        try fixture.addSpec("a-fast", plant: "none")
        try fixture.addSpec("b-slow", plant: "slow")
        #expect(try fixture.check(["--vary=@none,+home", "--jobs", "1"]).status == 0)

        // Finished: closed cleanly, so no -wal or -shm, and report creates none.
        let finished = Self.fingerprint(fixture.database)
        #expect(finished[1] == "absent" && finished[2] == "absent")
        #expect(try CLI.run(["report", "--db", fixture.database, "--out", fixture.root + "/r1"]).status == 0)
        #expect(Self.fingerprint(fixture.database) == finished)

        // Killed mid-run: its -wal and -shm stay behind (and its work folder, inside the fixture).
        try FileManager.default.createDirectory(atPath: fixture.root + "/tmp", withIntermediateDirectories: true)
        let check = try Background.start(
            ["check", fixture.corpus, "--builder", fixture.builder, "--db", fixture.database, "--jobs", "1", "--vary=@none,+home"],
            environment: ProcessInfo.processInfo.environment.merging(["TMPDIR": fixture.root + "/tmp"]) { $1 })
        #expect(Background.waitUntil { (try? ResultsDatabase.snapshot(path: fixture.database).runs().count) == 2 })
        kill(check.processIdentifier, SIGKILL)
        check.waitUntilExit()
        let killed = Self.fingerprint(fixture.database)
        #expect(killed[1] != "absent" && killed[2] != "absent")
        let report = try CLI.run(["report", "--db", fixture.database, "--out", fixture.root + "/r2"])
        #expect(report.status == 0, "\(report.stderr)")
        #expect(Self.fingerprint(fixture.database) == killed)
        let markdown = try String(contentsOfFile: fixture.root + "/r2/summary.md", encoding: .utf8)
        #expect(markdown.contains("b-slow"))

        // Newer: neither report nor check may touch it.
        let newer = fixture.root + "/newer.sqlite"
        let database = try ResultsDatabase(path: newer)
        try database.close()
        let sqlite = try Background.start(["/usr/bin/env", "python3", "-c", "import sqlite3,sys; c=sqlite3.connect(sys.argv[1]); c.execute(\"insert into grdb_migrations values ('v99')\"); c.commit(); c.close()", newer], executable: "/usr/bin/env")
        sqlite.waitUntilExit()
        let before = Self.fingerprint(newer)
        #expect(before[1] == "absent" && before[2] == "absent")
        let refusedReport = try CLI.run(["report", "--db", newer, "--out", fixture.root + "/r3"])
        #expect(refusedReport.status == 1 && refusedReport.stderr.contains("newer repro-check"), "\(refusedReport.stderr)")
        let refusedCheck = try CLI.run(["check", fixture.corpus, "--builder", fixture.builder, "--db", newer, "--vary=@none"])
        #expect(refusedCheck.status == 1 && refusedCheck.stderr.contains("newer repro-check"), "\(refusedCheck.stderr)")
        #expect(Self.fingerprint(newer) == before)
    }

    @Test("report on a missing or empty file says so in one line, exits 2 and creates nothing")
    func reportMissingOrEmpty() throws {
        let root = try CLI.temporaryDirectory("report-missing")
        defer { try? FileManager.default.removeItem(atPath: root) }
        let missing = root + "/missing.sqlite"
        let absent = try CLI.run(["report", "--db", missing, "--out", root + "/out"])
        #expect(absent.status == 2)
        #expect(absent.stderr.split(separator: "\n").count == 1 && absent.stderr.contains("\(missing) does not exist"), "\(absent.stderr)")
        let empty = root + "/empty.sqlite"
        #expect(FileManager.default.createFile(atPath: empty, contents: Data()))
        let blank = try CLI.run(["report", "--db", empty, "--out", root + "/out"])
        #expect(blank.status == 2)
        #expect(blank.stderr.split(separator: "\n").count == 1 && blank.stderr.contains("\(empty) is empty"), "\(blank.stderr)")
        #expect(try FileManager.default.contentsOfDirectory(atPath: root) == ["empty.sqlite"])
        #expect(FileManager.default.contents(atPath: empty) == Data())
    }

    // MARK: Hanging, stopped and killed builds

    static let store = CLI.repositoryRoot + "/Corpus/store"
    static let hello = "dhcb9jz9r22yrwjj82la99bbl6chybxm-hello-2.12.1"

    /// A corpus of one real spec whose commands (`fakeRootCommands` unless `key` says otherwise)
    /// sleep for `marker` seconds, a number no other process on the machine is likely to sleep
    /// for, so its processes can be found.
    struct SleepingCorpus {
        let root: String
        let marker: Int
        var corpus: String { root + "/corpus" }
        var database: String { root + "/repro.sqlite" }
        /// The check's own `TMPDIR`: its run folder and disorderfs mounts go here.
        var temporary: String { root + "/tmp" }

        init(label: String, key: String = "fakeRootCommands") throws {
            root = try CLI.temporaryDirectory(label)
            chmod(root, 0o755)
            marker = 800_000 + Int.random(in: 0..<100_000)
            let fm = FileManager.default
            try fm.createDirectory(atPath: corpus + "/sleepy", withIntermediateDirectories: true)
            try fm.createDirectory(atPath: temporary, withIntermediateDirectories: true)
            try #"{"name": "sleepy", "store": "\#(CheckFaultTests.store)", "contents": ["\#(CheckFaultTests.hello)"], "\#(key)": "sleep \#(marker)"}"#
                .write(toFile: corpus + "/sleepy/spec.json", atomically: true, encoding: .utf8)
        }

        func start(_ extra: [String] = []) throws -> Process {
            try Background.start(
                ["check", corpus, "--db", database, "--jobs", "2", "--vary=@none,+fileordering"] + extra,
                environment: ProcessInfo.processInfo.environment.merging(["TMPDIR": temporary]) { $1 })
        }

        /// A check whose two builds are both inside their sleep (past fakeroot's start-up, when a
        /// stop would leave its faked daemon behind), the experiment on a disorderfs mount.
        func startSleeping() throws -> Process {
            let check = try start()
            #expect(Background.waitUntil(seconds: 60) { sleepers.count >= 2 && !mounts.isEmpty })
            return check
        }

        /// `sleep` processes still sleeping for the marker, one per build (zombies excepted: they
        /// run no more; the shells that started them do not count).
        var sleepers: [pid_t] { CheckFaultTests.processes(where: { $0 == "sleep \(marker)" }) }
        var mounts: [String] { CheckFaultTests.mounts(under: temporary) }
        var leftovers: [String] { (try? FileManager.default.contentsOfDirectory(atPath: temporary)) ?? ["(unreadable)"] }

        func remove() {
            for pid in sleepers { kill(pid, SIGKILL) }
            for mount in mounts { _ = try? CLI.run(["/bin/umount", "-l", mount]) }
            try? FileManager.default.removeItem(atPath: root)
        }
    }

    @Test("a build that never ends is recorded as a timeout, its process group killed")
    func timeout() throws {
        // extraCommands, not fakeRootCommands: a timeout may land while fakeroot is still starting
        // its faked daemon, before fakeroot's trap could stop it.
        let fixture = try SleepingCorpus(label: "timeout", key: "extraCommands")
        defer { fixture.remove() }
        let json = fixture.root + "/summary.json", junit = fixture.root + "/junit.xml"
        let check = try fixture.start(["--timeout", "4", "--json", json, "--junit", junit])
        check.waitUntilExit()
        #expect(check.terminationStatus == 1)
        let document = try JSONDecoder().decode(JSONSummary.Document.self, from: Data(contentsOf: URL(fileURLWithPath: json)))
        let spec = try #require(document.specs.first)
        #expect(spec.outcome == .timeout && !spec.passed)
        #expect(spec.builds.contains { $0.error?.contains("4 s timeout") == true })
        let xml = try String(contentsOfFile: junit, encoding: .utf8)
        #expect(xml.contains("type=\"timeout\""), "\(xml)")
        #expect(fixture.sleepers.isEmpty)
        #expect(fixture.mounts.isEmpty && fixture.leftovers.isEmpty, "\(fixture.mounts) \(fixture.leftovers)")
        let stored = try ResultsDatabase.snapshot(path: fixture.database)
        let run = try #require(try stored.runs().first)
        #expect(try stored.specResults(runID: run.id).first?.outcome == .timeout)
    }

    @Test("SIGINT or SIGTERM stops the builds, leaves no folder, mount or process, marks the run and exits 130",
          arguments: [SIGINT, SIGTERM])
    func stopped(_ signal: Int32) throws {
        let fixture = try SleepingCorpus(label: "stopped-\(signal)")
        defer { fixture.remove() }
        let before = Self.conventionFolders()
        let check = try fixture.startSleeping()
        kill(check.processIdentifier, signal)
        check.waitUntilExit()
        #expect(check.terminationStatus == 130)
        #expect(fixture.sleepers.isEmpty)
        #expect(fixture.mounts.isEmpty && fixture.leftovers.isEmpty, "\(fixture.mounts) \(fixture.leftovers)")
        #expect(Self.staleConventionFolders(since: before).isEmpty)
        let run = try #require(try ResultsDatabase.snapshot(path: fixture.database).runs().first)
        #expect(run.status == .interrupted)
    }

    @Test("after a SIGKILL the builds die with their parent and the next run removes the folder and mount left behind")
    func killed() throws {
        let fixture = try SleepingCorpus(label: "killed")
        defer { fixture.remove() }
        let before = Self.conventionFolders()
        let check = try fixture.startSleeping()
        kill(check.processIdentifier, SIGKILL)
        check.waitUntilExit()
        // The supervisors get SIGTERM from the kernel and stop their groups.
        #expect(Background.waitUntil(seconds: 20) { fixture.sleepers.isEmpty })
        #expect(!fixture.mounts.isEmpty && !fixture.leftovers.isEmpty, "a killed run cannot clean up after itself")

        // The next run, even of another corpus, sweeps what the dead one left.
        let planted = try PlantedCorpus(label: "killed-next")
        defer { planted.remove() }
        try planted.addSpec("plain", plant: "none")
        let next = try Background.start(
            ["check", planted.corpus, "--builder", planted.builder, "--db", planted.database, "--vary=@none,+home"],
            environment: ProcessInfo.processInfo.environment.merging(["TMPDIR": fixture.temporary]) { $1 })
        next.waitUntilExit()
        #expect(next.terminationStatus == 0)
        #expect(fixture.mounts.isEmpty && fixture.leftovers.isEmpty, "\(fixture.mounts) \(fixture.leftovers)")
        #expect(Self.staleConventionFolders(since: before).isEmpty)
        let run = try #require(try ResultsDatabase.snapshot(path: fixture.database).runs().first)
        #expect(run.status == .incomplete)
    }

    // MARK: Helpers

    /// Live (non-zombie) processes whose command line, arguments joined by spaces, satisfies `test`.
    static func processes(where test: (String) -> Bool) -> [pid_t] {
        let entries = (try? FileManager.default.contentsOfDirectory(atPath: "/proc")) ?? []
        return entries.compactMap { entry -> pid_t? in
            guard let pid = pid_t(entry), pid != getpid(),
                let command = FileManager.default.contents(atPath: "/proc/\(entry)/cmdline"),
                test(String(decoding: command.map { $0 == 0 ? 32 : $0 }, as: UTF8.self).trimmingCharacters(in: .whitespaces)),
                let stat = try? String(contentsOfFile: "/proc/\(entry)/stat", encoding: .utf8),
                stat.split(separator: ")").last?.split(separator: " ").first != "Z"
            else { return nil }
            return pid
        }
    }

    /// Mount points at or below `folder`, as this process sees them.
    static func mounts(under folder: String) -> [String] {
        guard let text = try? String(contentsOfFile: "/proc/self/mountinfo", encoding: .utf8) else { return [] }
        return text.split(separator: "\n").compactMap { line in
            let fields = line.split(separator: " ")
            guard fields.count > 4 else { return nil }
            let point = String(fields[4])
            return point == folder || point.hasPrefix(folder + "/") ? point : nil
        }
    }

    /// `/tmp/repro-check-<kind>-<pid>-XXXXXX` folders: where `repro-check build` children put theirs.
    static func conventionFolders() -> Set<String> {
        let entries = (try? FileManager.default.contentsOfDirectory(atPath: "/tmp")) ?? []
        return Set(entries.filter { name in
            let parts = name.split(separator: "-")
            return name.hasPrefix("repro-check-") && parts.count == 5 && pid_t(parts[3]) != nil && parts[4].count == 6
        })
    }

    /// Convention folders that appeared since `before` and whose process is gone.
    static func staleConventionFolders(since before: Set<String>) -> [String] {
        conventionFolders().subtracting(before).filter { name in
            guard let pid = pid_t(name.split(separator: "-")[3]) else { return false }
            return kill(pid, 0) != 0 && errno == ESRCH
        }.sorted()
    }
}
