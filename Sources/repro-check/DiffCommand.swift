import ArgumentParser
import Builder
import Foundation
import Harness

struct DiffCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "diff",
        abstract: "Explain how two images differ, down to the layer, entry and header field.",
        discussion: """
            Each image may be a docker-archive, an oci-archive, a dual archive or an oci-layout directory, in any pairing. \
            Layers are paired by diff_id, so the same image in two formats has no difference in content, only in packaging. \
            Causes come first (entries inside layers, decompressed; layers added, removed or moved; a layer compressed \
            to other bytes; config, manifest and index.json keys); what merely follows from them (layer digests, \
            rootfs.diff_ids, descriptors) is one last line. \
            An index.json listing several images has each compared, paired by platform, else ref name, else order; \
            an image on one side only is a difference of its own. \
            A changed text file is shown as a unified diff, a binary one by its first differing byte. \
            Exits 0 when the images are identical, 1 when they differ, 2 when one cannot be read.
            """
    )

    @Argument(help: "The control image: a docker-archive (optionally gzip-compressed), oci-archive or dual file (a pipe will do), or an oci-layout directory.")
    var control: String

    @Argument(help: "The experiment archive.")
    var experiment: String

    @Flag(name: .customLong("json"), help: "Print the differences as a JSON array of typed differences (kind, location, values, diff lines) instead of text.")
    var json = false

    @Option(name: .customLong("limit"), help: "Report at most this many differences per layer, config or manifest.")
    var limit = ArchiveDiff.defaultLimit

    func validate() throws {
        if limit < 1 { throw ValidationError("--limit must be at least 1") }
    }

    func run() throws {
        let differences: [Difference]
        do {
            differences = try ArchiveDiff.compare(control: control, experiment: experiment, limit: limit)
        } catch {
            // An unreadable or damaged input is a usage problem, not a finding about the builds.
            Main.fail(SystemErrorText.message(error), code: 2)
        }
        if json {
            let encoder = JSONEncoder()
            encoder.outputFormatting = [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes]
            let data = try encoder.encode(differences)
            try StandardOutput.write(Array(data) + [0x0A])
        } else {
            try StandardOutput.write(Array(ArchiveDiff.explain(differences).utf8))
        }
        if !differences.isEmpty { throw ExitCode(1) }
    }
}
