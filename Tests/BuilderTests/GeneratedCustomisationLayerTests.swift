import Builder
import Foundation
import Testing

extension CustomisationSuite {
    @Suite("Generated customisation layer")
    struct GeneratedCustomisationLayerTests {
        static let mtime = 1_234_567_890

        /// Joins two contents, runs the commands and packs the layer, all below `label`'s
        /// temporary directory; `reverse` creates the store fixture in the opposite order.
        static func build(
            _ label: String, commands: CustomisationCommands, reverse: Bool = false
        ) async throws -> (layer: GeneratedCustomisationLayer, store: TestStore) {
            let store = try TestStore(label)
            let hello = store.path("1", "hello")
            let tools = store.path("2", "tools")
            var steps: [() throws -> Void] = [
                { try store.file(hello, "bin/hello", "hello", mode: 0o755) },
                { try store.file(hello, "share/doc/hello/README", "readme") },
                { try store.file(tools, "bin/tool", "tool", mode: 0o755) },
                { try store.file(tools, "etc/tool.conf", "conf") },
            ]
            if reverse { steps.reverse() }
            for step in steps { try step() }
            let root = store.base + "/root"
            let work = store.base + "/work"
            try TestStore.makeDirectories(work)
            _ = try SymlinkJoin(contents: [hello, tools], store: store.binding).stage(into: root)
            let state = try await CommandRunner(root: root, workDirectory: work, mtime: mtime, store: store.binding).run(commands)
            let layer = try GeneratedCustomisationLayer(root: root, workDirectory: work, storeDirectory: "/nix/store", mtime: mtime, ownership: state)
            return (layer, store)
        }

        static let commands = CustomisationCommands(
            extraCommands: "mkdir -p var/empty tmp etc/ssl && echo motd > etc/motd && mkdir -p nix/store/junk && touch nix/store/junk/file",
            fakeRootCommands: "mkdir -p home/alice && chown 1000:1000 home/alice && chmod 4755 bin/../etc/motd"
        )

        @Test("writes sorted relative entries with one mtime, root owners and no store subtree")
        func layout() async throws {
            let (layer, store) = try await Self.build("layer-layout", commands: Self.commands)
            defer { store.remove() }

            let entries = try LayerReading.entries(ofTarAt: layer.layerPath)

            #expect(entries.map(\.name) == [
                "bin", "bin/hello", "bin/tool", "etc", "etc/motd", "etc/ssl", "etc/tool.conf",
                "home", "home/alice", "nix", "share", "share/doc", "share/doc/hello", "share/doc/hello/README",
                "tmp", "var", "var/empty",
            ])
            #expect(entries.allSatisfy { $0.header.mtime == Self.mtime })
            #expect(entries.allSatisfy { $0.header.uname.isEmpty && $0.header.gname.isEmpty })
            let byName = Dictionary(uniqueKeysWithValues: entries.map { ($0.name, $0) })
            #expect(byName["bin"]?.header.isDirectory == true)
            #expect(byName["bin"]?.header.mode == 0o755)
            #expect(byName["bin/hello"]?.header.linknameString == "/nix/store/\(TestStore.hash("1"))-hello/bin/hello")
            #expect(byName["etc/motd"]?.content == Array("motd\n".utf8))
            #expect(byName["etc/motd"]?.header.mode == 0o4755)
            #expect(byName["home/alice"].map { ($0.header.uid, $0.header.gid) } ?? (0, 0) == (1000, 1000))
            #expect(byName["home"].map { ($0.header.uid, $0.header.gid) } ?? (-1, -1) == (0, 0))
        }

        @Test("reports the store paths its entries refer to")
        func references() async throws {
            let (layer, store) = try await Self.build("layer-refs", commands: Self.commands)
            defer { store.remove() }
            let hello = store.path("1", "hello").imagePath
            let tools = store.path("2", "tools").imagePath
            let unrelated = store.path("3", "unrelated").imagePath

            #expect(try layer.references(among: [unrelated, tools, hello]) == [hello, tools])
        }

        @Test("declares the sha256 of the bytes it writes and streams the same bytes")
        func declaredDiffID() async throws {
            let (layer, store) = try await Self.build("layer-digest", commands: Self.commands)
            defer { store.remove() }

            let measured = try layer.measure(buffer: CopyBuffer())
            var sink = MemorySink()
            try layer.write(to: &sink, buffer: CopyBuffer())

            #expect(measured.digest == layer.declaredDiffID)
            #expect(sink.bytes == (try LayerReading.bytes(layer.layerPath)))
            #expect(sink.bytes.count % 10240 == 0)
            #expect(layer.historyPaths == ["customisation layer"])
            // As nixpkgs' script sees a daemon-built store file: 0444, root-owned, names included.
            #expect(layer.outerHeader(name: "x/layer.tar", size: 10, mtime: 1) == TarHeader(
                name: Array("x/layer.tar".utf8), mode: 0o444, uid: 0, gid: 0, size: 10, mtime: 1, typeflag: TarType.regular,
                uname: Array("root".utf8), gname: Array("root".utf8)
            ))
        }

        @Test("gives identical bytes across builds whatever the host umask, paths and creation order")
        func reproducible() async throws {
            let (first, firstStore) = try await Self.build("layer-repro-a", commands: Self.commands)
            defer { firstStore.remove() }
            let (second, secondStore) = try await withUmask(0o077) {
                try await Self.build("layer-repro-b", commands: Self.commands, reverse: true)
            }
            defer { secondStore.remove() }

            #expect(first.diffID == second.diffID)
            #expect(try LayerReading.bytes(first.layerPath) == LayerReading.bytes(second.layerPath))
        }

        @Test("with enableFakechroot, writes to /etc/passwd land in the layer with their fakeroot owner")
        func fakechroot() async throws {
            let commands = CustomisationCommands(
                fakeRootCommands: """
                mkdir -p /etc
                echo 'alice:x:1000:1000::/home/alice:/bin/sh' > /etc/passwd
                chown 1000:1000 /etc/passwd
                cat /nix/store/\(TestStore.hash("2"))-tools/etc/tool.conf > /from-store
                """,
                enableFakechroot: true
            )
            let (layer, store) = try await Self.build("layer-chroot", commands: commands)
            defer { store.remove() }

            let byName = Dictionary(uniqueKeysWithValues: try LayerReading.entries(ofTarAt: layer.layerPath).map { ($0.name, $0) })

            #expect(byName["etc/passwd"]?.content == Array("alice:x:1000:1000::/home/alice:/bin/sh\n".utf8))
            #expect(byName["etc/passwd"]?.header.uid == 1000)
            #expect(byName["from-store"]?.content == Array("conf".utf8))
            #expect(byName.keys.allSatisfy { !$0.hasPrefix("nix/store") })
        }
    }
}
