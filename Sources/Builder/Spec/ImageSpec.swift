import Foundation

/// An image spec: the arguments of nixpkgs' `dockerTools.streamLayeredImage`, as JSON, with
/// the store given as a host folder. Relative paths resolve against the spec's own folder.
public struct ImageSpec: Sendable {
    public enum Layering: Sendable, Equatable {
        case popularity
        case auto
        case pipeline(JSONValue)
    }

    public var file: String
    public var name: String
    public var tag: String?
    /// Host folder holding the store paths.
    public var store: String
    /// Where the store lives inside the image.
    public var storeDir: String
    public var graph: String?
    public var contents: [String]
    public var config: JSONObject
    public var architecture: String
    public var created: String
    public var mtime: String
    public var maxLayers: Int
    public var layering: Layering
    public var extraCommands: String
    public var fakeRootCommands: String
    public var enableFakechroot: Bool
    public var includeStorePaths: Bool
    public var uid: Int
    public var gid: Int
    public var uname: String
    public var gname: String
    public var fromImage: String?
    /// `reproducible`, or `unreproducible` for a deliberate negative control.
    public var expect: String

    public static let knownKeys = [
        "name", "tag", "store", "storeDir", "graph", "contents", "config", "architecture", "created", "mtime",
        "maxLayers", "layering", "layeringPipeline", "extraCommands", "fakeRootCommands", "enableFakechroot",
        "includeStorePaths", "uid", "gid", "uname", "gname", "fromImage", "expect",
    ]

    public var directory: String { (file as NSString).deletingLastPathComponent }

    /// A spec read from a pipe (`build <(cat spec.json)`) has no folder of its own: its
    /// relative paths resolve against the current directory instead.
    public static func load(path: String) throws -> ImageSpec {
        let contents = try InputFile.read(path, role: "spec file", limit: InputFile.specLimit)
        return try decode(contents.bytes, file: path, relativeTo: contents.isRegularFile ? nil : ".")
    }

    /// `relativeTo` overrides the spec's folder as the base of relative paths.
    public static func decode(_ bytes: [UInt8], file: String, relativeTo base: String? = nil) throws -> ImageSpec {
        let root: JSONValue
        do { root = try JSONParser.parse(bytes, duplicateKeys: .refuse) } catch { throw SpecError.syntax(file: file, error) }
        guard let object = root.objectValue else { throw SpecError.notAnObject(file: file) }
        for key in object.keys where !knownKeys.contains(key) {
            throw SpecError.unknownKey(file: file, key: key, suggestion: nearest(key, in: knownKeys))
        }
        if object["layering"] != nil && object["layeringPipeline"] != nil {
            throw SpecError.invalid(file: file, key: "layeringPipeline", reason: "cannot be given together with \"layering\" (it is an alias)")
        }
        let keys = KeyReader(object: object, file: file)
        let directory = base ?? (file as NSString).deletingLastPathComponent
        func resolve(_ path: String) -> String {
            path.hasPrefix("/") ? path : ((directory.isEmpty ? "." : directory) as NSString).appendingPathComponent(path)
        }

        let name = try keys.string("name")
        guard !name.isEmpty else { throw SpecError.invalid(file: file, key: "name", reason: "must not be empty") }
        // The repo tag uses the name lowercased, as nixpkgs does.
        if let problem = ImageReference.problem(withName: name.lowercased()) {
            throw SpecError.badReference(file: file, key: "name", value: name, problem: problem)
        }
        let tag = try keys.optional("tag", default: nil) { try keys.optionalString($0) }
        if let tag, let problem = ImageReference.problem(withTag: tag) {
            throw SpecError.badReference(file: file, key: "tag", value: tag, problem: problem)
        }
        let config = try keys.optional("config", default: JSONObject()) { try keys.object($0) }
        if let path = JSONValue.object(config).nonFiniteNumberPath {
            throw SpecError.nonFiniteNumber(file: file, keyPath: JSONValue.keyPathText(["config"] + path))
        }
        let storeDir = try keys.optional("storeDir", default: "/nix/store") { try keys.string($0) }
        guard storeDir.hasPrefix("/"), storeDir.count > 1, !storeDir.hasSuffix("/") else {
            throw SpecError.invalid(file: file, key: "storeDir", reason: "must be an absolute path without a trailing slash")
        }
        let maxLayers = try keys.optional("maxLayers", default: 100) { try keys.integer($0) }
        guard maxLayers >= 2 else {
            throw SpecError.invalid(file: file, key: "maxLayers", reason: "must be at least 2 (one store layer and the customisation layer)")
        }
        let layeringKey = object["layeringPipeline"] != nil ? "layeringPipeline" : "layering"
        let layering: Layering
        switch object[layeringKey] {
        case nil, .null?, .string("popularity")?: layering = .popularity
        case .string("auto")?: layering = .auto
        case let .array(steps)?: layering = .pipeline(.array(steps))
        case let other?:
            throw SpecError.wrongType(file: file, key: layeringKey, expected: "\"popularity\", \"auto\" or a pipeline array", found: other.typeName)
        }
        let expect = try keys.optional("expect", default: "reproducible") { try keys.string($0) }
        guard expect == "reproducible" || expect == "unreproducible" else {
            throw SpecError.invalid(file: file, key: "expect", reason: "must be \"reproducible\" or \"unreproducible\"")
        }
        let created = try keys.optional("created", default: "1970-01-01T00:00:01Z") { try keys.string($0) }
        let mtime = try keys.optional("mtime", default: "1970-01-01T00:00:01Z") { try keys.string($0) }
        for (key, value) in [("created", created), ("mtime", mtime)] where value != "now" && PythonDateTime.parse(value) == nil {
            throw SpecError.badTime(file: file, key: key, value: value)
        }

        return ImageSpec(
            file: file,
            name: name,
            tag: tag,
            store: resolve(try keys.optional("store", default: "store") { try keys.string($0) }),
            storeDir: storeDir,
            graph: try keys.optional("graph", default: nil) { try keys.optionalString($0) }.map(resolve),
            contents: try keys.optional("contents", default: []) { try keys.stringList($0) },
            config: config,
            architecture: try keys.optional("architecture", default: HostArchitecture.goName) { try keys.string($0) },
            created: created,
            mtime: mtime,
            maxLayers: maxLayers,
            layering: layering,
            extraCommands: try keys.optional("extraCommands", default: "") { try keys.string($0) },
            fakeRootCommands: try keys.optional("fakeRootCommands", default: "") { try keys.string($0) },
            enableFakechroot: try keys.optional("enableFakechroot", default: false) { try keys.bool($0) },
            includeStorePaths: try keys.optional("includeStorePaths", default: true) { try keys.bool($0) },
            uid: try keys.optional("uid", default: 0) { try keys.integer($0) },
            gid: try keys.optional("gid", default: 0) { try keys.integer($0) },
            uname: try keys.optional("uname", default: "root") { try keys.string($0) },
            gname: try keys.optional("gname", default: "root") { try keys.string($0) },
            fromImage: try keys.optional("fromImage", default: nil) { try keys.optionalString($0) }.map(resolve),
            expect: expect
        )
    }

