import Foundation
import Testing
@testable import Builder

@Suite("StoreIndex")
struct StoreIndexTests {
    static let bash = "l9r346p3d25vs4g5v37f3r3f28js97kb-bash-5.2"
    static let coreutils = "6cp643dzvlxxpkgbg5kzmwj47sam9zs2-coreutils-9.4"
    static let hello = "4lmnzx45iy43kwjqn1xna7z3dj8grrz5-hello-2.12.1"
    /// A well-formed name that is not in the store.
    static let absent = "awri8visnqf95b9ff0zbhj09spl83xrr-absent-1.0"

    /// A store folder holding bash (a directory), coreutils (a file) and hello (a symlink).
    private static func withStore(storeDir: String = "/nix/store", _ body: (StoreIndex) throws -> Void) throws {
        let root = try FixtureStore.temporaryDirectory("store-index")
        defer { FixtureStore.remove(root) }
        try FileManager.default.createDirectory(atPath: root + "/" + bash + "/bin", withIntermediateDirectories: true)
        #expect(FileManager.default.createFile(atPath: root + "/" + coreutils, contents: Data("x".utf8)))
        try FileManager.default.createSymbolicLink(atPath: root + "/" + hello, withDestinationPath: bash)
        try body(try StoreIndex(hostRoot: root, storeDir: storeDir))
    }

    @Test(
        "accepts names of 32 nix-base32 characters, a dash and a name",
        arguments: [bash, coreutils, "00000000000000000000000000000000-x", "zzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzz-a.b+c_d=e?f"]
    )
    func validNames(name: String) {
        #expect(StoreIndex.isStorePathName(name))
    }

    @Test(
        "rejects names without a valid hash, dash or name",
        arguments: [
            "l9r346p3d25vs4g5v37f3r3f28js97kb-", "l9r346p3d25vs4g5v37f3r3f28js97kb", "l9r346p3d25vs4g5v37f3r3f28js97k-bash",
            "l9r346p3d25vs4g5v37f3r3f28js97kbb-bash", "e9r346p3d25vs4g5v37f3r3f28js97kb-bash", "o9r346p3d25vs4g5v37f3r3f28js97kb-bash",
            "u9r346p3d25vs4g5v37f3r3f28js97kb-bash", "t9r346p3d25vs4g5v37f3r3f28js97kb-bash", "L9R346P3D25VS4G5V37F3R3F28JS97KB-bash",
            "l9r346p3d25vs4g5v37f3r3f28js97kb_bash", "", "bash",
        ]
    )
    func invalidNames(name: String) {
        #expect(!StoreIndex.isStorePathName(name))
    }

    @Test("lists the store's children as image paths, sorted bytewise")
    func imagePaths() throws {
        try Self.withStore { index in
            #expect(index.imagePaths == ["/nix/store/" + Self.hello, "/nix/store/" + Self.coreutils, "/nix/store/" + Self.bash])
            #expect(index.hostPath("/nix/store/" + Self.bash) == index.hostRoot + "/" + Self.bash)
            #expect(index.contains("/nix/store/" + Self.coreutils))
            #expect(!index.contains("/nix/store/" + Self.absent))
        }
    }

    @Test("rejects a store folder with a child that is not a store path")
    func badChild() throws {
        let root = try FixtureStore.temporaryDirectory("store-index-bad")
        defer { FixtureStore.remove(root) }
        #expect(FileManager.default.createFile(atPath: root + "/README", contents: Data()))
        #expect(throws: StoreError.badName(root + "/README")) { try StoreIndex(hostRoot: root, storeDir: "/nix/store") }
        #expect(throws: StoreError.missingStore(root + "/README")) { try StoreIndex(hostRoot: root + "/README", storeDir: "/nix/store") }
        #expect(throws: StoreError.missingStore(root + "/none")) { try StoreIndex(hostRoot: root + "/none", storeDir: "/nix/store") }
    }

    @Test("resolves bare names, image paths and paths inside a store path")
    func resolve() throws {
        try Self.withStore { index in
            let bash = "/nix/store/" + Self.bash
            #expect(index.resolve(Self.bash) == bash)
            #expect(index.resolve(bash) == bash)
            #expect(index.resolve(bash + "/bin/bash") == bash)
            #expect(index.resolve(Self.bash + "/bin") == bash)
            #expect(index.resolve(bash + "/") == bash)
            #expect(index.resolve(Self.hello) == "/nix/store/" + Self.hello)
        }
    }

