import Builder
import Foundation
import Testing
#if canImport(Glibc)
import Glibc
#endif

/// A small closure built by a real Nix (nix-bin, single-user as root: Nix creates `/nix/store`
/// and `/nix/var` itself on first use) into the real `/nix/store`, then optimised so its files
/// are hard-linked across paths and into `.links`. The store persists between runs; building
/// again finds every path valid and changes nothing.
struct RealNixClosure {
    let root: String
    /// The roots: `top` (a directory, joined at `/`) and `link` (a symlink store path to it).
    let top: String
    let link: String
    let single: String
    /// `nix-store -qR top link`, sorted.
    let closure: [String]

    /// Settings of our own: no daemon, no sandbox (the builder is the host's /bin/sh), no
    /// substituters, no network; no nix.conf of the host is read. Auto-optimise hard-links
    /// each new path's files into `.links` as it is registered, without a walk of the store.
    static func nixEnvironment(root: String) -> [String: String] {
        [
            "PATH": "/usr/bin:/bin", "HOME": root, "XDG_CACHE_HOME": root + "/cache", "TMPDIR": root + "/tmp",
            "NIX_CONF_DIR": root + "/nix-conf", "NIX_USER_CONF_FILES": root + "/nix-conf/none.conf",
            "NIX_CONFIG": "build-users-group =\nsandbox = false\nsubstituters =\nexperimental-features = nix-command\nauto-optimise-store = true\n",
        ]
    }

