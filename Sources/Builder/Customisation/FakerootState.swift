#if canImport(Glibc)
import Glibc
#endif

/// What `fakeroot -s` saved: the owners, modes and device numbers the commands set, keyed by
/// the real (device, inode) of each file. Our own process is not under fakeroot, so the layer
/// writer applies these over what lstat reports.
///
/// The file holds one record a line, `dev=<hex>,ino=<dec>,mode=<octal>,uid=<dec>,gid=<dec>,
/// nlink=<dec>,rdev=<dec>` (fakeroot 1.31's `faked` format, checked by running it).
public struct FakerootState: Sendable, Equatable {
    public struct Key: Hashable, Sendable {
        public var device: UInt64
        public var inode: UInt64

        public init(device: UInt64, inode: UInt64) {
            self.device = device
            self.inode = inode
        }
    }

    public struct Entry: Sendable, Equatable {
        /// File type and permission bits, as `st_mode`.
        public var mode: UInt32
        public var uid: Int
        public var gid: Int
        public var rdev: UInt64

        public init(mode: UInt32, uid: Int, gid: Int, rdev: UInt64 = 0) {
            self.mode = mode
            self.uid = uid
            self.gid = gid
            self.rdev = rdev
        }

        public var type: UInt32 { mode & UInt32(S_IFMT) }
    }

    public var entries: [Key: Entry]

    public init(entries: [Key: Entry] = [:]) { self.entries = entries }

    public static let empty = FakerootState()

    public init(parsing text: String, file: String) throws {
        var entries: [Key: Entry] = [:]
        for (index, line) in text.split(separator: "\n", omittingEmptySubsequences: false).enumerated() {
            let trimmed = line.trimmingCharacters(in: .whitespaces)
            if trimmed.isEmpty { continue }
            var fields: [Substring: Substring] = [:]
            for pair in trimmed.split(separator: ",") {
                guard let equals = pair.firstIndex(of: "=") else {
                    throw CustomisationError.badFakerootState(file: file, line: index + 1, text: String(line))
                }
                fields[pair[..<equals]] = pair[pair.index(after: equals)...]
            }
            guard
                let device = fields["dev"].flatMap({ UInt64($0, radix: 16) }),
                let inode = fields["ino"].flatMap({ UInt64($0, radix: 10) }),
                let mode = fields["mode"].flatMap({ UInt32($0, radix: 8) }),
                let uid = fields["uid"].flatMap({ Int($0, radix: 10) }),
                let gid = fields["gid"].flatMap({ Int($0, radix: 10) })
            else {
                throw CustomisationError.badFakerootState(file: file, line: index + 1, text: String(line))
            }
            let rdev = fields["rdev"].flatMap { UInt64($0, radix: 10) } ?? 0
            entries[Key(device: device, inode: inode)] = Entry(mode: mode, uid: uid, gid: gid, rdev: rdev)
        }
        self.entries = entries
    }

    public static func load(path: String) throws -> FakerootState {
        var source = try FileSource(path: path)
        let bytes = try source.readAll()
        return try FakerootState(parsing: String(decoding: bytes, as: UTF8.self), file: path)
    }

    /// The record for a file, if fakeroot's view of it still fits the file on disk. `mknod`
    /// under fakeroot leaves an empty regular file recorded as a device or fifo; any other
    /// type disagreement means the inode was reused after the record was made.
    public func entry(for status: FileSystem.Status) -> Entry? {
        guard let entry = entries[Key(device: status.device, inode: status.inode)] else { return nil }
        if entry.type == status.type { return entry }
        let special = [S_IFCHR, S_IFBLK, S_IFIFO].map { UInt32($0) }
        if status.isRegular && special.contains(entry.type) { return entry }
        return nil
    }
}

import Foundation
