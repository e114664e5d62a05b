/// A spec's `expectDigest`: the build fails, before its output gets its final name, when the
/// image it produced is not the one pinned.
public struct DigestPin: Sendable, Equatable {
    public var expected: Digest
    /// The spec that pins it, for the error message.
    public var file: String

    public init(expected: Digest, file: String) {
        self.expected = expected
        self.file = file
    }

    /// `actual` is the manifest digest of an OCI format or the image ID of a docker-archive.
    public func check(_ actual: Digest, format: ImageFormat) throws {
        guard actual != expected else { return }
        throw DigestPinError.mismatch(file: file, expected: expected, actual: actual, format: format)
    }
}

public enum DigestPinError: Error, CustomStringConvertible, Equatable {
    case mismatch(file: String, expected: Digest, actual: Digest, format: ImageFormat)

    public var description: String {
        switch self {
        case let .mismatch(file, expected, actual, format):
            "\(file) pins expectDigest \(expected) but the \(format.rawValue) built has \(format.isOCI ? "manifest digest" : "image ID") \(actual)"
        }
    }
}
