/// The JSON "conf" that nixpkgs' `streamLayeredImage` hands its stream script.
public struct NixpkgsConf: Sendable {
    public var architecture: String
    public var config: JSONObject
    public var created: String
    public var mtime: String
    public var uid: Int
    public var gid: Int
    public var uname: String
    public var gname: String
    public var storeDir: String
    public var fromImage: String?
    public var storeLayers: [[String]]
    public var customisationLayer: String
    public var repoTag: String

    /// Decodes a conf; unknown keys are ignored (nixpkgs adds `os`, `variant`).
    public static func decode(_ bytes: [UInt8], file: String) throws -> NixpkgsConf {
        let root: JSONValue
        do { root = try JSONParser.parse(bytes, duplicateKeys: .refuse) } catch { throw SpecError.syntax(file: file, error) }
        guard let object = root.objectValue else { throw SpecError.notAnObject(file: file) }
        let keys = KeyReader(object: object, file: file)
        let conf = NixpkgsConf(
            architecture: try keys.string("architecture"),
            config: try keys.object("config"),
            created: try keys.string("created"),
            mtime: try keys.string("mtime"),
            uid: try keys.integer("uid"),
            gid: try keys.integer("gid"),
            uname: try keys.string("uname"),
            gname: try keys.string("gname"),
            storeDir: try keys.string("store_dir"),
            fromImage: try keys.optionalString("from_image"),
            storeLayers: try keys.stringListList("store_layers"),
            customisationLayer: try keys.string("customisation_layer"),
            repoTag: try keys.string("repo_tag")
        )
        if let path = JSONValue.object(conf.config).nonFiniteNumberPath {
            throw SpecError.nonFiniteNumber(file: file, keyPath: JSONValue.keyPathText(["config"] + path))
        }
        if let problem = ImageReference.problem(withTagged: conf.repoTag) {
            throw SpecError.badReference(file: file, key: "repo_tag", value: conf.repoTag, problem: problem)
        }
        return conf
    }

    /// Resolves the conf into a plan. `now` is read once here, only when a time says "now".
    ///
    /// `hostPrefix` reads each store path from under another root (tests keep a store in a
    /// temporary folder yet name it `/nix/store` in the image); `customisationHistoryLabel`
    /// overrides the string the history comment shows for the customisation layer.
    public func plan(
        repoTagOverride: String? = nil, file: String, hostPrefix: String = "", customisationHistoryLabel: String? = nil
    ) throws -> ImagePlan {
        let now = PythonDateTime.now()
        let created = try Self.time(created, key: "created", file: file, now: now)
        let mtime = try Self.time(self.mtime, key: "mtime", file: file, now: now).epochSeconds
        let stamp = EntryStamp(uid: uid, gid: gid, uname: uname, gname: gname, mtime: mtime)
        var layers: [StoreLayer] = []
        for paths in storeLayers {
            for path in paths {
                guard path.hasPrefix(storeDir) else { throw ImageBuildError.outsideStoreDir(path: path, storeDir: storeDir) }
                guard FileSystem.exists(Array((hostPrefix + path).utf8)) else { throw ImageBuildError.missingStorePath(hostPrefix + path) }
            }
            // The reference always opens a layer with /nix and /nix/store, whatever store_dir says.
            layers.append(StoreLayer(
                paths: paths.map { StorePathMapping(hostPath: hostPrefix + Self.normalise($0), imagePath: Self.normalise($0)) },
                leadingDirectories: ["/nix", "/nix/store"], stamp: stamp, historyPaths: paths
            ))
        }
        return ImagePlan(
            baseImage: try fromImage.map { try BaseImage(path: $0) }, storeLayers: layers,
            customisation: try CustomisationFileLayer(directory: customisationLayer, historyLabel: customisationHistoryLabel),
            created: created, mtime: mtime, architecture: architecture, config: config,
            repoTag: .fixed(repoTagOverride ?? repoTag)
        )
    }

    static func time(_ text: String, key: String, file: String, now: PythonDateTime) throws -> PythonDateTime {
        if text == "now" { return now }
        guard let parsed = PythonDateTime.parse(text) else { throw SpecError.badTime(file: file, key: key, value: text) }
        return parsed
    }

    /// pathlib's spelling of a path: no empty or `.` components, no trailing slash.
    static func normalise(_ path: String) -> String {
        let parts = path.split(separator: "/", omittingEmptySubsequences: true).filter { $0 != "." }
        return (path.hasPrefix("/") ? "/" : "") + parts.joined(separator: "/")
    }
}

