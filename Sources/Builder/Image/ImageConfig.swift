/// The image config and manifest, as nixpkgs' stream script writes them.
public enum ImageConfig {
    public enum ConfigError: Error, CustomStringConvertible {
        case envNotStrings(String)

        public var description: String {
            switch self {
            case let .envNotStrings(source): "config.Env of \(source) must be a list of strings"
            }
        }
    }

    public static func render(plan: ImagePlan, base: BaseImage?, diffIDs: [Digest], historyPaths: [[String]]) throws -> [UInt8] {
        var config = plan.config
        if let base {
            config = try overlayBase(env: base.env, onto: config, baseLabel: base.path)
        }
        let created = JSONValue.string(plan.created.isoformat())
        let history = historyPaths.map { paths in
            JSONValue.object(JSONObject([("created", created), ("comment", .string("store paths: " + PythonRepr.list(paths)))]))
        }
        let image = JSONObject([
            ("created", created),
            ("architecture", .string(plan.architecture)),
            ("os", "linux"),
            ("config", .object(config)),
            ("rootfs", .object(JSONObject([("diff_ids", .array(diffIDs.map { .string($0.description) })), ("type", "layers")]))),
            ("history", .array(history)),
        ])
        return PythonJSON.dumps(.object(image))
    }

    /// Base Env first, then the image's own; the last value of a name wins and keeps the
    /// position of its first appearance (a Python dict keyed by name).
    static func overlayBase(env baseEnv: [String], onto config: JSONObject, baseLabel: String) throws -> JSONObject {
        var config = config
        var own: [String] = []
        if let value = config["Env"] {
            guard let items = value.arrayValue, items.allSatisfy({ $0.stringValue != nil }) else {
                throw ConfigError.envNotStrings("the image")
            }
            own = items.compactMap(\.stringValue)
        }
        let all = baseEnv + own
        guard !all.isEmpty else { return config }
        var order: [String] = []
        var values: [String: String] = [:]
        for entry in all {
            let name = String(entry.split(separator: "=", maxSplits: 1, omittingEmptySubsequences: false).first ?? "")
            if values[name] == nil { order.append(name) }
            values[name] = entry
        }
        config["Env"] = .array(order.compactMap { values[$0] }.map(JSONValue.string))
        return config
    }

    public static func manifest(configName: String, repoTag: String, layers: [String]) -> [UInt8] {
        let entry = JSONObject([
            ("Config", .string(configName)),
            ("RepoTags", .array([.string(repoTag)])),
            ("Layers", .array(layers.map(JSONValue.string))),
        ])
        return PythonJSON.dumps(.array([.object(entry)]))
    }
}
