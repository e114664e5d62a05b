import Builder
import Foundation
import Testing
#if canImport(Glibc)
import Glibc
#endif

/// A read-only store named by its own host path (`store` = `storeDir`), so the symlink join's
/// links lead to the real files, as on a real `/nix/store`: files hard-linked across paths and
/// into `.links` as `nix-store --optimise` leaves them, a symlink store path, a single-file store
/// path, a symlink to a host file outside the store, and a lock file Nix leaves beside a path.
struct ReadOnlyStore {
    let root: String
    var store: String { root + "/store" }
    var host: String { root + "/host" }
    /// The TMPDIR of every child run, so a leaked work folder is seen (and removed with `root`).
    var temporary: String { root + "/tmp" }
    /// Where the slow spec's commands announce that they run; writable by every build user.
    var signals: String { root + "/signals" }

    static let lib = "l9r346p3d25vs4g5v37f3r3f28js97kb-lib-1.0"
    static let app = "6cp643dzvlxxpkgbg5kzmwj47sam9zs2-app-1.0"
    static let data = "4lmnzx45iy43kwjqn1xna7z3dj8grrz5-data"
    static let alias = "awri8visnqf95b9ff0zbhj09spl83xrr-alias"
    static let hostLink = "rr6yr3c4dwa7m36096p14dq9hnpy77zx-hostlink"

    init(label: String) throws {
        root = try CLI.temporaryDirectory(label)
        let fm = FileManager.default
        chmod(root, 0o755)
        for folder in [store, host, root + "/spec"] { try fm.createDirectory(atPath: folder, withIntermediateDirectories: true) }
        for folder in [temporary, signals] {
            try fm.createDirectory(atPath: folder, withIntermediateDirectories: true)
            chmod(folder, 0o1777)
        }
        func file(_ path: String, _ text: String, _ mode: mode_t) throws {
            guard fm.createFile(atPath: path, contents: Data(text.utf8)) else { throw CLI.Failure(description: "cannot create \(path)") }
            chmod(path, mode)
        }
        try file(host + "/secret.conf", "host file, not ours\n", 0o444)
        try fm.createDirectory(atPath: "\(store)/\(Self.lib)/lib", withIntermediateDirectories: true)
        try fm.createDirectory(atPath: "\(store)/\(Self.lib)/share/doc", withIntermediateDirectories: true)
        try file("\(store)/\(Self.lib)/lib/libdemo.so", "ELF-ish library bytes\n", 0o555)
        try file("\(store)/\(Self.lib)/share/doc/common.txt", "text every path carries\n", 0o444)
        try fm.createDirectory(atPath: "\(store)/\(Self.app)/bin", withIntermediateDirectories: true)
        try fm.createDirectory(atPath: "\(store)/\(Self.app)/share/doc", withIntermediateDirectories: true)
        try file("\(store)/\(Self.app)/bin/app", "#!/bin/sh\nexec \(store)/\(Self.lib)/lib/libdemo.so \(store)/\(Self.data)\n", 0o555)
        try fm.linkItem(atPath: "\(store)/\(Self.lib)/share/doc/common.txt", toPath: "\(store)/\(Self.app)/share/doc/common.txt")
        try fm.createDirectory(atPath: store + "/.links", withIntermediateDirectories: true)
        try fm.linkItem(atPath: "\(store)/\(Self.lib)/share/doc/common.txt", toPath: store + "/.links/0fjh4xs7qg1pggp9mlaahggl7sdjcgkdz6ywvbjs6rnj4x0nq8yb")
        try file("\(store)/\(Self.data)", "a single-file store path\n", 0o444)
        try fm.createSymbolicLink(atPath: "\(store)/\(Self.alias)", withDestinationPath: "\(store)/\(Self.app)")
        try fm.createDirectory(atPath: "\(store)/\(Self.hostLink)/etc", withIntermediateDirectories: true)
        try fm.createSymbolicLink(atPath: "\(store)/\(Self.hostLink)/etc/host.conf", withDestinationPath: host + "/secret.conf")
        try file("\(store)/\(Self.app).lock", "", 0o600)
        // Read-only from the bottom up, as Nix leaves a store.
        for path in [Self.lib + "/lib", Self.lib + "/share/doc", Self.lib + "/share", Self.lib, Self.app + "/bin", Self.app + "/share/doc",
                     Self.app + "/share", Self.app, Self.hostLink + "/etc", Self.hostLink, ".links"] {
            chmod("\(store)/\(path)", 0o555)
        }
        chmod(store, 0o555)
        chmod(host, 0o555)
    }

