/// Everything that decides the bytes of an image, resolved: nothing ambient (clock, locale,
/// host owner, directory order) is read after this value exists, except the file contents and
/// modes it points at.
public struct ImagePlan: Sendable {
    public var baseImage: BaseImage?
    public var storeLayers: [StoreLayer]
    public var customisation: any Layer
    public var created: PythonDateTime
    public var mtime: Int
    public var architecture: String
    public var config: JSONObject
    public var repoTag: RepoTag

    public init(
        baseImage: BaseImage?, storeLayers: [StoreLayer], customisation: any Layer, created: PythonDateTime,
        mtime: Int, architecture: String, config: JSONObject, repoTag: RepoTag
    ) {
        self.baseImage = baseImage
        self.storeLayers = storeLayers
        self.customisation = customisation
        self.created = created
        self.mtime = mtime
        self.architecture = architecture
        self.config = config
        self.repoTag = repoTag
    }
}

/// The image's `RepoTags` entry: given, or derived from everything that decides the image.
public enum RepoTag: Sendable, Equatable {
    case fixed(String)
    /// `name:<32 hex>` from the sha256 of `seed` and every layer's diffID: any change of input
    /// changes the tag, and identical inputs give the same tag.
    case derived(name: String, seed: [UInt8])

    public func resolve(diffIDs: [Digest]) -> String {
        switch self {
        case let .fixed(tag): return tag
        case let .derived(name, seed):
            var bytes = seed
            for diffID in diffIDs { bytes += Array(diffID.description.utf8) }
            return "\(name):\(Digest.of(bytes).hex.prefix(32))"
        }
    }
}

public enum ImageBuildError: Error, CustomStringConvertible {
    case badChecksumFile(String, String)
    case checksumMismatch(file: String, declared: Digest, actual: Digest)
    case baseLayerMismatch(archive: String, member: String, declared: Digest, actual: Digest)
    case storeChanged(layer: Int, first: Digest, second: Digest)
    case missingStorePath(String)
    case outsideStoreDir(path: String, storeDir: String)

    public var description: String {
        switch self {
        case let .badChecksumFile(path, text):
            "\(path) must hold 64 lowercase hex characters, found \"\(text.prefix(80))\""
        case let .checksumMismatch(file, declared, actual):
            "\(file) has sha256 \(actual.hex) but its checksum file says \(declared.hex)"
        case let .baseLayerMismatch(archive, member, declared, actual):
            "base image \(archive) is corrupt: layer \(member) hashes to \(actual.hex) but its config says \(declared.hex)"
        case let .storeChanged(layer, first, second):
            "store layer \(layer) changed while the image was written (first pass \(first.hex), second pass \(second.hex)); refusing to emit a wrong diff_id"
        case let .missingStorePath(path):
            "store path \(path) does not exist"
        case let .outsideStoreDir(path, storeDir):
            "store path \(path) is not inside store_dir \(storeDir)"
        }
    }
}
