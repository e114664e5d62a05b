import CZlib
import CZstd

/// How OCI layer blobs are stored. Every setting that shapes the compressed bytes is fixed here
/// (level, header fields, framing), so the blob digests depend only on the layer and on the
/// compressor library's version, never on the host, the thread count or the environment.
public enum LayerCompression: String, Sendable, CaseIterable, Codable {
    case none
    case gzip
    case zstd

    /// The OCI media type of a layer blob stored this way.
    public var layerMediaType: String {
        switch self {
        case .none: "application/vnd.oci.image.layer.v1.tar"
        case .gzip: "application/vnd.oci.image.layer.v1.tar+gzip"
        case .zstd: "application/vnd.oci.image.layer.v1.tar+zstd"
        }
    }

    /// zlib's level 6, what `gzip` and `pigz` default to.
    static let gzipLevel: Int32 = 6
    /// gzip is deflated in independent blocks of this size, each primed with the 32 KiB before
    /// it (pigz's scheme), so blocks compress in parallel and the bytes do not depend on how
    /// many threads did it.
    static let gzipBlockSize = 1 << 20
    /// zstd's default level.
    static let zstdLevel: Int32 = 3
    /// The gzip header: no name or comment, mtime 0, extra flags 0, and OS byte 255
    /// ("unknown", as Go's gzip writer) instead of the OS zlib was compiled for.
    static let gzipHeader: [UInt8] = [0x1F, 0x8B, 0x08, 0x00, 0, 0, 0, 0, 0x00, 0xFF]
    /// zstd's multi-threaded framing cuts the input into jobs of this size whatever the number of
    /// workers, so the frame is the same with one worker or many (single-threaded mode frames
    /// differently, so at least one worker is always used). Small jobs keep memory low; each
    /// reloads the whole window before it (overlap 9), which keeps the ratio.
    static let zstdJobSize: Int32 = 1 << 20
    static let zstdOverlapLog: Int32 = 9
}

/// The compression libraries linked into this build. Their versions decide compressed bytes as
/// much as the settings do, so they are reported beside every manifest digest.
public struct CompressorVersions: Sendable, Equatable, CustomStringConvertible {
    public var zlib: String
    public var zstd: String

    public init(zlib: String, zstd: String) {
        self.zlib = zlib
        self.zstd = zstd
    }

    /// The versions of the libraries actually loaded (not the headers compiled against).
    public static var linked: CompressorVersions {
        CompressorVersions(zlib: String(cString: zlibVersion()), zstd: String(cString: ZSTD_versionString()))
    }

    public var description: String { "zlib \(zlib), zstd \(zstd)" }
}

public enum CompressionError: Error, CustomStringConvertible, Equatable {
    case cannotStart(String, library: String, reason: String)
    case failed(String, library: String, reason: String)

    public var description: String {
        switch self {
        case let .cannotStart(label, library, reason): "cannot start \(library) for \(label): \(reason)"
        case let .failed(label, library, reason): "\(library) failed while compressing \(label): \(reason)"
        }
    }
}

/// Compresses the bytes written to it and forwards the compressed stream to `inner`.
/// `finish()` ends the stream (gzip trailer, zstd epilogue); `flush()` never forces a block
/// boundary, since that would make the bytes depend on how the writes were chunked.
public struct CompressingSink<Inner: ByteSink>: ByteSink {
    public var inner: Inner
    private let engine: (any CompressionEngine)?

    /// `workers` only spreads zstd's jobs over threads; it never changes the bytes.
    public init(_ compression: LayerCompression, inner: Inner, label: String, workers: Int = 1) throws {
        self.inner = inner
        switch compression {
        case .none: engine = nil
        case .gzip: engine = try ParallelDeflateEngine(label: label, workers: max(1, workers))
        case .zstd: engine = try ZstdEngine(label: label, workers: max(1, workers))
        }
    }

