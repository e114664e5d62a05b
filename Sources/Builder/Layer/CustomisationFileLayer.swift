/// A customisation layer that already exists as a file: nixpkgs passes a directory holding
/// `layer.tar` and `checksum` (its hex sha256).
public struct CustomisationFileLayer: Layer {
    public let directory: String
    public let checksum: Digest
    public let historyPaths: [String]

    public var layerPath: String { directory + "/layer.tar" }

    /// `historyLabel` is what the history comment names: nixpkgs writes the conf's string.
    public init(directory: String, historyLabel: String? = nil) throws {
        self.directory = directory
        let checksumPath = directory + "/checksum"
        var source = try FileSource(path: checksumPath)
        let text = String(decoding: try source.readUpTo(4096), as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines)
        guard let digest = Digest(parsing: text), !text.hasPrefix("sha256:") else {
            throw ImageBuildError.badChecksumFile(checksumPath, text)
        }
        checksum = digest
        historyPaths = [historyLabel ?? directory]
    }

    public var declaredDiffID: Digest? { checksum }

    public func verify(firstPass digest: Digest, buffer: CopyBuffer) throws {
        guard digest != checksum else { return }
        throw ImageBuildError.checksumMismatch(file: layerPath, declared: checksum, actual: digest)
    }

    /// Mode and owner come from the file's own stat, as CPython's `gettarinfo` gives them.
    public func outerHeader(name: String, size: UInt64, mtime: Int) throws -> TarHeader {
        let status = try FileSystem.status(Array(layerPath.utf8), follow: true)
        return TarHeader(
            name: Array(name.utf8), mode: status.mode & 0o7777, uid: Int(status.uid), gid: Int(status.gid),
            size: size, mtime: mtime, typeflag: TarType.regular,
            uname: FileSystem.userName(status.uid), gname: FileSystem.groupName(status.gid)
        )
    }

    public func write<S: ByteSink>(to sink: inout S, buffer: CopyBuffer) throws {
        let path = Array(layerPath.utf8)
        let status = try FileSystem.status(path, follow: true)
        let file = try ReadableFile(path: path)
        try file.copy(size: status.size, buffer: buffer.bytes) { try sink.write($0) }
    }
}

import Foundation
