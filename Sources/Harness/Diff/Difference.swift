/// One explained difference between two builds of a spec, down to the field.
///
/// Typed so that every consumer (the `diff` command, the results database, the reports and the
/// JSON summary) renders the same facts, and none has to re-parse a sentence: `kind` says what
/// differs, `layer`/`path` where, and `control`/`experiment` (plus `offset` or `lines` for
/// content) what each build holds.
public struct Difference: Sendable, Codable, Equatable {
    public enum Kind: String, Sendable, Codable, CaseIterable {
        /// An entry's content inside a layer (`lines` for text, `offset` for binary data).
        case entryContent = "entry-content"
        /// A tar header field or pax record of an entry (`field`: `mtime`, `mode`, `pax …`).
        case entryField = "entry-field"
        /// An entry present in only one build (`side`).
        case entryOnlyIn = "entry-only-in"
        /// The same entries in another order (the first one out of place is named).
        case entryOrder = "entry-order"
        /// Same entries and fields, yet the layer's bytes differ (padding, header encoding).
        case layerBytes = "layer-bytes"
        /// A layer present in only one build (`side`).
        case layerOnlyIn = "layer-only-in"
        /// The same layers in another order.
        case layerOrder = "layer-order"
        /// The same layer (equal diff_id) stored as different blob bytes: another compression,
        /// level or compressor version (`control`/`experiment` name media type, size, blob).
        case layerCompression = "layer-compression"
        /// An image present in only one build (`side`): a manifest of an OCI index, named
        /// (`layer`) by its platform, else its ref name, else its place.
        case imageOnlyIn = "image-only-in"
        /// A config key that differs of its own accord (`path` is the key path).
        case configField = "config-field"
        /// A manifest key that differs of its own accord (`RepoTags`, …).
        case manifestField = "manifest-field"
        /// An OCI `index.json` key that differs of its own accord (the tag annotation, …).
        case indexField = "index-field"
        /// The image is packaged differently (docker-archive, oci-archive, dual, oci-layout).
        case format
        /// A header field, presence or order of a member of the outer archive.
        case member
        /// What merely follows from the differences above (layer digests, `rootfs.diff_ids`,
        /// manifest `Config`/`Layers`), said once in `derived`.
        case derived
        /// The streams differ but nothing finer was found.
        case archiveBytes = "archive-bytes"
        /// The differences past the limit, counted in `omitted`.
        case omitted
        /// A row stored before differences were typed: only the text columns are known.
        case legacy

        /// A difference of one entry inside a layer.
        public var isEntry: Bool { [.entryContent, .entryField, .entryOnlyIn, .entryOrder].contains(self) }

        /// Whether the image itself (its config or the uncompressed layers) may differ, rather
        /// than only how it is packaged; unknown rows and counted rests count as content.
        public var mayBeContent: Bool {
            ![.layerCompression, .manifestField, .indexField, .format, .member, .derived].contains(self)
        }
    }

    public enum Side: String, Sendable, Codable {
        case control, experiment
    }

    /// Consequences listed by a `derived` difference.
    public enum Consequence: String, Sendable, Codable, CaseIterable {
        case layerDigest = "layer digests"
        case configDigest = "config digest"
        case diffIDs = "config rootfs.diff_ids"
        case manifestConfig = "manifest Config"
        case manifestLayers = "manifest Layers"
        case manifestDigest = "manifest digest"
        case indexManifest = "index.json manifests"
    }

    public var kind: Kind
    /// `manifest.json`, `config`, or a layer as `layer 3 (<short diffID>)`; nil for the archive
    /// as a whole.
    public var layer: String?
    /// The entry path inside the layer, the JSON key path inside config/manifest, or a member name.
    public var path: String?
    /// What is compared, as people call it: `mtime`, `mode`, `content`, `order`, `value`…
    public var field: String
    public var control: String?
    public var experiment: String?
    /// For `entryOnlyIn`/`layerOnlyIn`: the build that has it.
    public var side: Side?
    /// For binary `entryContent`: the first differing byte (`control`/`experiment` hold that
    /// byte as `0xHH`, or `end of data`).
    public var offset: UInt64?
    /// For text `entryContent`: a bounded unified diff.
    public var lines: [DiffLine]?
    /// For `derived`: what follows from the causes.
    public var consequences: [Consequence]?
    /// For `omitted`: how many differences were left out.
    public var omitted: Int?
    /// With several outputs (`check --format … --format …`), the one whose builds differ
    /// (`oci-archive+zstd`); nil when the check built one.
    public var output: String? = nil

    public init(
        kind: Kind, layer: String?, path: String?, field: String, control: String? = nil, experiment: String? = nil,
        side: Side? = nil, offset: UInt64? = nil, lines: [DiffLine]? = nil, consequences: [Consequence]? = nil,
        omitted: Int? = nil
    ) {
        self.kind = kind
        self.layer = layer
        self.path = path
        self.field = field
        self.control = control
        self.experiment = experiment
        self.side = side
        self.offset = offset
        self.lines = lines
        self.consequences = consequences
        self.omitted = omitted
    }

    /// A difference known only by its text columns (rows stored before differences were typed).
    public init(layer: String?, path: String?, field: String, control: String?, experiment: String?) {
        self.init(kind: .legacy, layer: layer, path: path, field: field, control: control, experiment: experiment)
    }
}

/// One line of a unified diff, carried as data and rendered at the edges.
public struct DiffLine: Sendable, Codable, Equatable {
    public enum Kind: String, Sendable, Codable {
        /// `@@ -3,4 +3,4 @@`
        case hunk
        case context
        case removed
        case added
        /// `\ No newline at end of file`, or `… 12 more lines` when the diff is cut short.
        case note
    }

    public var kind: Kind
    public var text: String

    public init(_ kind: Kind, _ text: String) {
        self.kind = kind
        self.text = text
    }

    /// The line as `diff -u` prints it.
    public var rendered: String {
        switch kind {
        case .hunk, .note: text
        case .context: " " + text
        case .removed: "-" + text
        case .added: "+" + text
        }
    }
}
