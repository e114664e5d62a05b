import Foundation
import Harness

/// A stand-in for `repro-check build`, passed to `check --builder`: it streams a small valid
/// docker-archive whose one file (`etc/value`) holds what the spec's `"tag"` names, so
/// each test plants exactly one kind of nondeterminism. Everything else is pinned (sorted,
/// mtime 1, owner 0, modes normalised), as the real builder pins it.
struct PlantedCorpus {
    let root: String
    var builder: String { root + "/builder.sh" }
    var corpus: String { root + "/corpus" }
    var database: String { root + "/repro.sqlite" }

    static let script = #"""
        #!/bin/sh
        set -eu
        spec="$2"
        plant=$(sed -n 's/.*"tag": *"\([a-z_]*\)".*/\1/p' "$spec")
        value=fixed
        case "$plant" in
          clock) value=$(date +%Y) ;;
          hostname) value=$(hostname) ;;
          domainname) value=$(domainname) ;;
          flaky)
            # Differs under the second HOME only its first three times: the experiment, its
            # rebuild to a file and the bisect build; the repeat gives the control's image.
            if [ "$HOME" = /nonexistent-second ]; then
              echo x >> "$(dirname "$0")/flaky.count"
              if [ "$(wc -l < "$(dirname "$0")/flaky.count")" -le 3 ]; then value=second; fi
            fi ;;
          uid) value=$(id -u) ;;
          cpus) value=$(nproc) ;;
          random) value=$(od -An -N8 -tx1 /dev/urandom | tr -d ' \n') ;;
          path) value=$(pwd) ;;
          external) value=$(cat "$(dirname "$0")/external.txt") ;;
          home_external) value="$HOME $(cat "$(dirname "$0")/external.txt")" ;;
          fail) echo "planted failure" >&2; exit 3 ;;
          slow) sleep 3 ;;
        esac
        work=$(mktemp -d)
        trap 'rm -rf "$work"' EXIT
        mkdir -p "$work/root/etc"
        printf '%s\n' "$value" > "$work/root/etc/value"
        tarflags="--sort=name --mtime=@1 --owner=0 --group=0 --numeric-owner --format=ustar --mode=u+rwX,go+rX,go-w"
        (cd "$work/root" && tar $tarflags -cf ../layer.tar etc)
        diff_id=$(sha256sum "$work/layer.tar" | cut -d' ' -f1)
        mkdir -p "$work/out/$diff_id"
        mv "$work/layer.tar" "$work/out/$diff_id/layer.tar"
        printf '{"architecture":"amd64","history":[{"comment":"store paths: [%s]"}],"os":"linux","rootfs":{"diff_ids":["sha256:%s"],"type":"layers"}}' "'/etc'" "$diff_id" > "$work/config.json"
        config=$(sha256sum "$work/config.json" | cut -d' ' -f1)
        mv "$work/config.json" "$work/out/$config.json"
        printf '[{"Config":"%s.json","Layers":["%s/layer.tar"],"RepoTags":["planted:latest"]}]' "$config" "$diff_id" > "$work/out/manifest.json"
        cd "$work/out" && tar $tarflags --no-recursion -cf - "$diff_id" "$diff_id/layer.tar" "$config.json" manifest.json
        """#

    init(label: String) throws {
        root = try CLI.temporaryDirectory(label)
        // The user_group build runs as nobody and must read the builder and the specs.
        chmod(root, 0o755)
        try FileManager.default.createDirectory(atPath: root + "/corpus", withIntermediateDirectories: true)
        try Self.script.write(toFile: builder, atomically: true, encoding: .utf8)
        chmod(builder, 0o755)
    }

    /// Adds `corpus/<name>/spec.json`; returns its path.
    @discardableResult
    func addSpec(_ name: String, plant: String, expect: String? = nil) throws -> String {
        let folder = corpus + "/" + name
        try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true)
        var json = "{\"name\": \"\(name)\", \"tag\": \"\(plant)\""
        if let expect { json += ", \"expect\": \"\(expect)\"" }
        json += "}\n"
        try json.write(toFile: folder + "/spec.json", atomically: true, encoding: .utf8)
        return folder + "/spec.json"
    }

    func check(_ extra: [String] = [], paths: [String]? = nil) throws -> CLI.Output {
        try CLI.run(["check"] + (paths ?? [corpus]) + ["--builder", builder, "--db", database, "--jobs", "2"] + extra)
    }

    /// The `--json` summary of a check, read back with the type that wrote it.
    func summary(_ path: String) throws -> JSONSummary.Document {
        try JSONDecoder().decode(JSONSummary.Document.self, from: Data(contentsOf: URL(fileURLWithPath: path)))
    }

    func remove() { try? FileManager.default.removeItem(atPath: root) }
}