    /// A spec joining three store paths at `/`; `commands` becomes its `script` (extraCommands
    /// unless told otherwise).
    func spec(_ name: String, commands: String = "mkdir -p tmp", script: String = "extraCommands") throws -> String {
        let spec: [String: Any] = [
            "name": name, "store": store, "storeDir": store, "tag": "latest",
            "contents": [Self.app, Self.hostLink, Self.lib],
            "config": ["Cmd": ["\(store)/\(Self.alias)/bin/app"]],
            script: commands,
        ]
        let path = "\(root)/spec/\(name).json"
        try JSONSerialization.data(withJSONObject: spec, options: [.sortedKeys]).write(to: URL(fileURLWithPath: path))
        return path
    }

    /// A spec whose commands announce themselves in `marker` and then wait for `release`.
    func slowSpec(marker: String, release: String, script: String = "extraCommands") throws -> String {
        try spec("slow", commands: "touch '\(marker)'; while [ ! -e '\(release)' ]; do sleep 0.1; done", script: script)
    }

    /// Processes still running (zombies aside) whose command line names this fixture: the
    /// spec's commands (their script names the marker) and fakeroot's `faked` (its state file
    /// lies in the children's TMPDIR).
    func survivors() -> [String] {
        let entries = (try? FileManager.default.contentsOfDirectory(atPath: "/proc")) ?? []
        return entries.compactMap { entry -> String? in
            guard let pid = Int32(entry), pid != getpid(),
                  let raw = FileManager.default.contents(atPath: "/proc/\(pid)/cmdline"),
                  let stat = try? String(contentsOfFile: "/proc/\(pid)/stat", encoding: .utf8),
                  let close = stat.lastIndex(of: ")")
            else { return nil }
            let state = stat[stat.index(after: close)...].split(separator: " ").first
            let command = String(decoding: raw.map { $0 == 0 ? 0x20 : $0 }, as: UTF8.self)
            return command.contains(root) && state != "Z" ? "\(pid): \(command)" : nil
        }.sorted()
    }

    var environment: [String: String] {
        var environment = ProcessInfo.processInfo.environment
        environment["TMPDIR"] = temporary
        return environment
    }

    func snapshot() throws -> StoreSnapshot { try StoreSnapshot([store, host]) }

    /// Work folders of runs that are over (any `repro-check-*` left in the children's TMPDIR).
    func leftovers() throws -> [String] {
        try FileManager.default.contentsOfDirectory(atPath: temporary).filter { $0.hasPrefix("repro-check-") }.sorted()
    }

    func remove() { TestFolder.remove(root) }
}

/// Nothing we only read may change: not a mode, owner, link count or byte of the store, of the
/// files its links lead to, nor of the host files a store symlink names; and no run leaves a
/// work folder behind, even when interrupted.
@Suite("store safety", .serialized)
struct StoreSafetyTests {
    @Test("plan, build, check and an interrupted check change nothing in a read-only store")
    func storeUntouched() throws {
        let fixture = try ReadOnlyStore(label: "store-safety")
        defer { fixture.remove() }
        let before = try fixture.snapshot()
        let spec = try fixture.spec("safety")

        let plan = try CLI.run(["plan", spec], environment: fixture.environment)
        #expect(plan.status == 0, "\(plan.stderr)")
        let planned = String(decoding: plan.stdout, as: UTF8.self)
        for name in [ReadOnlyStore.lib, ReadOnlyStore.app, ReadOnlyStore.data, ReadOnlyStore.alias, ReadOnlyStore.hostLink] {
            #expect(planned.contains("\(fixture.store)/\(name)\""), "\(name) in \(planned)")
        }
        #expect(!planned.contains(".lock") && !planned.contains(".links"))
        #expect(try fixture.snapshot().differences(from: before) == [], "after plan")

        let archives = try CLI.buildTwice(spec, into: fixture.root, environment: fixture.environment)
        #expect(!archives[0].isEmpty && archives[0] == archives[1], "two builds are identical")
        #expect(try fixture.snapshot().differences(from: before) == [], "after build")

        let check = try CLI.run(["check", spec, "--db", fixture.root + "/repro.sqlite", "--jobs", "1"], environment: fixture.environment)
        #expect(check.status == 0, "\(check.stderr)")
        #expect(try fixture.snapshot().differences(from: before) == [], "after check")

        let marker = fixture.signals + "/check-started", release = fixture.signals + "/release"
        defer { _ = FileManager.default.createFile(atPath: release, contents: Data()) }
        let status = try InterruptedRun.run(
            ["check", try fixture.slowSpec(marker: marker, release: release), "--db", fixture.root + "/interrupted.sqlite", "--jobs", "1"],
            environment: fixture.environment, marker: marker, signal: SIGINT
        )
        #expect(status == 130)
        #expect(try fixture.snapshot().differences(from: before) == [], "after an interrupted check")
    }