    /// Every derivation writes the same `share/doc/common.txt`, which `--optimise` hard-links;
    /// `mid` paths reference two leaves each, by a text file and by a symlink.
    static let expression = #"""
        let
          mk = name: script: derivation {
            inherit name;
            builder = "/bin/sh";
            args = [ "-c" script ];
            system = builtins.currentSystem;
            PATH = "/usr/bin:/bin";
          };
          common = "text every directory of this closure carries, so nix-store --optimise hard-links it";
          leaves = builtins.genList (i: mk "repro-check-test-leaf-${toString i}" ''
            mkdir -p $out/share/doc $out/lib
            echo '${common}' > $out/share/doc/common.txt
            echo leaf ${toString i} > $out/lib/leaf.txt
          '') 16;
          mids = builtins.genList (i: mk "repro-check-test-mid-${toString i}" ''
            mkdir -p $out/share/doc $out/lib
            echo '${common}' > $out/share/doc/common.txt
            echo ${builtins.elemAt leaves (i * 2)} > $out/lib/refs
            ln -s ${builtins.elemAt leaves (i * 2 + 1)}/lib/leaf.txt $out/lib/leaf-link
          '') 8;
          single = mk "repro-check-test-single" "echo 'a single-file store path' > $out";
          top = mk "repro-check-test-top" ''
            mkdir -p $out/bin $out/share/doc
            echo '${common}' > $out/share/doc/common.txt
            printf '#!/bin/sh\ncat ${single}\n' > $out/bin/app
            chmod 755 $out/bin/app
            echo ${toString mids} > $out/share/mids
          '';
          link = mk "repro-check-test-link" "ln -s ${top} $out";
        in { inherit top link single; }
        """#

    init() throws {
        root = try CLI.temporaryDirectory("nix")
        let fm = FileManager.default
        chmod(root, 0o755)
        for folder in ["/nix-conf", "/tmp", "/cache", "/signals", "/spec"] { try fm.createDirectory(atPath: root + folder, withIntermediateDirectories: true) }
        // The check's builds run as other users too: they need a TMPDIR and the signals folder.
        chmod(root + "/tmp", 0o1777)
        chmod(root + "/signals", 0o1777)
        try Self.expression.write(toFile: root + "/closure.nix", atomically: true, encoding: .utf8)
        let environment = Self.nixEnvironment(root: root)
        func nix(_ tool: String, _ arguments: [String]) throws -> [String] {
            let output = try Tool.check("/usr/bin/" + tool, arguments, environment: environment)
            return String(decoding: output.stdout, as: UTF8.self).split(separator: "\n").map(String.init)
        }
        var outputs: [String: String] = [:]
        for attribute in ["top", "link", "single"] {
            outputs[attribute] = try nix("nix-build", ["--no-out-link", root + "/closure.nix", "-A", attribute]).last
        }
        guard let top = outputs["top"], let link = outputs["link"], let single = outputs["single"] else {
            throw CLI.Failure(description: "nix-build printed no output path")
        }
        self.top = top
        self.link = link
        self.single = single
        // Paths built before without auto-optimise are linked by one walk of the store, once.
        var common = stat()
        if lstat(top + "/share/doc/common.txt", &common) != 0 || common.st_nlink < 3 {
            _ = try nix("nix-store", ["--optimise"])
        }
        closure = try nix("nix-store", ["-qR", top, link]).sorted()
        _ = try nix("nix", ["path-info", "--json", "--recursive", top, link]).joined(separator: "\n")
            .write(toFile: root + "/graph.json", atomically: true, encoding: .utf8)
    }

    func nix(_ tool: String, _ arguments: [String]) throws -> CLI.Output {
        try Tool.run("/usr/bin/" + tool, arguments, environment: Self.nixEnvironment(root: root))
    }

    /// A spec over the real store: `top` joined at `/`, `link` named by the config.
    func spec(_ name: String, graph: Bool, commands: String = "") throws -> String {
        var spec: [String: Any] = [
            "name": name, "store": "/nix/store", "storeDir": "/nix/store", "tag": "latest",
            "contents": [top], "config": ["Cmd": [link + "/bin/app"]], "extraCommands": commands,
        ]
        if graph { spec["graph"] = root + "/graph.json" }
        // In a folder of its own: the build_path variation copies the spec's folder.
        let path = "\(root)/spec/\(name).json"
        try JSONSerialization.data(withJSONObject: spec, options: [.sortedKeys]).write(to: URL(fileURLWithPath: path))
        return path
    }

    var environment: [String: String] {
        var environment = ProcessInfo.processInfo.environment
        environment["TMPDIR"] = root + "/tmp"
        return environment
    }

    func remove() { TestFolder.remove(root) }
}

/// The builder against a real Nix store (`store` = `storeDir` = `/nix/store`, `.links`, lock
/// files, hard links across paths): it finds the closure Nix knows, builds the same bytes
/// twice, real clients load the image, and Nix finds nothing modified afterwards.
@Suite("real Nix store", .serialized)
struct RealNixStoreTests {
    @Test("plan finds the closure nix-store -qR gives, by scanning and from nix path-info; build, check and an interrupted check change nothing")
    func closureAndIntegrity() throws {
        // Another run of this test (another checkout) would optimise the same store: one at a
        // time. The store directory's own flock is used by nothing in Nix.
        let lock = open("/nix/store", O_RDONLY | O_DIRECTORY | O_CLOEXEC)
        if lock >= 0 { flock(lock, LOCK_EX) }
        defer { if lock >= 0 { close(lock) } }
        let fixture = try RealNixClosure()
        defer { fixture.remove() }
        #expect(fixture.closure.count >= 20 && fixture.closure.count <= 50, "\(fixture.closure.count) paths")
        #expect(fixture.closure.contains(fixture.single))
        #expect(FileManager.default.fileExists(atPath: "/nix/store/.links"))
        let before = try StoreSnapshot(fixture.closure)
        let linked = before.entries.values.filter { $0.type == S_IFREG && $0.links > 2 }
        #expect(linked.count >= 20, "optimise hard-linked the shared file across paths")

        for graph in [false, true] {
            let plan = try CLI.run(["plan", try fixture.spec(graph ? "spec-with-graph" : "spec-scanning", graph: graph)], environment: fixture.environment)
            #expect(plan.status == 0, "\(plan.stderr)")
            let layers = (try? JSONSerialization.jsonObject(with: plan.stdout)) as? [[String]] ?? []
            #expect(layers.flatMap { $0 }.sorted() == fixture.closure, graph ? "from nix path-info" : "by scanning")
        }

        let spec = try fixture.spec("image", graph: false)
        let archives = try CLI.buildTwice(spec, into: fixture.root, environment: fixture.environment)
        #expect(!archives[0].isEmpty && archives[0] == archives[1], "two builds are identical")

        let archive = fixture.root + "/a.tar"
        let inspect = try Tool.check("/usr/bin/skopeo", ["inspect", "docker-archive:" + archive])
        #expect(String(decoding: inspect.stdout, as: UTF8.self).contains("\"Layers\""))
        try Tool.check("/usr/bin/skopeo", ["copy", "--quiet", "docker-archive:" + archive, "oci:\(fixture.root)/oci:latest"])
        try Tool.check("/usr/bin/umoci", ["unpack", "--image", "\(fixture.root)/oci:latest", fixture.root + "/bundle"])
        let rootfs = fixture.root + "/bundle/rootfs"
        #expect(try FileManager.default.destinationOfSymbolicLink(atPath: rootfs + "/bin/app") == fixture.top + "/bin/app")
        #expect(FileManager.default.contents(atPath: rootfs + fixture.single) == Data("a single-file store path\n".utf8))
        #expect(try FileManager.default.destinationOfSymbolicLink(atPath: rootfs + fixture.link) == fixture.top)

        let check = try CLI.run(["check", spec, "--db", fixture.root + "/repro.sqlite", "--jobs", "1"], environment: fixture.environment)
        #expect(check.status == 0, "\(check.stderr)")

        // Interrupted while its commands run: they announce it in `started`, then wait.
        let started = fixture.root + "/signals/started", release = fixture.root + "/signals/release"
        defer { _ = FileManager.default.createFile(atPath: release, contents: Data()) }
        let slow = try fixture.spec("slow", graph: false, commands: "touch '\(started)'; while [ ! -e '\(release)' ]; do sleep 0.1; done")
        let status = try InterruptedRun.run(
            ["check", slow, "--db", fixture.root + "/interrupted.sqlite", "--jobs", "1"],
            environment: fixture.environment, marker: started, signal: SIGINT
        )
        #expect(status == 130)

        let verify = try fixture.nix("nix-store", ["--verify", "--check-contents"])
        #expect(verify.status == 0 && !verify.stderr.contains("modified"), "\(verify.stderr)")
        #expect(try StoreSnapshot(fixture.closure).differences(from: before) == [])
    }
}
