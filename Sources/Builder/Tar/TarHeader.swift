/// One tar member's metadata, as CPython's `tarfile.TarInfo` holds it.
///
/// Names are raw bytes because file names on Linux are bytes; the encoder decides how they are
/// spelled in the header. `paxRecords` are records a member already carried (when a base image
/// is copied); like CPython, they take priority over anything the encoder would derive.
public struct TarHeader: Equatable, Sendable {
    public var name: [UInt8]
    public var mode: UInt32
    public var uid: Int
    public var gid: Int
    public var size: UInt64
    public var mtime: Int
    public var typeflag: UInt8
    public var linkname: [UInt8]
    public var uname: [UInt8]
    public var gname: [UInt8]
    public var devmajor: Int
    public var devminor: Int
    public var paxRecords: [PaxRecord]

    public init(
        name: [UInt8], mode: UInt32 = 0o644, uid: Int = 0, gid: Int = 0, size: UInt64 = 0,
        mtime: Int = 0, typeflag: UInt8 = TarType.regular, linkname: [UInt8] = [],
        uname: [UInt8] = [], gname: [UInt8] = [], devmajor: Int = 0, devminor: Int = 0,
        paxRecords: [PaxRecord] = []
    ) {
        self.name = name
        self.mode = mode
        self.uid = uid
        self.gid = gid
        self.size = size
        self.mtime = mtime
        self.typeflag = typeflag
        self.linkname = linkname
        self.uname = uname
        self.gname = gname
        self.devmajor = devmajor
        self.devminor = devminor
        self.paxRecords = paxRecords
    }

    public init(name: String, mode: UInt32 = 0o644, size: UInt64 = 0, mtime: Int = 0, typeflag: UInt8 = TarType.regular) {
        self.init(name: Array(name.utf8), mode: mode, size: size, mtime: mtime, typeflag: typeflag)
    }

    public var nameString: String { String(decoding: name, as: UTF8.self) }
    public var linknameString: String { String(decoding: linkname, as: UTF8.self) }

    /// Whether data blocks follow the header, by CPython's rule: regular files and any type
    /// it does not know.
    public var carriesData: Bool { TarType.carriesData(typeflag) }
    public var isDirectory: Bool { typeflag == TarType.directory }
    public var isSymlink: Bool { typeflag == TarType.symlink }
    public var isRegular: Bool { typeflag == TarType.regular || typeflag == TarType.regularOld || typeflag == TarType.contiguous }
}

/// A pax extended-header record: `keyword=value`.
public struct PaxRecord: Equatable, Sendable {
    public var keyword: String
    public var value: [UInt8]

    public init(_ keyword: String, _ value: [UInt8]) {
        self.keyword = keyword
        self.value = value
    }

    public init(_ keyword: String, _ value: String) {
        self.init(keyword, Array(value.utf8))
    }
}

/// Type flags (POSIX ustar plus the GNU and pax extensions a reader meets).
public enum TarType {
    public static let regular = UInt8(ascii: "0")
    public static let regularOld: UInt8 = 0
    public static let hardlink = UInt8(ascii: "1")
    public static let symlink = UInt8(ascii: "2")
    public static let character = UInt8(ascii: "3")
    public static let block = UInt8(ascii: "4")
    public static let directory = UInt8(ascii: "5")
    public static let fifo = UInt8(ascii: "6")
    public static let contiguous = UInt8(ascii: "7")
    public static let paxExtended = UInt8(ascii: "x")
    public static let paxGlobal = UInt8(ascii: "g")
    public static let gnuLongName = UInt8(ascii: "L")
    public static let gnuLongLink = UInt8(ascii: "K")

    /// Regular files and any type CPython does not know carry data. A switch, not a `Set`:
    /// this is asked for every entry of every layer pass.
    public static func carriesData(_ flag: UInt8) -> Bool {
        switch flag {
        case hardlink, symlink, character, block, directory, fifo: false
        default: true
        }
    }
}

public enum TarLayout {
    public static let blockSize = 512
    /// CPython's RECORDSIZE: a finished stream is padded to a multiple of this.
    public static let recordSize = 10240
    /// Bytes a reader allows after the end-of-archive block: record padding. CPython pads to
    /// 10 KiB and GNU tar to its blocking factor (20 blocks by default); 1 MiB covers a
    /// blocking factor of 2048. More means the input is not a tar that ends (/dev/zero is
    /// one), and reading on would never stop.
    public static let trailerLimit: UInt64 = 1 << 20

    public static func padding(for size: UInt64) -> Int {
        let remainder = Int(size % UInt64(blockSize))
        return remainder == 0 ? 0 : blockSize - remainder
    }
}