    struct Interruption: CustomTestStringConvertible, Sendable {
        var command: String
        var signal: Int32
        var script = "extraCommands"
        var testDescription: String { "\(command), signal \(signal), \(script)" }
    }

    @Test("an interrupted build or plan stops the spec's commands and removes its work folder and temporary output", arguments: [
        Interruption(command: "build", signal: SIGINT), Interruption(command: "build", signal: SIGTERM),
        Interruption(command: "plan", signal: SIGINT), Interruption(command: "build", signal: SIGINT, script: "fakeRootCommands"),
    ])
    func interrupted(_ interruption: Interruption) throws {
        let fixture = try ReadOnlyStore(label: "store-safety-signal")
        defer { fixture.remove() }
        let before = try fixture.snapshot()
        let marker = fixture.signals + "/started", release = fixture.signals + "/release"
        // Should a command survive (a failure), the release file ends it.
        defer { _ = FileManager.default.createFile(atPath: release, contents: Data()) }
        let output = fixture.root + "/out.tar"
        let spec = try fixture.slowSpec(marker: marker, release: release, script: interruption.script)
        let arguments = interruption.command == "build" ? ["build", spec, "-o", output] : ["plan", spec]
        let status = try InterruptedRun.run(arguments, environment: fixture.environment, marker: marker, signal: interruption.signal)
        #expect(status == 130)
        // Stopped, not orphaned: the command (which would wait for `release` for ever) and faked.
        #expect(Background.waitUntil(seconds: 5) { fixture.survivors().isEmpty }, "\(fixture.survivors())")
        #expect(try fixture.leftovers() == [])
        #expect(try FileManager.default.contentsOfDirectory(atPath: fixture.root).filter { $0.contains("out.tar") } == [])
        #expect(try fixture.snapshot().differences(from: before) == [])
    }

    @Test("a finished or failed build leaves no work folder")
    func noLeftovers() throws {
        let fixture = try ReadOnlyStore(label: "store-safety-leftovers")
        defer { fixture.remove() }
        let good = try CLI.run(["build", try fixture.spec("good"), "-o", fixture.root + "/good.tar"], environment: fixture.environment)
        #expect(good.status == 0, "\(good.stderr)")
        let bad = try CLI.run(["build", try fixture.spec("bad", commands: "mkdir -p a/b && chmod 0 a/b a && exit 3")],
                              environment: fixture.environment)
        #expect(bad.status == 1 && bad.stderr.contains("extraCommands failed"), "\(bad.stderr)")
        #expect(try fixture.leftovers() == [])
    }

    @Test("naming .links, a lock file or a path outside the store directory is refused as not a store path")
    func notStorePaths() throws {
        let fixture = try ReadOnlyStore(label: "store-safety-names")
        defer { fixture.remove() }
        for reference in [fixture.store + "/.links", ReadOnlyStore.app + ".lock", fixture.store + "-evil/" + ReadOnlyStore.app,
                          fixture.store + "/../store/" + ReadOnlyStore.app] {
            let spec: [String: Any] = ["name": "bad", "store": fixture.store, "storeDir": fixture.store, "contents": [reference]]
            let path = fixture.root + "/spec/bad.json"
            try JSONSerialization.data(withJSONObject: spec).write(to: URL(fileURLWithPath: path))
            let result = try CLI.run(["plan", path], environment: fixture.environment)
            #expect(result.status == 2, "\(reference): \(result.stderr)")
            #expect(result.stderr == "repro-check: \(path): contents names \(reference), which is not a store path: expected \(fixture.store)/<32-character hash>-<name>\n")
        }
    }
}
