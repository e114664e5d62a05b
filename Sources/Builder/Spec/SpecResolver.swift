import Foundation

/// A spec resolved into a plan: what `build` streams and what `plan` prints.
public struct ResolvedImage: Sendable {
    public var plan: ImagePlan
    /// The store layers as lists of image paths, bottom first.
    public var storeLayers: [[String]]
    /// Things worth telling the user that do not stop the build (content clashes).
    public var warnings: [String]
}

/// Does everything streamLayeredImage does before streaming: closure, layering, the
/// customisation layer (symlink join, commands), owners and times.
public struct SpecResolver: Sendable {
    public var spec: ImageSpec
    /// Variables let through the commands' clean environment (libfaketime's, for the harness).
    public var passThrough: [String: String]
    /// Where the commands' process groups are registered while they run.
    public var processGroups: ProcessGroups?

    public init(spec: ImageSpec, passThrough: [String: String] = [:], processGroups: ProcessGroups? = nil) {
        self.spec = spec
        self.passThrough = passThrough
        self.processGroups = processGroups
    }

    /// The variables a build lets through to its commands from its own environment, so a
    /// harness variation (a faked clock) reaches them as it reaches the builder.
    public static func passThrough(from environment: [String: String]) -> [String: String] {
        environment.filter { key, _ in key == "LD_PRELOAD" || key == "FAKETIME" || key.hasPrefix("FAKETIME_") || key == "DONT_FAKE_MONOTONIC" }
    }

    /// Resolves the spec; the customisation layer is packed into `workDirectory`, which must
    /// outlive the plan (the layer streams from there).
    public func resolve(workDirectory: String) async throws -> ResolvedImage {
        let index = try StoreIndex(hostRoot: spec.store, storeDir: spec.storeDir)
        let contents = try spec.contents.map { reference in
            guard let path = index.resolve(reference) else { throw index.unresolved(reference, spec: spec.file, key: "contents") }
            return path
        }
        let now = PythonDateTime.now()
        let created = try NixpkgsConf.time(spec.created, key: "created", file: spec.file, now: now)
        let mtime = try NixpkgsConf.time(spec.mtime, key: "mtime", file: spec.file, now: now).epochSeconds
        let base = try spec.fromImage.map { try BaseImage(path: $0) }
        let budget: Int
        do {
            // nixpkgs ignores maxLayers when a layeringPipeline is given.
            if case .pipeline = spec.layering { budget = 0 } else {
                budget = try LayerBudget.storeLayers(maxLayers: spec.maxLayers, baseImageLayers: base?.layers.count ?? 0)
            }
        } catch {
            throw SpecError.invalid(
                file: spec.file, key: "maxLayers",
                reason: "is \(spec.maxLayers), too small for \(base?.layers.count ?? 0) base layers, a store layer and the customisation layer"
            )
        }

        // The customisation layer: contents joined at the root, then the commands.
        let binding = StoreBinding(imageDirectory: spec.storeDir, hostDirectory: spec.store)
        let root = workDirectory + "/root"
        let warnings = try SymlinkJoin(contents: contents.map(index.mapping), store: binding).stage(into: root)
        let runner = CommandRunner(root: root, workDirectory: workDirectory, mtime: mtime, store: binding, passThrough: passThrough,
            processGroups: processGroups)
        let ownership = try await runner.run(CustomisationCommands(
            extraCommands: spec.extraCommands, fakeRootCommands: spec.fakeRootCommands, enableFakechroot: spec.enableFakechroot
        ))
        let customisation = try GeneratedCustomisationLayer(
            root: root, workDirectory: workDirectory, storeDirectory: spec.storeDir, mtime: mtime, ownership: ownership
        )

        // Closure roots: contents, paths named in the config, paths the commands' files name.
        let byPath = { (lhs: String, rhs: String) in lhs.utf8.lexicographicallyPrecedes(rhs.utf8) }
        let configReferences = Set(index.references(inJSON: .object(spec.config))).sorted(by: byPath)
        let customisationReferences = Set(contents).union(try customisation.references(among: index.imagePaths)).sorted(by: byPath)
        let sortedRoots = Set(configReferences).union(customisationReferences).sorted(by: byPath)

        var layers: [[String]] = []
        var closure: ReferenceGraph?
        if spec.includeStorePaths && !sortedRoots.isEmpty {
            let graph = try ClosureGraph.build(spec: spec, index: index, roots: sortedRoots, needsSizes: spec.layering != .popularity)
            closure = graph
            let strategy: LayeringStrategy
            switch spec.layering {
            case .popularity: strategy = .popularity
            case .auto: strategy = .auto
            case let .pipeline(value):
                do { strategy = .pipeline(try LayeringPipeline(json: value)) } catch {
                    throw SpecError.layering(file: spec.file, error)
                }
            }
            // nixpkgs layers the closure of its base JSON and customisation layer store
            // paths, excluding both; auto-layer.py splits with them still in the graph.
            let imageRoots = ImageRootPaths(
                imageName: spec.name, storeDir: spec.storeDir, architecture: spec.architecture, config: .object(spec.config),
                configReferences: configReferences, customisationTarSize: customisation.size,
                customisationReferences: customisationReferences
            )
            do {
                layers = try planLayers(
                    graph: imageRoots.extending(graph), roots: imageRoots.paths, excluding: imageRoots.paths, strategy: strategy, budget: budget
                )
            } catch {
                throw SpecError.layering(file: spec.graph ?? spec.file, error)
            }
        }

        let stamp = EntryStamp(uid: spec.uid, gid: spec.gid, uname: spec.uname, gname: spec.gname, mtime: mtime)
        let leading = Self.ancestors(of: spec.storeDir)
        let storeLayers = layers.map { paths in
            StoreLayer(
                paths: paths.map(index.mapping), leadingDirectories: leading, stamp: stamp, historyPaths: paths, canonicalModes: true,
                narSize: closure.flatMap { Self.narSize(of: paths, in: $0) }
            )
        }
        let repoName = spec.name.lowercased()
        let repoTag: RepoTag = spec.tag.map { .fixed("\(repoName):\($0)") }
            ?? .derived(name: repoName, seed: resolvedDescription(contents: contents, layers: layers, created: created, mtime: mtime))
        let plan = ImagePlan(
            baseImage: base, storeLayers: storeLayers, customisation: customisation, created: created, mtime: mtime,
            architecture: spec.architecture, config: spec.config, repoTag: repoTag
        )
        return ResolvedImage(plan: plan, storeLayers: layers, warnings: warnings.map(\.description))
    }