    /// The known key closest to a misspelt one, if it is close enough to be a likely typo.
    static func nearest(_ key: String, in candidates: [String]) -> String? {
        let scored = candidates.map { ($0, editDistance(key.lowercased(), $0.lowercased())) }
        guard let best = scored.min(by: { $0.1 < $1.1 || ($0.1 == $1.1 && $0.0 < $1.0) }) else { return nil }
        return best.1 <= max(2, key.count / 3) ? best.0 : nil
    }

    static func editDistance(_ a: String, _ b: String) -> Int {
        let a = Array(a), b = Array(b)
        var previous = Array(0...b.count)
        for (i, ca) in a.enumerated() {
            var current = [i + 1]
            for (j, cb) in b.enumerated() {
                current.append(min(previous[j + 1] + 1, current[j] + 1, previous[j] + (ca == cb ? 0 : 1)))
            }
            previous = current
        }
        return previous[b.count]
    }
}

/// The host's architecture in Go's spelling, the image config's default.
public enum HostArchitecture {
    public static var goName: String {
        var info = utsname()
        uname(&info)
        let machine = withUnsafeBytes(of: info.machine) { raw in
            String(decoding: raw.prefix { $0 != 0 }, as: UTF8.self)
        }
        switch machine {
        case "x86_64": return "amd64"
        case "aarch64", "arm64": return "arm64"
        case "i686", "i386": return "386"
        case "armv7l": return "arm"
        case "ppc64le": return "ppc64le"
        case "s390x": return "s390x"
        case "riscv64": return "riscv64"
        default: return machine
        }
    }
}

extension KeyReader {
    /// The key's value, or `fallback` when it is absent or null.
    func optional<T>(_ key: String, default fallback: T, _ read: (String) throws -> T) throws -> T {
        guard let value = object[key], !value.isNull else { return fallback }
        return try read(key)
    }

    func bool(_ key: String) throws -> Bool {
        let found = try value(key)
        guard case let .bool(flag) = found else { throw SpecError.wrongType(file: file, key: key, expected: "true or false", found: found.typeName) }
        return flag
    }

    func stringList(_ key: String) throws -> [String] {
        let found = try value(key)
        guard let items = found.arrayValue, items.allSatisfy({ $0.stringValue != nil }) else {
            throw SpecError.wrongType(file: file, key: key, expected: "a list of strings", found: found.typeName)
        }
        return items.compactMap(\.stringValue)
    }
}
