import Builder
import Foundation
import Testing

extension CustomisationSuite {
    @Suite("Command runner")
    struct CommandRunnerTests {
        struct Fixture {
            let store: TestStore
            let root: String
            let work: String
            let mtime = 1_700_000_000

            init(_ label: String) throws {
                store = try TestStore(label)
                root = store.base + "/root"
                work = store.base + "/work"
                try TestStore.makeDirectories(root)
                try TestStore.makeDirectories(work)
            }

            func runner(passThrough: [String: String] = [:], toolSearchPath: String = CommandRunner.fixedPath) -> CommandRunner {
                CommandRunner(root: root, workDirectory: work, mtime: mtime, store: store.binding, passThrough: passThrough, toolSearchPath: toolSearchPath)
            }

            func read(_ relative: String) throws -> String {
                String(decoding: try Data(contentsOf: URL(fileURLWithPath: root + "/" + relative)), as: UTF8.self)
            }
        }

        @Test("extraCommands sees only the fixed environment and the pass-through variables")
        func cleanEnvironment() async throws {
            let fixture = try Fixture("run-env")
            defer { fixture.store.remove() }

            _ = try await fixture.runner(passThrough: ["FAKETIME": "@2001-01-01"]).run(CustomisationCommands(extraCommands: "env > envdump"))

            var variables: [String: String] = [:]
            for line in try fixture.read("envdump").split(separator: "\n") {
                let parts = line.split(separator: "=", maxSplits: 1)
                variables[String(parts[0])] = parts.count > 1 ? String(parts[1]) : ""
            }
            // PWD is exported by the shell itself.
            #expect(Set(variables.keys) == ["PATH", "HOME", "TZ", "LC_ALL", "SOURCE_DATE_EPOCH", "TMPDIR", "NIX_BUILD_TOP", "out", "FAKETIME", "PWD"])
            #expect(variables["PATH"] == "/usr/local/bin:/usr/bin:/bin")
            #expect(variables["HOME"] == "/homeless-shelter")
            #expect(variables["TZ"] == "UTC")
            #expect(variables["LC_ALL"] == "C")
            #expect(variables["SOURCE_DATE_EPOCH"] == "1700000000")
            #expect(variables["TMPDIR"] == fixture.work + "/tmp")
            #expect(variables["out"] == fixture.root)
            #expect(variables["PWD"] == fixture.root)
            #expect(variables["FAKETIME"] == "@2001-01-01")
        }

        @Test("commands run with umask 022 whatever the caller's umask")
        func umask022() async throws {
            let fixture = try Fixture("run-umask")
            defer { fixture.store.remove() }

            _ = try await withUmask(0o077) {
                try await fixture.runner().run(CustomisationCommands(extraCommands: "touch made && mkdir madedir", fakeRootCommands: "touch faked"))
            }

            #expect(try fileMode(fixture.root + "/made") == 0o644)
            #expect(try fileMode(fixture.root + "/madedir") == 0o755)
            #expect(try fileMode(fixture.root + "/faked") == 0o644)
        }

        @Test("commands read stdin from /dev/null")
        func stdinIsDevNull() async throws {
            let fixture = try Fixture("run-stdin")
            defer { fixture.store.remove() }

            _ = try await fixture.runner().run(CustomisationCommands(extraCommands: "readlink /proc/self/fd/0 > stdin-source; cat > stdin-copy"))

            #expect(try fixture.read("stdin-source") == "/dev/null\n")
            #expect(try fixture.read("stdin-copy") == "")
        }

        @Test("a failing command reports its script, exit status and the end of its stderr")
        func failingCommand() async throws {
            let fixture = try Fixture("run-fail")
            defer { fixture.store.remove() }
            let noisy = "i=0; while [ $i -lt 400 ]; do echo \"noise line $i\" >&2; i=$((i+1)); done; echo 'the real reason' >&2; exit 3"

            await #expect {
                try await fixture.runner().run(CustomisationCommands(extraCommands: noisy))
            } throws: { error in
                guard case let .commandFailed(script, status, tail)? = error as? CustomisationError else { return false }
                return script == .extraCommands && status == .exited(3) && tail.hasSuffix("the real reason")
                    && tail.utf8.count <= CommandRunner.stderrTailLimit && !tail.contains("noise line 0\n")
            }
            await #expect {
                try await fixture.runner().run(CustomisationCommands(fakeRootCommands: "echo denied >&2; false"))
            } throws: { error in
                guard case let .commandFailed(script, status, tail)? = error as? CustomisationError else { return false }
                return script == .fakeRootCommands && status == .exited(1) && tail == "denied"
            }
        }

        @Test("a missing fakeroot is reported with its apt package")
        func missingTool() async throws {
            let fixture = try Fixture("run-missing")
            defer { fixture.store.remove() }

            await #expect {
                try await fixture.runner(toolSearchPath: fixture.work).run(CustomisationCommands(fakeRootCommands: "true"))
            } throws: { error in
                guard case let .toolMissing(tool, package, _)? = error as? CustomisationError else { return false }
                return tool == "fakeroot" && package == "fakeroot" && "\(error)".contains("apt-get install fakeroot")
            }
        }

        @Test("fakeRootCommands ownership changes are returned in the fakeroot state")
        func fakerootState() async throws {
            let fixture = try Fixture("run-fakeroot")
            defer { fixture.store.remove() }

            let state = try await fixture.runner().run(CustomisationCommands(fakeRootCommands: "mkdir -p home/alice && chown 1000:1000 home/alice && [ \"$(id -u)\" = 0 ]"))

            let status = try FileSystem.lstatus(Array((fixture.root + "/home/alice").utf8))
            let entry = state.entry(for: status)
            #expect(entry?.uid == 1000)
            #expect(entry?.gid == 1000)
            #expect(entry.map { $0.mode & 0o7777 } == 0o755)
        }

        @Test("parses fakeroot's saved state format")
        func parsesState() throws {
            let text = "dev=fe00,ino=16221874,mode=40755,uid=1000,gid=1000,nlink=2,rdev=0\ndev=fe00,ino=42,mode=20644,uid=0,gid=0,nlink=1,rdev=259\n"
            let state = try FakerootState(parsing: text, file: "state")
            #expect(state.entries[.init(device: 0xfe00, inode: 16_221_874)] == .init(mode: 0o40755, uid: 1000, gid: 1000))
            #expect(state.entries[.init(device: 0xfe00, inode: 42)] == .init(mode: 0o20644, uid: 0, gid: 0, rdev: 259))
            #expect(throws: CustomisationError.badFakerootState(file: "state", line: 1, text: "garbage")) {
                try FakerootState(parsing: "garbage", file: "state")
            }
        }
    }
}
