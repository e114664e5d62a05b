#if canImport(Glibc)
import Glibc
#endif

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

/// `--digest-file`: the digest and a newline, written to a temporary name beside the file and
/// renamed, so a reader never sees half a digest.
public enum DigestFile {
    public static func write(_ digest: Digest, to path: String) throws {
        let slash = path.lastIndex(of: "/")
        let directory = slash.map { path[..<$0].isEmpty ? "/" : String(path[..<$0]) } ?? "."
        let base = slash.map { String(path[path.index(after: $0)...]) } ?? path
        let temporary = "\(directory)/.\(base).tmp-\(getpid())"
        unlink(temporary)
        let fd = open(temporary, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0o644)
        guard fd >= 0 else { throw IOError.open(path, errno: errno) }
        var sink = FileDescriptorSink(fd: fd, label: path, bufferSize: 4096)
        do {
            try sink.write(Array("\(digest)\n".utf8))
            try sink.flush()
            guard fchmod(fd, 0o644) == 0, fsync(fd) == 0 else { throw IOError.write(path, errno: errno) }
            close(fd)
            guard rename(temporary, path) == 0 else { throw IOError.rename(path, errno: errno) }
        } catch {
            close(fd)
            unlink(temporary)
            throw error
        }
    }
}
