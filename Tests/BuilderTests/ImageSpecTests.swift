import Testing
@testable import Builder

@Suite("ImageSpec")
struct ImageSpecTests {
    private static let file = "/specs/demo/spec.json"

    private func decode(_ json: String, file: String = Self.file) throws -> ImageSpec {
        try ImageSpec.decode(Array(json.utf8), file: file)
    }

    /// The error's message, or nil when the spec decodes.
    private func failure(_ json: String) -> String? {
        do {
            _ = try decode(json)
            return nil
        } catch {
            return "\(error)"
        }
    }

    @Test("fills every absent key with its documented default")
    func defaults() throws {
        let spec = try decode(#"{"name": "demo"}"#)
        #expect(spec.file == Self.file)
        #expect(spec.directory == "/specs/demo")
        #expect(spec.name == "demo")
        #expect(spec.tag == nil)
        #expect(spec.store == "/specs/demo/store")
        #expect(spec.storeDir == "/nix/store")
        #expect(spec.graph == nil)
        #expect(spec.contents == [])
        #expect(spec.config == JSONObject())
        #expect(spec.architecture == HostArchitecture.goName)
        #expect(!spec.architecture.isEmpty)
        #expect(spec.created == "1970-01-01T00:00:01Z")
        #expect(spec.mtime == "1970-01-01T00:00:01Z")
        #expect(spec.maxLayers == 100)
        #expect(spec.layering == .popularity)
        #expect(spec.extraCommands == "")
        #expect(spec.fakeRootCommands == "")
        #expect(spec.enableFakechroot == false)
        #expect(spec.includeStorePaths == true)
        #expect(spec.uid == 0)
        #expect(spec.gid == 0)
        #expect(spec.uname == "root")
        #expect(spec.gname == "root")
        #expect(spec.fromImage == nil)
        #expect(spec.expect == "reproducible")
    }

    @Test("takes null as absent")
    func nullsAreDefaults() throws {
        let spec = try decode(#"""
        {"name": "demo", "tag": null, "store": null, "storeDir": null, "graph": null, "contents": null,
         "config": null, "architecture": null, "created": null, "mtime": null, "maxLayers": null,
         "layering": null, "extraCommands": null, "fakeRootCommands": null, "enableFakechroot": null,
         "includeStorePaths": null, "uid": null, "gid": null, "uname": null, "gname": null,
         "fromImage": null, "expect": null}
        """#)
        #expect(spec.store == "/specs/demo/store")
        #expect(spec.storeDir == "/nix/store")
        #expect(spec.maxLayers == 100)
        #expect(spec.layering == .popularity)
        #expect(spec.includeStorePaths == true)
        #expect(spec.uname == "root")
        #expect(spec.expect == "reproducible")
    }

    @Test("decodes every key of the spec table")
    func everyKey() throws {
        let spec = try decode(#"""
        {
          "name": "Demo", "tag": "v1", "store": "/abs/store", "storeDir": "/gnu/store", "graph": "closure.json",
          "contents": ["/gnu/store/aaaa-x", "bbbb-y"], "config": {"Cmd": ["/bin/sh"], "Env": ["A=1"]},
          "architecture": "arm64", "created": "2023-06-15T10:20:30Z", "mtime": "now", "maxLayers": "12",
          "layering": "auto", "extraCommands": "mkdir tmp", "fakeRootCommands": "chown 1:1 tmp",
          "enableFakechroot": true, "includeStorePaths": false, "uid": 1000, "gid": "100",
          "uname": "alice", "gname": "users", "fromImage": "../base.tar", "expect": "unreproducible"
        }
        """#)
        #expect(spec.name == "Demo")
        #expect(spec.tag == "v1")
        #expect(spec.store == "/abs/store")
        #expect(spec.storeDir == "/gnu/store")
        #expect(spec.graph == "/specs/demo/closure.json")
        #expect(spec.contents == ["/gnu/store/aaaa-x", "bbbb-y"])
        #expect(spec.config == JSONObject([("Cmd", ["/bin/sh"]), ("Env", ["A=1"])]))
        #expect(spec.architecture == "arm64")
        #expect(spec.created == "2023-06-15T10:20:30Z")
        #expect(spec.mtime == "now")
        #expect(spec.maxLayers == 12)
        #expect(spec.layering == .auto)
        #expect(spec.extraCommands == "mkdir tmp")
        #expect(spec.fakeRootCommands == "chown 1:1 tmp")
        #expect(spec.enableFakechroot == true)
        #expect(spec.includeStorePaths == false)
        #expect(spec.uid == 1000)
        #expect(spec.gid == 100)
        #expect(spec.uname == "alice")
        #expect(spec.gname == "users")
        #expect(spec.fromImage == "/specs/demo/../base.tar")
        #expect(spec.expect == "unreproducible")
    }

    @Test("reads layering as popularity, auto or a pipeline array, and layeringPipeline as its alias")
    func layering() throws {
        #expect(try decode(#"{"name": "d", "layering": "popularity"}"#).layering == .popularity)
        #expect(try decode(#"{"name": "d", "layering": "auto"}"#).layering == .auto)
        #expect(try decode(#"{"name": "d", "layering": [["popularity_contest"], ["limit_layers", 5]]}"#).layering
            == .pipeline([["popularity_contest"], ["limit_layers", 5]]))
        #expect(try decode(#"{"name": "d", "layeringPipeline": [["flatten"]]}"#).layering == .pipeline([["flatten"]]))
        #expect(try decode(#"{"name": "d", "layeringPipeline": "auto"}"#).layering == .auto)
    }

    @Test("resolves relative paths against the spec's folder and leaves absolute ones")
    func relativePaths() throws {
        let spec = try decode(#"{"name": "d", "store": "nix/store-root", "graph": "/tmp/g.json", "fromImage": "base/image.tar.gz"}"#)
        #expect(spec.store == "/specs/demo/nix/store-root")
        #expect(spec.graph == "/tmp/g.json")
        #expect(spec.fromImage == "/specs/demo/base/image.tar.gz")
        let bare = try decode(#"{"name": "d", "graph": "g.json"}"#, file: "spec.json")
        #expect(bare.store == "./store")
        #expect(bare.graph == "./g.json")
    }

    @Test(
        "names the nearest known key when a key is unknown",
        arguments: [
            ("maxLayer", "maxLayers"), ("fakerootCommands", "fakeRootCommands"), ("storedir", "storeDir"),
            ("Name", "name"), ("contnets", "contents"), ("layeringPipline", "layeringPipeline"),
        ]
    )
    func unknownKeySuggestion(key: String, suggestion: String) {
        #expect(failure(#"{"name": "d", "\#(key)": 1}"#) == #"/specs/demo/spec.json: unknown key "\#(key)" (did you mean "\#(suggestion)"?)"#)
    }

    @Test("suggests nothing for an unknown key far from every known one")
    func unknownKeyWithoutSuggestion() {
        #expect(failure(#"{"name": "d", "entrypoint": 1}"#) == #"/specs/demo/spec.json: unknown key "entrypoint""#)
    }

    @Test("rejects layering together with its alias layeringPipeline")
    func layeringWithAlias() {
        #expect(failure(#"{"name": "d", "layering": "auto", "layeringPipeline": []}"#)
            == #"/specs/demo/spec.json: key "layeringPipeline" cannot be given together with "layering" (it is an alias)"#)
    }

    @Test(
        "names the key whose value has the wrong type",
        arguments: [
            (#""maxLayers": "many""#, #"key "maxLayers" must be an integer or a string of digits, found string"#),
            (#""maxLayers": 2.5"#, #"key "maxLayers" must be an integer or a string of digits, found number"#),
            (#""uid": true"#, #"key "uid" must be an integer or a string of digits, found boolean"#),
            (#""contents": "x""#, #"key "contents" must be a list of strings, found string"#),
            (#""contents": ["x", 1]"#, #"key "contents" must be a list of strings, found array"#),
            (#""config": []"#, #"key "config" must be an object, found array"#),
            (#""enableFakechroot": "yes""#, #"key "enableFakechroot" must be true or false, found string"#),
            (#""includeStorePaths": 1"#, #"key "includeStorePaths" must be true or false, found number"#),
            (#""tag": 5"#, #"key "tag" must be a string or null, found number"#),
            (#""fromImage": {}"#, #"key "fromImage" must be a string or null, found object"#),
            (#""store": ["a"]"#, #"key "store" must be a string, found array"#),
            (#""uname": 0"#, #"key "uname" must be a string, found number"#),
            (#""layering": 5"#, #"key "layering" must be "popularity", "auto" or a pipeline array, found number"#),
            (#""layering": "fancy""#, #"key "layering" must be "popularity", "auto" or a pipeline array, found string"#),
            (#""layeringPipeline": {}"#, #"key "layeringPipeline" must be "popularity", "auto" or a pipeline array, found object"#),
        ]
    )
    func wrongType(entry: String, message: String) {
        #expect(failure(#"{"name": "d", \#(entry)}"#) == "/specs/demo/spec.json: " + message)
    }

    @Test("requires a non-empty name")
    func name() {
        #expect(failure(#"{"tag": "x"}"#) == #"/specs/demo/spec.json: missing key "name""#)
        #expect(failure(#"{"name": ""}"#) == #"/specs/demo/spec.json: key "name" must not be empty"#)
        #expect(failure(#"{"name": null}"#) == #"/specs/demo/spec.json: key "name" must be a string, found null"#)
    }

    @Test("refuses a duplicate key at any depth, naming the key and the file")
    func duplicateKeys() {
        #expect(failure(#"{"name": "a", "name": "b"}"#) == #"/specs/demo/spec.json: invalid JSON at line 1, column 15: duplicate key "name""#)
        #expect(failure(#"{"name": "a", "config": {"Env": [], "Labels": {"x": "1", "x": "2"}, "Cmd": []}}"#)?
            .hasSuffix(#"duplicate key "x" in config.Labels"#) == true)
    }

    @Test(
        "refuses NaN, infinities and numbers beyond a double in config, naming the key path",
        arguments: [
            (#"{"Labels": {"x": NaN}}"#, "config.Labels.x"),
            (#"{"Cmd": ["sh", 1e400]}"#, "config.Cmd[1]"),
            (#"{"Healthcheck": {"Interval": -Infinity}}"#, "config.Healthcheck.Interval"),
        ]
    )
    func nonFiniteConfig(config: String, path: String) {
        #expect(failure(#"{"name": "a", "config": \#(config)}"#)
            == "/specs/demo/spec.json: \(path) is NaN or infinite (a number beyond 1.8e308 counts), which an image config cannot hold")
    }

    @Test("keeps large but finite numbers in config")
    func finiteConfig() throws {
        let spec = try decode(#"{"name": "a", "config": {"Labels": {"x": 1e300}, "StopTimeout": 123456789012345678901234567890}}"#)
        #expect(spec.config["Labels"] != nil)
    }

    @Test(
        "refuses a name or tag that is not a valid image reference, saying what is wrong",
        arguments: [
            (#""name": "my image""#, #"key name "my image" is not a valid image reference: the repository name may not contain spaces"#),
            (#""name": "a..b""#, #"key name "a..b" is not a valid image reference: the separator ".." is not allowed in a repository name (use one '.', '_', '__' or dashes)"#),
            (#""name": "-app""#, #"key name "-app" is not a valid image reference: a repository path component must start and end with a lowercase letter or digit ("-app")"#),
            (#""name": "app", "tag": "with/bad chars""#, #"key tag "with/bad chars" is not a valid image reference: the tag may not contain '/' (only letters, digits, '_', '.' and '-')"#),
            (#""name": "app", "tag": ".hidden""#, #"key tag ".hidden" is not a valid image reference: the tag must start with a letter, digit or underscore"#),
        ]
    )
    func badReference(entry: String, message: String) {
        #expect(failure("{\(entry)}") == "/specs/demo/spec.json: " + message)
    }

    @Test("accepts a mixed-case name (the repo tag lowercases it) and a registry host with a port")
    func goodReference() throws {
        #expect(try decode(#"{"name": "Hello-World", "tag": "v1.2_rc-3"}"#).name == "Hello-World")
        #expect(try decode(#"{"name": "registry.example.com:5000/team/app__x"}"#).tag == nil)
    }

    @Test(
        "validates repo tags by the Docker reference grammar",
        arguments: [
            ("app:latest", nil),
            ("localhost:5000/a/b-c__d.e:1.0", nil),
            ("Registry.Example.com/app:x", nil),
            ("app", "it has no tag (expected name:tag)"),
            ("my image:with/bad chars", "an image reference may not contain spaces"),
            ("App:1", "the repository name must be lowercase"),
            ("app:" + String(repeating: "t", count: 129), "the tag is longer than 128 characters"),
            ("host:port/app:1", "the registry port in \"host:port\" is not a number"),
            ("app:", "the tag is empty"),
            ("a/b@sha256:00:1", "an image reference may not contain '@'"),
        ] as [(String, String?)]
    )
    func referenceGrammar(reference: String, problem: String?) {
        #expect(ImageReference.problem(withTagged: reference) == problem)
    }

    @Test("resolves relative paths against another folder when the spec came through a pipe")
    func relativeToPipe() throws {
        let spec = try ImageSpec.decode(Array(#"{"name": "a", "store": "s", "graph": "g.json"}"#.utf8), file: "/dev/fd/63", relativeTo: ".")
        #expect(spec.store == "./s")
        #expect(spec.graph == "./g.json")
    }

    @Test(
        "refuses in a nixpkgs conf what it refuses in a spec: duplicate keys, non-finite config numbers, a bad repo_tag",
        arguments: [
            (#""repo_tag": "my image:with/bad chars""#, #"conf.json: key repo_tag "my image:with/bad chars" is not a valid image reference: an image reference may not contain spaces"#),
            (#""repo_tag": "a:b", "config": {"Labels": {"x": Infinity}}"#, "conf.json: config.Labels.x is NaN or infinite (a number beyond 1.8e308 counts), which an image config cannot hold"),
            (#""repo_tag": "a:b", "uid": 0"#, #"conf.json: invalid JSON at line 1, column 277: duplicate key "uid""#),
        ]
    )
    func confRefusals(extra: String, message: String) {
        let conf = #"{"architecture": "amd64", "created": "1970-01-01T00:00:01Z", "mtime": "1970-01-01T00:00:01Z", "uid": 0, "gid": 0, "uname": "root", "gname": "root", "store_dir": "/nix/store", "from_image": null, "store_layers": [], "customisation_layer": "c", "#
        let object = extra.contains("config") ? conf + extra + "}" : conf + #""config": {}, "# + extra + "}"
        do {
            _ = try NixpkgsConf.decode(Array(object.utf8), file: "conf.json")
            Issue.record("accepted \(extra)")
        } catch {
            #expect("\(error)" == message)
        }
    }

    @Test("rejects maxLayers below 2")
    func maxLayersMinimum() throws {
        for value in ["1", "0", "-3", #""1""#] {
            #expect(failure(#"{"name": "d", "maxLayers": \#(value)}"#)
                == #"/specs/demo/spec.json: key "maxLayers" must be at least 2 (one store layer and the customisation layer)"#)
        }
        #expect(try decode(#"{"name": "d", "maxLayers": 2}"#).maxLayers == 2)
    }

    @Test("rejects a created or mtime that is neither ISO-8601 nor now")
    func badTime() {
        #expect(failure(#"{"name": "d", "created": "yesterday"}"#)
            == #"/specs/demo/spec.json: key "created" is not an ISO-8601 time or "now": "yesterday""#)
        #expect(failure(#"{"name": "d", "mtime": "2023-02-30"}"#)
            == #"/specs/demo/spec.json: key "mtime" is not an ISO-8601 time or "now": "2023-02-30""#)
        #expect(failure(#"{"name": "d", "created": "Now"}"#)
            == #"/specs/demo/spec.json: key "created" is not an ISO-8601 time or "now": "Now""#)
    }

    @Test("accepts only reproducible or unreproducible as expect")
    func expectValues() {
        #expect(failure(#"{"name": "d", "expect": "flaky"}"#)
            == #"/specs/demo/spec.json: key "expect" must be "reproducible" or "unreproducible""#)
        #expect(failure(#"{"name": "d", "expect": true}"#)
            == #"/specs/demo/spec.json: key "expect" must be a string, found boolean"#)
    }

    @Test("requires storeDir to be absolute without a trailing slash")
    func storeDirShape() {
        for value in ["nix/store", "/nix/store/", "/"] {
            #expect(failure(#"{"name": "d", "storeDir": "\#(value)"}"#)
                == #"/specs/demo/spec.json: key "storeDir" must be an absolute path without a trailing slash"#)
        }
    }

    @Test("reports a document that is not an object or not JSON")
    func notAnObject() {
        #expect(failure("[]") == "/specs/demo/spec.json: the top level must be a JSON object")
        #expect(failure(#"{"name": "d",}"#) == "/specs/demo/spec.json: invalid JSON at line 1, column 14: expected a property name in double quotes")
    }

    @Test("lists every key of the table as known")
    func knownKeys() {
        #expect(ImageSpec.knownKeys == [
            "name", "tag", "store", "storeDir", "graph", "contents", "config", "architecture", "created", "mtime",
            "maxLayers", "layering", "layeringPipeline", "extraCommands", "fakeRootCommands", "enableFakechroot",
            "includeStorePaths", "uid", "gid", "uname", "gname", "fromImage", "expect",
        ])
    }
}
