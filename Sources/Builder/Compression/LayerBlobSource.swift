/// A layer blob's tar, decompressed the way its media type says it is stored. The media type is
/// not taken on trust: a blob said to be gzip must start as gzip does, one said to be
/// uncompressed or zstd must not, and libzstd refuses what is not zstd. The magic is peeked and
/// handed on (by the gzip sniffer), never sought back to, so a pipe loses nothing.
public struct LayerBlobSource<Inner: ByteSource>: ByteSource {
    /// Gunzips what starts as gzip and passes anything else on untouched.
    private var sniffing: GunzipSniffingSource<Inner>
    private let unzstd: ZstdPuller?

    public init(_ inner: Inner, compression: LayerCompression) throws {
        sniffing = try GunzipSniffingSource(inner)
        let label = inner.label
        switch compression {
        case .none, .zstd:
            guard !sniffing.isCompressed else {
                throw ArchiveError.corrupt(label, "its media type says \(compression == .none ? "uncompressed" : "zstd"), but it starts as gzip does")
            }
        case .gzip:
            guard sniffing.isCompressed else {
                throw ArchiveError.corrupt(label, "its media type says gzip, but it does not start with gzip's magic bytes")
            }
        }
        unzstd = compression == .zstd ? try ZstdPuller(label: label) : nil
    }

    public var inner: Inner { sniffing.inner }
    public var label: String { sniffing.label }

    public mutating func read(into buffer: UnsafeMutableRawBufferPointer) throws -> Int {
        guard let unzstd else { return try sniffing.read(into: buffer) }
        return try unzstd.read(into: buffer) { raw in try self.sniffing.read(into: raw) }
    }
}
