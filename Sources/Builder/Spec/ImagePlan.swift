/// Everything that decides the bytes of an image, resolved: nothing ambient (clock, locale,
/// host owner, directory order) is read after this value exists, except the file contents and
/// modes it points at.
public struct ImagePlan: Sendable {
    public var baseImagePath: String?
    public var storeLayers: [StoreLayer]
    public var customisation: any Layer
    public var created: PythonDateTime
    public var mtime: Int
    public var architecture: String
    public var config: JSONObject
    public var repoTag: String

    public init(
        baseImagePath: String?, storeLayers: [StoreLayer], customisation: any Layer, created: PythonDateTime,
        mtime: Int, architecture: String, config: JSONObject, repoTag: String
    ) {
        self.baseImagePath = baseImagePath
        self.storeLayers = storeLayers
        self.customisation = customisation
        self.created = created
        self.mtime = mtime
        self.architecture = architecture
        self.config = config
        self.repoTag = repoTag
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
