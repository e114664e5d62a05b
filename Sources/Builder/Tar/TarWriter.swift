#if canImport(Glibc)
import Glibc
#endif

public enum TarWriterError: Error, CustomStringConvertible, Equatable {
    case dataOverflow(member: String, declared: UInt64)
    case dataUnderflow(member: String, declared: UInt64, written: UInt64)
    case alreadyFailed

    public var description: String {
        switch self {
        case let .dataOverflow(member, declared):
            "tar member \(member) received more than its declared \(declared) bytes"
        case let .dataUnderflow(member, declared, written):
            "tar member \(member) declared \(declared) bytes but only \(written) were written"
        case .alreadyFailed:
            "the tar stream was already broken by an earlier error"
        }
    }
}

/// A streaming tar writer in CPython's stream mode (`"w|"`): header, exactly `size` data bytes,
/// padding to 512; at the end two zero blocks and padding to a 10240-byte record.
///
/// After the first failure every call fails, so a half-written member is never followed by
/// more members.
public struct TarWriter<Sink: ByteSink> {
    public var sink: Sink
    public private(set) var offset: UInt64 = 0
    private var member: [UInt8] = []
    private var declared: UInt64 = 0
    private var written: UInt64 = 0
    private var failed = false

    public init(sink: Sink) { self.sink = sink }

    public mutating func writeHeader(_ header: TarHeader) throws {
        try ensureAlive()
        do {
            try closeMember()
            try TarHeaderEncoder.encode(header) { blocks in
                try sink.write(blocks)
                offset += UInt64(blocks.count)
            }
            member = header.name
            declared = header.carriesData ? header.size : 0
            written = 0
        } catch {
            failed = true
            throw error
        }
    }

    public mutating func writeData(_ bytes: UnsafeRawBufferPointer) throws {
        try ensureAlive()
        do {
            guard written + UInt64(bytes.count) <= declared else {
                throw TarWriterError.dataOverflow(member: String(decoding: member, as: UTF8.self), declared: declared)
            }
            try sink.write(bytes)
            written += UInt64(bytes.count)
            offset += UInt64(bytes.count)
        } catch {
            failed = true
            throw error
        }
    }

    /// Lets `body` put up to `count` bytes of the member's data straight into the sink's memory
    /// (see `ByteSink.fill`); more than the member declared fails before anything is written.
    public mutating func fillData(
        atMost count: Int, scratch: UnsafeMutableRawBufferPointer, _ body: (UnsafeMutableRawBufferPointer) throws -> Int
    ) throws -> Int {
        try ensureAlive()
        do {
            let room = declared - written
            let member = self.member
            let declared = self.declared
            let got = try sink.fill(atMost: count, scratch: scratch) { region in
                let got = try body(region)
                guard UInt64(got) <= room else {
                    throw TarWriterError.dataOverflow(member: String(decoding: member, as: UTF8.self), declared: declared)
                }
                return got
            }
            written += UInt64(got)
            offset += UInt64(got)
            return got
        } catch {
            failed = true
            throw error
        }
    }

    /// Copies exactly `size` bytes of `file` as the member's data, read straight into the
    /// sink's memory where it has some (one copy, by the kernel). A file shorter or longer than
    /// `size` fails: a store path that changes while it is archived must not yield a plausible
    /// member. An empty file is not read.
    public mutating func writeData(from file: borrowing ReadableFile, size: UInt64, scratch: UnsafeMutableRawBufferPointer) throws {
        var remaining = size
        guard size > 0 else { return }
        while true {
            // Asking for one byte more than remains detects a file that grew without an extra
            // read call per file (most store files fit one read).
            var asked = 0
            let got = try fillData(atMost: Int(min(remaining + 1, 1 << 30)), scratch: scratch) { region in
                asked = region.count
                let got = try file.read(into: region)
                guard UInt64(got) <= remaining else {
                    throw IOError.shortRead(FileSystem.display(file.path), expected: size, got: size + UInt64(got) - remaining)
                }
                return got
            }
            if got == 0 { break }
            remaining -= UInt64(got)
            // A read that filled less than it was offered reached the end of the file.
            if remaining == 0 && got < asked { break }
        }
        guard remaining == 0 else {
            throw IOError.shortRead(FileSystem.display(file.path), expected: size, got: size - remaining)
        }
    }

    public mutating func writeData(_ bytes: [UInt8]) throws {
        try bytes.withUnsafeBytes { try writeData($0) }
    }

    /// A whole member whose content is in memory (config, manifest).
    public mutating func add(_ header: TarHeader, content: [UInt8]) throws {
        var header = header
        header.size = UInt64(content.count)
        try writeHeader(header)
        try writeData(content)
    }

    /// Ends the archive: two zero blocks, then zeros up to a whole record.
    public mutating func finish() throws {
        try ensureAlive()
        do {
            try closeMember()
            try emitZeros(2 * TarLayout.blockSize)
            let remainder = Int(offset % UInt64(TarLayout.recordSize))
            if remainder > 0 { try emitZeros(TarLayout.recordSize - remainder) }
        } catch {
            failed = true
            throw error
        }
    }

    private mutating func closeMember() throws {
        guard written == declared else {
            throw TarWriterError.dataUnderflow(member: String(decoding: member, as: UTF8.self), declared: declared, written: written)
        }
        try emitZeros(TarLayout.padding(for: declared))
        declared = 0
        written = 0
    }

    private mutating func emitZeros(_ count: Int) throws {
        guard count > 0 else { return }
        try sink.writeZeros(count)
        offset += UInt64(count)
    }

    private func ensureAlive() throws {
        if failed { throw TarWriterError.alreadyFailed }
    }
}

/// Lets a nested tar (a layer) stream straight into the data of an outer member.
public struct TarMemberDataSink<Outer: ByteSink>: ByteSink {
    public var outer: TarWriter<Outer>

    public init(outer: TarWriter<Outer>) { self.outer = outer }

    public mutating func write(_ bytes: UnsafeRawBufferPointer) throws { try outer.writeData(bytes) }
    public mutating func flush() throws {}

    public mutating func fill(
        atMost count: Int, scratch: UnsafeMutableRawBufferPointer, _ body: (UnsafeMutableRawBufferPointer) throws -> Int
    ) throws -> Int {
        try outer.fillData(atMost: count, scratch: scratch, body)
    }
}
