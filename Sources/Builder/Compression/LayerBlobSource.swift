/// A layer blob's tar, decompressed the way its media type says it is stored. The media type is
/// not taken on trust: a blob said to be gzip or zstd must start with that format's magic
/// bytes. The magic is peeked and handed on, never sought back to, so a pipe loses nothing.
public struct LayerBlobSource<Inner: ByteSource>: ByteSource {
    public var inner: Inner
    private var peeked: [UInt8]
    private let inflater: Inflater?
    private let unzstd: ZstdPuller?

    public static var gzipMagic: [UInt8] { [0x1F, 0x8B] }
    public static var zstdMagic: [UInt8] { [0x28, 0xB5, 0x2F, 0xFD] }

    public init(_ inner: Inner, compression: LayerCompression) throws {
        self.inner = inner
        peeked = try self.inner.readUpTo(4)
        let label = inner.label
        switch compression {
        case .none:
            inflater = nil
            unzstd = nil
        case .gzip:
            guard peeked.starts(with: Self.gzipMagic) else {
                throw ArchiveError.corrupt(label, "its media type says gzip, but it does not start with gzip's magic bytes")
            }
            inflater = try Inflater(label: label)
            unzstd = nil
        case .zstd:
            guard peeked == Self.zstdMagic else {
                throw ArchiveError.corrupt(label, "its media type says zstd, but it does not start with zstd's magic bytes")
            }
            inflater = nil
            unzstd = try ZstdPuller(label: label)
        }
    }

    public var label: String { inner.label }

    public mutating func read(into buffer: UnsafeMutableRawBufferPointer) throws -> Int {
        if let inflater {
            return try inflater.read(into: buffer) { raw in try self.readRaw(into: raw) }
        }
        if let unzstd {
            return try unzstd.read(into: buffer) { raw in try self.readRaw(into: raw) }
        }
        return try readRaw(into: buffer)
    }

    private mutating func readRaw(into buffer: UnsafeMutableRawBufferPointer) throws -> Int {
        guard !peeked.isEmpty else { return try inner.read(into: buffer) }
        let count = min(buffer.count, peeked.count)
        for index in 0..<count { buffer[index] = peeked[index] }
        peeked.removeFirst(count)
        return count
    }
}