/// Reads typed keys of a JSON object, naming the key and the file when one is missing or wrong.
struct KeyReader {
    let object: JSONObject
    let file: String

    func value(_ key: String) throws -> JSONValue {
        guard let value = object[key] else { throw SpecError.missingKey(file: file, key: key) }
        return value
    }

    func string(_ key: String) throws -> String {
        let found = try value(key)
        guard let text = found.stringValue else { throw SpecError.wrongType(file: file, key: key, expected: "a string", found: found.typeName) }
        return text
    }

    func optionalString(_ key: String) throws -> String? {
        let found = try value(key)
        if found.isNull { return nil }
        guard let text = found.stringValue else { throw SpecError.wrongType(file: file, key: key, expected: "a string or null", found: found.typeName) }
        return text
    }

    func object(_ key: String) throws -> JSONObject {
        let found = try value(key)
        guard let object = found.objectValue else { throw SpecError.wrongType(file: file, key: key, expected: "an object", found: found.typeName) }
        return object
    }

    /// A number, or a string of digits (nixpkgs passes both).
    func integer(_ key: String) throws -> Int {
        let found = try value(key)
        switch found {
        case let .integer(digits):
            if let value = Int(digits) { return value }
        case let .string(text):
            if let value = Int(text.trimmingCharacters(in: .whitespaces)), text.allSatisfy({ $0.isNumber || $0 == " " || $0 == "-" }) { return value }
        default:
            break
        }
        throw SpecError.wrongType(file: file, key: key, expected: "an integer or a string of digits", found: found.typeName)
    }

    func stringListList(_ key: String) throws -> [[String]] {
        let found = try value(key)
        guard let outer = found.arrayValue else { throw SpecError.wrongType(file: file, key: key, expected: "a list of lists of strings", found: found.typeName) }
        return try outer.map { inner in
            guard let items = inner.arrayValue, items.allSatisfy({ $0.stringValue != nil }) else {
                throw SpecError.wrongType(file: file, key: key, expected: "a list of lists of strings", found: inner.typeName)
            }
            return items.compactMap(\.stringValue)
        }
    }
}

public enum SpecError: Error, CustomStringConvertible {
    case syntax(file: String, JSONSyntaxError)
    case notAnObject(file: String)
    case missingKey(file: String, key: String)
    case wrongType(file: String, key: String, expected: String, found: String)
    case badTime(file: String, key: String, value: String)
    case unknownKey(file: String, key: String, suggestion: String?)
    case invalid(file: String, key: String, reason: String)
    case unreadable(file: String, reason: String)
    case notAFile(file: String, kind: String, role: String)
    case tooLarge(file: String, role: String, limit: Int)
    /// A reference graph or pipeline file that cannot be used, with the file named.
    case layering(file: String, LayeringError)
    /// `file` is nil for a command-line option (`--repo-tag`).
    case badReference(file: String?, key: String, value: String, problem: String)
    case nonFiniteNumber(file: String, keyPath: String)

    public var description: String {
        switch self {
        case let .syntax(file, error): "\(file): \(error)"
        case let .notAnObject(file): "\(file): the top level must be a JSON object"
        case let .missingKey(file, key): "\(file): missing key \"\(key)\""
        case let .wrongType(file, key, expected, found): "\(file): key \"\(key)\" must be \(expected), found \(found)"
        case let .badTime(file, key, value): "\(file): key \"\(key)\" is not an ISO-8601 time or \"now\": \"\(value)\""
        case let .unknownKey(file, key, suggestion):
            "\(file): unknown key \"\(key)\"" + (suggestion.map { " (did you mean \"\($0)\"?)" } ?? "")
        case let .invalid(file, key, reason): "\(file): key \"\(key)\" \(reason)"
        case let .unreadable(file, reason): "cannot read \(file): \(reason)"
        case let .notAFile(file, kind, role): "\(file) is \(kind), not a \(role)"
        case let .tooLarge(file, role, limit): "\(file) is larger than \(limit >> 20) MiB, too large for a \(role)"
        case let .layering(file, error): "\(file): \(error)"
        case let .badReference(file, key, value, problem):
            (file.map { "\($0): key " } ?? "") + "\(key) \"\(value)\" is not a valid image reference: \(problem)"
        case let .nonFiniteNumber(file, keyPath):
            "\(file): \(keyPath) is NaN or infinite (a number beyond 1.8e308 counts), which an image config cannot hold"
        }
    }
}

import Foundation
