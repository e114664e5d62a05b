import Builder

/// One output `check` builds and compares: a format, and for an OCI format its layer
/// compression. Builds are compared only with builds of the same output.
public struct CheckOutput: Hashable, Sendable, Codable, CustomStringConvertible {
    public var format: ImageFormat
    /// Nil for docker-archive, whose layers are uncompressed.
    public var compression: LayerCompression?

    public init(format: ImageFormat, compression: LayerCompression?) {
        self.format = format
        self.compression = format.isOCI ? compression ?? .gzip : nil
    }

    public static let dockerArchive = CheckOutput(format: .dockerArchive, compression: nil)

    /// `docker-archive`, `oci-archive+zstd`, `dual+gzip`: how summaries and explanations name it.
    public var description: String {
        compression.map { "\(format.rawValue)+\($0.rawValue)" } ?? format.rawValue
    }

    /// The output a recorded build was made as.
    public init(of build: BuildResult) {
        self.init(format: build.format, compression: build.compression)
    }

    /// The output a name as ``description`` gives it stands for (`docker-archive`,
    /// `oci-archive+zstd`); an OCI format named alone has gzip layers, as `check` builds it.
    /// Nil for anything else.
    public init?(name: String) {
        let parts = name.split(separator: "+", maxSplits: 1, omittingEmptySubsequences: false)
        guard let format = ImageFormat(rawValue: String(parts[0])) else { return nil }
        var compression: LayerCompression?
        if parts.count == 2 {
            guard format.isOCI, let named = LayerCompression(rawValue: String(parts[1])) else { return nil }
            compression = named
        }
        self.init(format: format, compression: compression)
    }

    /// What each child `build` (of `check` or `replay`) is told after its spec; nothing for
    /// docker-archive, so its command lines stay as they were.
    public var buildArguments: [String] {
        guard format.isOCI, let compression else { return [] }
        return ["--format", format.rawValue, "--compression", compression.rawValue]
    }

    /// The outputs `check --format F… --compression C…` asks for: each format once, and an OCI
    /// format once per compression (gzip when none is given); docker-archive once, whatever the
    /// compressions, because its layers are uncompressed. Formats come in `ImageFormat`'s
    /// order and compressions in `LayerCompression`'s, whatever order they were given in.
    public static func requested(formats: [ImageFormat], compressions: [LayerCompression]) throws(CheckOutputError) -> [CheckOutput] {
        let formats = ImageFormat.allCases.filter((formats.isEmpty ? [.dockerArchive] : formats).contains)
        if formats.contains(.ociLayout) { throw .layoutIsADirectory }
        let compressed = compressions.filter { $0 != .none }
        if !formats.contains(where: \.isOCI), let first = compressed.first { throw .compressionNeedsOCI(first) }
        let ordered = LayerCompression.allCases.filter((compressions.isEmpty ? [.gzip] : compressions).contains)
        return formats.flatMap { format in
            format.isOCI ? ordered.map { CheckOutput(format: format, compression: $0) } : [CheckOutput(format: format, compression: nil)]
        }
    }
}

public enum CheckOutputError: Error, Equatable, CustomStringConvertible {
    case layoutIsADirectory
    case compressionNeedsOCI(LayerCompression)

    public var description: String {
        switch self {
        case .layoutIsADirectory:
            "--format oci-layout writes a directory; check compares streams: use oci-archive or dual"
        case let .compressionNeedsOCI(compression):
            "--compression \(compression.rawValue) needs an OCI --format (oci-archive or dual); docker-archive layers are uncompressed"
        }
    }
}

extension Difference {
    /// Where it is, with the output first when a check built several: `oci-archive+zstd: layer 2 (…)`.
    public var place: String { (output.map { "\($0): " } ?? "") + (layer ?? "archive") }

    /// Its summary, after the output when a check built several: `(oci-archive+zstd) …`.
    public var summaryWithOutput: String { (output.map { "(\($0)) " } ?? "") + summary }
}