    /// A layer's bytes by the graph: known only when every path's `narSize` is. A weight, not
    /// a count: sizes a graph cannot mean add up to the largest weight rather than overflow.
    static func narSize(of paths: [String], in graph: ReferenceGraph) -> UInt64? {
        var total: UInt64 = 0
        for path in paths {
            guard let size = graph.node(path)?.narSize else { return nil }
            total = total.addingReportingOverflow(size).overflow ? .max : total + size
        }
        return total
    }

    /// `/nix/store` → `/nix`, `/nix/store`: the directories that open each store layer.
    static func ancestors(of storeDir: String) -> [String] {
        var result: [String] = []
        var current = ""
        for part in storeDir.split(separator: "/") {
            current += "/" + part
            result.append(current)
        }
        return result
    }

    /// Everything resolved that decides the image, as bytes: with the layers' digests it seeds
    /// a derived tag, so any change of input changes the tag.
    private func resolvedDescription(contents: [String], layers: [[String]], created: PythonDateTime, mtime: Int) -> [UInt8] {
        let layering: JSONValue
        switch spec.layering {
        case .popularity: layering = "popularity"
        case .auto: layering = "auto"
        case let .pipeline(value): layering = value
        }
        let description = JSONObject([
            ("name", .string(spec.name)), ("storeDir", .string(spec.storeDir)),
            ("contents", .array(contents.map(JSONValue.string))), ("config", .object(spec.config)),
            ("architecture", .string(spec.architecture)), ("created", .string(created.isoformat())),
            ("mtime", .integer(String(mtime))), ("maxLayers", .integer(String(spec.maxLayers))), ("layering", layering),
            ("extraCommands", .string(spec.extraCommands)), ("fakeRootCommands", .string(spec.fakeRootCommands)),
            ("enableFakechroot", .bool(spec.enableFakechroot)), ("includeStorePaths", .bool(spec.includeStorePaths)),
            ("uid", .integer(String(spec.uid))), ("gid", .integer(String(spec.gid))),
            ("uname", .string(spec.uname)), ("gname", .string(spec.gname)),
            ("layers", .array(layers.map { .array($0.map(JSONValue.string)) })),
        ])
        return PythonJSON.dumps(.object(description))
    }

    /// A private work directory for one build, removed by `removeWorkDirectory`. Named
    /// `repro-check-<kind>-<pid>-XXXXXX` so that a later run can tell a dead run's folder by
    /// its pid and sweep it.
    public static func makeWorkDirectory(kind: String = "build") throws -> String {
        let base = ProcessInfo.processInfo.environment["TMPDIR"].flatMap { $0.isEmpty ? nil : $0 } ?? "/tmp"
        var template = Array("\(base)/repro-check-\(kind)-\(getpid())-XXXXXX".utf8CString)
        guard let made = template.withUnsafeMutableBufferPointer({ buffer in buffer.baseAddress.flatMap { mkdtemp($0) } }) else {
            throw IOError.open(base, errno: errno)
        }
        return String(cString: made)
    }

    /// Removes a work directory, even where commands left read-only folders, without ever
    /// following a symlink: the symlink join's links lead into the store, which is not ours.
    /// Best effort; `FileSystem.removeTree` says what could not be removed.
    public static func removeWorkDirectory(_ path: String) {
        try? FileSystem.removeTree(path)
    }
}

/// The reference graph of a closure: read from the spec's graph file, or discovered as Nix
/// does, by scanning each path's files for the hash parts of the other store paths.
enum ClosureGraph {
    static func build(spec: ImageSpec, index: StoreIndex, roots: [String], needsSizes: Bool) throws -> ReferenceGraph {
        if let graphFile = spec.graph {
            let graph = try ReferenceGraph.load(path: graphFile)
            for path in graph.paths where !index.contains(path) {
                throw StoreError.graphPathMissing(graph: graphFile, path: path)
            }
            for root in roots where !graph.contains(root) {
                throw StoreError.graphPathMissing(graph: graphFile, path: root)
            }
            guard needsSizes, graph.nodes.contains(where: { $0.narSize == nil }) else { return graph }
            return try ReferenceGraph(nodes: try graph.nodes.map { node in
                ReferenceGraph.Node(path: node.path, references: node.references, narSize: try node.narSize ?? StoreWalk.size(of: index.hostPath(node.path)))
            })
        }
        let scanner = try ReferenceScanner(candidates: index.imagePaths)
        var nodes: [ReferenceGraph.Node] = []
        var seen = Set(roots)
        var queue = roots
        while let path = queue.popLast() {
            let host = index.hostPath(path)
            let references = try scanner.scan(hostPath: host).filter { $0 != path }
            nodes.append(ReferenceGraph.Node(path: path, references: references, narSize: try StoreWalk.size(of: host)))
            for reference in references where !seen.contains(reference) {
                seen.insert(reference)
                queue.append(reference)
            }
        }
        return try ReferenceGraph(nodes: nodes)
    }
}