    @Test("resolves nothing outside the store")
    func resolveMisses() throws {
        try Self.withStore { index in
            #expect(index.resolve(Self.absent) == nil)
            #expect(index.resolve("/nix/store/" + Self.absent + "/bin") == nil)
            #expect(index.resolve("/nix/store") == nil)
            #expect(index.resolve("/nix/store/") == nil)
            #expect(index.resolve("") == nil)
            #expect(index.resolve("/usr/bin/env") == nil)
            #expect(index.resolve("/gnu/store/" + Self.bash) == nil)
            #expect(index.resolve("bash-5.2") == nil)
        }
    }

    @Test("resolves against a store directory other than /nix/store")
    func otherStoreDir() throws {
        try Self.withStore(storeDir: "/gnu/store") { index in
            #expect(index.imagePaths.first == "/gnu/store/" + Self.hello)
            #expect(index.resolve("/gnu/store/" + Self.bash + "/bin") == "/gnu/store/" + Self.bash)
            #expect(index.resolve(Self.coreutils) == "/gnu/store/" + Self.coreutils)
            #expect(index.resolve("/nix/store/" + Self.bash) == nil)
            #expect(index.references(inText: "/nix/store/" + Self.bash) == [])
        }
    }

    @Test("finds store paths in config strings: Cmd, Env values and keys")
    func referencesInConfig() throws {
        let bash = "/nix/store/" + Self.bash, coreutils = "/nix/store/" + Self.coreutils, hello = "/nix/store/" + Self.hello
        let config = try JSONParser.parse(#"""
        {
          "Cmd": ["\#(bash)/bin/bash", "-c", "exec '\#(hello)/bin/hello'"],
          "Env": ["PATH=\#(coreutils)/bin:\#(bash)/bin", "HOME=/root"],
          "Labels": {"\#(hello)": "key", "plain": "\"\#(coreutils)\""},
          "Volumes": {"/data": {}},
          "User": "1000",
          "Healthcheck": {"Retries": 3, "Test": [["nested", "\#(hello)\n"]]}
        }
        """#)
        try Self.withStore { index in
            #expect(index.references(inJSON: config) == [bash, hello, coreutils, bash, hello, coreutils, hello])
        }
    }

    @Test("finds a store path at the end of a string and several in one string")
    func referencesInText() throws {
        try Self.withStore { index in
            let bash = "/nix/store/" + Self.bash, hello = "/nix/store/" + Self.hello
            #expect(index.references(inText: bash) == [bash])
            #expect(index.references(inText: "a \(hello) b \(bash):x") == [hello, bash])
            #expect(index.references(inText: "\(bash)/bin/sh \(bash)/bin/sh") == [bash, bash])
        }
    }

    @Test("finds a store path followed by punctuation, as Nix finds the hash")
    func referencesBeforePunctuation() throws {
        try Self.withStore { index in
            let bash = "/nix/store/" + Self.bash, hello = "/nix/store/" + Self.hello
            #expect(index.references(inText: "source \(bash);exec \(hello),done") == [bash, hello])
            #expect(index.references(inText: "(\(hello))") == [hello])
            #expect(index.references(inText: "LD=\(bash)\tX") == [bash])
        }
    }

    @Test("ignores strings that name no path of this store")
    func nonStoreStrings() throws {
        try Self.withStore { index in
            #expect(index.references(inText: "/usr/bin/env bash") == [])
            #expect(index.references(inText: "/nix/store/" + Self.absent + "/bin/x") == [])
            #expect(index.references(inText: "/nix/store/short-name") == [])
            #expect(index.references(inText: "/nix/store/") == [])
            #expect(index.references(inText: Self.bash) == [])
            #expect(index.references(inJSON: [.integer("3"), .bool(true), .null, .float(1.5)]) == [])
        }
    }

    @Test("skips what Nix keeps in a store directory besides store paths")
    func nixBookkeeping() throws {
        let root = try FixtureStore.temporaryDirectory("store-index-nix")
        defer { FixtureStore.remove(root) }
        let fm = FileManager.default
        let cargoLock = "0c4zk3x0cbkmkkq4y5sxkj0p3nzxx5mz-Cargo.lock"
        try fm.createDirectory(atPath: root + "/.links", withIntermediateDirectories: true)
        try fm.createDirectory(atPath: root + "/trash", withIntermediateDirectories: true)
        try fm.createDirectory(atPath: root + "/" + Self.bash + ".drv.chroot", withIntermediateDirectories: true)
        try fm.createDirectory(atPath: root + "/" + Self.bash, withIntermediateDirectories: true)
        for name in [".tmp-123", Self.bash + ".lock", Self.bash + ".check", cargoLock, Self.coreutils + ".lock"] {
            #expect(fm.createFile(atPath: root + "/" + name, contents: Data()))
            chmod(root + "/" + name, 0o600)
        }
        // Store paths are read-only: a read-only `.lock` name is a real store path, a symlink too.
        chmod(root + "/" + cargoLock, 0o444)
        try fm.createSymbolicLink(atPath: root + "/" + Self.hello + ".lock", withDestinationPath: Self.bash)
        let index = try StoreIndex(hostRoot: root, storeDir: "/nix/store")
        #expect(index.imagePaths == ["/nix/store/" + cargoLock, "/nix/store/" + Self.hello + ".lock", "/nix/store/" + Self.bash])
        // Nor do the lock files share the hash a reference scan looks up.
        #expect(index.references(inText: "/nix/store/" + Self.bash + "/bin") == ["/nix/store/" + Self.bash])
        #expect(index.unresolved("/nix/store/.links", spec: "s.json", key: "contents")
            == .notAStorePath(spec: "s.json", key: "contents", path: "/nix/store/.links", storeDir: "/nix/store"))
        #expect(index.unresolved(Self.bash + ".lock", spec: "s.json", key: "contents")
            == .notAStorePath(spec: "s.json", key: "contents", path: Self.bash + ".lock", storeDir: "/nix/store"))
        #expect(index.unresolved(Self.absent, spec: "s.json", key: "contents") == .missingPath(spec: "s.json", key: "contents", path: Self.absent))
        #expect(index.resolve("/nix/store/.links") == nil)
    }

    @Test("matches the store directory component by component")
    func componentWise() throws {
        #expect(StoreIndex.components(of: "/nix/store/" + Self.bash + "/bin", inside: "/nix/store") == [Substring(Self.bash), "bin"])
        #expect(StoreIndex.components(of: "/nix//store/./" + Self.bash, inside: "/nix/store/") == [Substring(Self.bash)])
        for path in ["/nix/store-evil/" + Self.bash, "/nix/store/../../etc/passwd", "/nix/store/" + Self.bash + "/../../x",
                     "/nix/store", "/nix/store/", "/nix", "nix/store/" + Self.bash, "/gnu/store/" + Self.bash] {
            #expect(StoreIndex.components(of: path, inside: "/nix/store") == nil, "\(path)")
        }
        #expect(StoreIndex.components(of: "/nix/store/x", inside: "/nix/../nix/store") == nil)
        try Self.withStore { index in
            #expect(index.resolve("/nix/store-evil/" + Self.bash) == nil)
            #expect(index.resolve("/nix/store/../store/" + Self.bash) == nil)
            #expect(index.resolve("../" + Self.bash) == nil)
            #expect(index.resolve("/nix/store/./" + Self.bash) == "/nix/store/" + Self.bash)
        }
    }

    @Test("refuses a conf store path outside store_dir, compared by components")
    func confStoreDir() throws {
        for path in ["/nix/store-evil/" + Self.bash, "/nix/store/../../etc", "/nix/store"] {
            let conf = NixpkgsConf(
                architecture: "amd64", config: JSONObject([]), created: "1970-01-01T00:00:01Z", mtime: "1970-01-01T00:00:01Z",
                uid: 0, gid: 0, uname: "root", gname: "root", storeDir: "/nix/store", fromImage: nil,
                storeLayers: [[path]], customisationLayer: "/nonexistent", repoTag: "x:y"
            )
            #expect(throws: ImageBuildError.self) { try conf.plan(file: "conf.json") }
            do { _ = try conf.plan(file: "conf.json") } catch {
                #expect("\(error)" == "store path \(path) is not inside store_dir /nix/store")
            }
        }
    }
}