    public mutating func write(_ bytes: UnsafeRawBufferPointer) throws {
        guard let engine else { return try inner.write(bytes) }
        try engine.compress(bytes, end: false) { try inner.write($0) }
    }

    public mutating func flush() throws { try inner.flush() }

    public mutating func finish() throws {
        guard let engine else { return }
        try engine.compress(UnsafeRawBufferPointer(start: nil, count: 0), end: true) { try inner.write($0) }
    }
}

protocol CompressionEngine: AnyObject {
    func compress(_ input: UnsafeRawBufferPointer, end: Bool, emit: (UnsafeRawBufferPointer) throws -> Void) throws
}

/// libzstd in its multi-threaded mode with fixed job size and overlap: level 3, a checksum, no
/// content size (the stream's length is not known up front), the same frame for any worker count.
final class ZstdEngine: CompressionEngine {
    private let context: OpaquePointer
    private let output = UnsafeMutableRawBufferPointer.allocate(byteCount: Int(ZSTD_CStreamOutSize()), alignment: 16)
    private let label: String
    private var started = false
    private var ended = false

    init(label: String, workers: Int) throws {
        self.label = label
        guard let context = ZSTD_createCCtx() else {
            output.deallocate()
            throw CompressionError.cannotStart(label, library: "zstd", reason: "out of memory")
        }
        self.context = context
        let parameters: [(ZSTD_cParameter, Int32)] = [
            (ZSTD_c_compressionLevel, LayerCompression.zstdLevel),
            (ZSTD_c_checksumFlag, 1),
            (ZSTD_c_contentSizeFlag, 0),
            (ZSTD_c_nbWorkers, Int32(workers)),
            (ZSTD_c_jobSize, LayerCompression.zstdJobSize),
            (ZSTD_c_overlapLog, LayerCompression.zstdOverlapLog),
        ]
        for (parameter, value) in parameters {
            let rc = ZSTD_CCtx_setParameter(context, parameter, value)
            if ZSTD_isError(rc) != 0 {
                // A libzstd built without threads would silently frame differently: refuse it.
                // deinit frees the context and the buffer.
                let reason = String(cString: ZSTD_getErrorName(rc))
                throw CompressionError.cannotStart(label, library: "zstd", reason: "parameter \(parameter.rawValue)=\(value): \(reason)")
            }
        }
    }

    deinit {
        ZSTD_freeCCtx(context)
        output.deallocate()
    }

    func compress(_ input: UnsafeRawBufferPointer, end: Bool, emit: (UnsafeRawBufferPointer) throws -> Void) throws {
        guard !ended else { throw CompressionError.failed(label, library: "zstd", reason: "data after the end of the stream") }
        // A first call that ends the stream would take zstd's one-shot path, which frames
        // differently; a continue call first keeps every stream on the same path.
        if input.count > 0 || !started { try run(input, directive: ZSTD_e_continue, emit: emit) }
        if end {
            try run(UnsafeRawBufferPointer(start: nil, count: 0), directive: ZSTD_e_end, emit: emit)
            ended = true
        }
    }

    private func run(_ input: UnsafeRawBufferPointer, directive: ZSTD_EndDirective, emit: (UnsafeRawBufferPointer) throws -> Void) throws {
        started = true
        var source = ZSTD_inBuffer(src: input.baseAddress, size: input.count, pos: 0)
        while true {
            var target = ZSTD_outBuffer(dst: output.baseAddress, size: output.count, pos: 0)
            let remaining = ZSTD_compressStream2(context, &target, &source, directive)
            if ZSTD_isError(remaining) != 0 {
                throw CompressionError.failed(label, library: "zstd", reason: String(cString: ZSTD_getErrorName(remaining)))
            }
            if target.pos > 0 { try emit(UnsafeRawBufferPointer(rebasing: output[0..<target.pos])) }
            if directive == ZSTD_e_end {
                if remaining == 0 { return }
            } else if source.pos == source.size {
                return
            }
        }
    }
}
