import Foundation

/// A stand-in for `repro-check build --format oci-archive|dual`, passed to `check --builder`:
/// like `PlantedCorpus`'s builder it plants one kind of nondeterminism in `etc/value`, but it
/// streams an oci-archive or dual archive (layer compressed as `--compression` says, gzip by
/// default) and reports its image ID and manifest digest on stderr as `build` does. Asked for
/// any other format it fails, so a caller that forgets to ask for the recorded format is caught.
enum PlantedOCIBuilder {
    static let script = #"""
        #!/bin/sh
        set -eu
        spec="$2"
        format=docker-archive
        compression=gzip
        previous=""
        for argument in "$@"; do
          case "$previous" in
            --format) format="$argument" ;;
            --compression) compression="$argument" ;;
          esac
          previous="$argument"
        done
        case "$format" in
          oci-archive|dual) ;;
          *) echo "this planted builder writes only oci-archive and dual, not $format" >&2; exit 4 ;;
        esac
        plant=$(sed -n 's/.*"tag": *"\([a-z_]*\)".*/\1/p' "$spec")
        value=fixed
        case "$plant" in
          cpus) value=$(nproc) ;;
          home) value="$HOME" ;;
        esac
        work=$(mktemp -d)
        trap 'rm -rf "$work"' EXIT
        mkdir -p "$work/root/etc" "$work/out/blobs/sha256"
        printf 'first line\n%s\nlast line\n' "$value" > "$work/root/etc/value"
        tarflags="--sort=name --mtime=@1 --owner=0 --group=0 --numeric-owner --format=ustar --mode=u+rwX,go+rX,go-w"
        (cd "$work/root" && tar $tarflags -cf ../layer.tar etc)
        diff_id=$(sha256sum "$work/layer.tar" | cut -d' ' -f1)
        case "$compression" in
          gzip) gzip -n -6 -c "$work/layer.tar" > "$work/blob"; media=application/vnd.oci.image.layer.v1.tar+gzip ;;
          zstd) zstd -q -3 -c "$work/layer.tar" > "$work/blob"; media=application/vnd.oci.image.layer.v1.tar+zstd ;;
          *) cp "$work/layer.tar" "$work/blob"; media=application/vnd.oci.image.layer.v1.tar ;;
        esac
        put() {  # moves a file into blobs/sha256 under its digest; prints "digest size"
          digest=$(sha256sum "$1" | cut -d' ' -f1)
          size=$(stat -c %s "$1")
          mv "$1" "$work/out/blobs/sha256/$digest"
          echo "$digest $size"
        }
        set -- $(put "$work/blob"); blob=$1; blob_size=$2
        printf '{"architecture":"amd64","history":[{"comment":"store paths: [%s]"}],"os":"linux","rootfs":{"diff_ids":["sha256:%s"],"type":"layers"}}' "'/etc'" "$diff_id" > "$work/config.json"
        set -- $(put "$work/config.json"); config=$1; config_size=$2
        printf '{"schemaVersion":2,"mediaType":"application/vnd.oci.image.manifest.v1+json","config":{"mediaType":"application/vnd.oci.image.config.v1+json","digest":"sha256:%s","size":%s},"layers":[{"mediaType":"%s","digest":"sha256:%s","size":%s}]}' \
          "$config" "$config_size" "$media" "$blob" "$blob_size" > "$work/manifest.json"
        set -- $(put "$work/manifest.json"); manifest=$1; manifest_size=$2
        printf '{"schemaVersion":2,"mediaType":"application/vnd.oci.image.index.v1+json","manifests":[{"mediaType":"application/vnd.oci.image.manifest.v1+json","digest":"sha256:%s","size":%s,"annotations":{"org.opencontainers.image.ref.name":"latest"}}]}' \
          "$manifest" "$manifest_size" > "$work/out/index.json"
        printf '{"imageLayoutVersion":"1.0.0"}' > "$work/out/oci-layout"
        members="blobs index.json oci-layout"
        if [ "$format" = dual ]; then
          printf '[{"Config":"blobs/sha256/%s","RepoTags":["planted:latest"],"Layers":["blobs/sha256/%s"]}]' "$config" "$blob" > "$work/out/manifest.json"
          members="blobs index.json manifest.json oci-layout"
        fi
        echo "image ID sha256:$config" >&2
        echo "manifest digest sha256:$manifest ($format, layers $compression; gzip(1), zstd(1))" >&2
        cd "$work/out" && tar $tarflags -cf - $members
        """#

    /// A planted corpus whose builder is this script.
    static func corpus(label: String) throws -> PlantedCorpus {
        let corpus = try PlantedCorpus(label: label)
        try script.write(toFile: corpus.builder, atomically: true, encoding: .utf8)
        chmod(corpus.builder, 0o755)
        return corpus
    }
}
