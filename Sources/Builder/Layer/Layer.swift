/// Owner and time stamped on every entry of a store layer.
public struct EntryStamp: Sendable, Equatable {
    public var uid: Int
    public var gid: Int
    public var uname: String
    public var gname: String
    public var mtime: Int

    public init(uid: Int = 0, gid: Int = 0, uname: String = "root", gname: String = "root", mtime: Int = 1) {
        self.uid = uid
        self.gid = gid
        self.uname = uname
        self.gname = gname
        self.mtime = mtime
    }
}

/// A reusable read buffer, one per thread; layers never buffer more than this. It also carries
/// the thread's hashing pipeline, so a pass over many layers starts one hashing thread and
/// allocates its chunks once instead of once per layer.
public final class CopyBuffer: @unchecked Sendable {
    public let bytes: UnsafeMutableRawBufferPointer
    private var pipelined: PipelinedHasher?

    public init(size: Int = 1 << 20) {
        bytes = UnsafeMutableRawBufferPointer.allocate(byteCount: size, alignment: 64)
    }

    deinit { bytes.deallocate() }

    /// The hashing pipeline, started on first use; one stream at a time.
    public var hasher: PipelinedHasher {
        if let pipelined { return pipelined }
        let started = PipelinedHasher()
        pipelined = started
        return started
    }
}

/// A layer of the image: something that can write its uncompressed tar twice, once to learn
/// its size and diffID and once into the archive, and that knows its outer header.
public protocol Layer: Sendable {
    /// Shown in the config's history comment (`store paths: [...]`).
    var historyPaths: [String] { get }
    /// The diffID the layer claims before it is read (a checksum file, a base config), if any.
    var declaredDiffID: Digest? { get }
    /// Writes the layer's bytes.
    func write<S: ByteSink>(to sink: inout S, buffer: CopyBuffer) throws
    /// The header of the `<diffID>/layer.tar` member in the outer archive.
    func outerHeader(name: String, size: UInt64, mtime: Int) throws -> TarHeader
    /// Checks the first pass's digest against `declaredDiffID`, throwing an error that names
    /// where the wrong claim came from.
    func verify(firstPass digest: Digest, buffer: CopyBuffer) throws
    /// A rough cost, so the largest layers are measured first.
    var estimatedCost: UInt64 { get }
}

extension Layer {
    public func verify(firstPass digest: Digest, buffer: CopyBuffer) throws {
        guard let declared = declaredDiffID, declared != digest else { return }
        throw ImageBuildError.checksumMismatch(file: historyPaths.first ?? "a layer", declared: declared, actual: digest)
    }

    public var estimatedCost: UInt64 { 0 }

    /// The first pass: size and digest without keeping any bytes.
    public func measure(buffer: CopyBuffer) throws -> (digest: Digest, size: UInt64) {
        var sink = buffer.hasher
        do {
            try write(to: &sink, buffer: buffer)
        } catch {
            sink.discard()
            throw error
        }
        return sink.finalize()
    }

    /// A default outer header: what CPython's `TarInfo(path)` gives (mode 0644, root, no names).
    public func defaultOuterHeader(name: String, size: UInt64, mtime: Int) -> TarHeader {
        TarHeader(name: name, mode: 0o644, size: size, mtime: mtime)
    }
}
