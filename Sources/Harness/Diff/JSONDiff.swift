import Builder

/// Compares two JSON documents by key path (`config.Env[2]`, `rootfs.diff_ids[1]`), the way
/// diffoci reports config differences. Every difference is of `kind` (a config or manifest field).
enum JSONDiff {
    static func compare(
        _ control: JSONValue, _ experiment: JSONValue, path: String, kind: Difference.Kind, into collector: inout DifferenceCollector
    ) {
        guard control != experiment else { return }
        switch (control, experiment) {
        case let (.object(a), .object(b)):
            for (key, value) in a.entries {
                let child = join(path, key)
                if let other = b[key] {
                    compare(value, other, path: child, kind: kind, into: &collector)
                } else {
                    collector.add(kind, path: child, field: "only in control", control: render(value), side: .control)
                }
            }
            for (key, value) in b.entries where a[key] == nil {
                collector.add(kind, path: join(path, key), field: "only in experiment", experiment: render(value), side: .experiment)
            }
            // Key order changes the bytes (and so the digest) even when every value agrees.
            let orderA = a.keys.filter { b[$0] != nil }
            let orderB = b.keys.filter { a[$0] != nil }
            if orderA != orderB {
                collector.add(
                    kind, path: path.isEmpty ? nil : path, field: "key order",
                    control: orderA.joined(separator: ", "), experiment: orderB.joined(separator: ", ")
                )
            }
        case let (.array(a), .array(b)):
            if a.count != b.count {
                collector.add(kind, path: path.isEmpty ? nil : path, field: "count", control: String(a.count), experiment: String(b.count))
            }
            for index in 0..<max(a.count, b.count) {
                let child = "\(path)[\(index)]"
                if index >= b.count {
                    collector.add(kind, path: child, field: "only in control", control: render(a[index]), side: .control)
                } else if index >= a.count {
                    collector.add(kind, path: child, field: "only in experiment", experiment: render(b[index]), side: .experiment)
                } else {
                    compare(a[index], b[index], path: child, kind: kind, into: &collector)
                }
            }
        default:
            collector.add(kind, path: path.isEmpty ? nil : path, field: "value", control: render(control), experiment: render(experiment))
        }
    }

    private static func join(_ path: String, _ key: String) -> String {
        path.isEmpty ? key : "\(path).\(key)"
    }

    /// Compact JSON: strings keep their quotes so `"1"` and `1` stay distinguishable.
    static func render(_ value: JSONValue) -> String {
        switch value {
        case let .array(items):
            return "[" + items.map(render).joined(separator: ", ") + "]"
        case let .object(object):
            return "{" + object.entries.map { render(.string($0.key)) + ": " + render($0.value) }.joined(separator: ", ") + "}"
        default:
            return String(decoding: PythonJSON.dumps(value), as: UTF8.self)
        }
    }
}
