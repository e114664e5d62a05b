#if canImport(Glibc)
import Glibc
#endif

/// Failures while staging the customisation root, running its commands or packing it.
public enum CustomisationError: Error, CustomStringConvertible, Equatable {
    case contentMissing(String)
    case contentIsFile(String)
    case directoryFileClash(path: String, directoryIn: String, fileIn: String)
    case symlinkOutsideStore(link: String, target: String)
    case symlinkLoop(link: String)
    case cannotCreate(String, errno: Int32)
    case toolMissing(tool: String, aptPackage: String, searched: String)
    case launchFailed(script: CommandRunner.Script, reason: String)
    case commandFailed(script: CommandRunner.Script, status: CommandRunner.ExitStatus, stderrTail: String)
    case badFakerootState(file: String, line: Int, text: String)

    public var description: String {
        switch self {
        case let .contentMissing(path):
            "the content path \(path) does not exist"
        case let .contentIsFile(path):
            "the content path \(path) is a file, but only directories can be joined into the image root"
        case let .directoryFileClash(path, directoryIn, fileIn):
            "\(path) is a directory in \(directoryIn) but a file in \(fileIn), so the contents cannot be joined"
        case let .symlinkOutsideStore(link, target):
            "\(link) points outside the store (to \(target)), so its directory cannot be merged into the image root"
        case let .symlinkLoop(link):
            "\(link) leads into a symlink loop while joining the contents"
        case let .cannotCreate(path, code):
            "cannot create \(path): \(IOError.reason(code))"
        case let .toolMissing(tool, package, searched):
            "\(tool) was not found in \(searched); install it with `apt-get install \(package)`"
        case let .launchFailed(script, reason):
            "\(script.rawValue) could not be started: \(reason)"
        case let .commandFailed(script, status, tail):
            tail.isEmpty
                ? "\(script.rawValue) failed with \(status) and wrote nothing to stderr"
                : "\(script.rawValue) failed with \(status); the end of its stderr: \(tail)"
        case let .badFakerootState(file, line, text):
            "\(file) line \(line) is not a fakeroot state record: \"\(text.prefix(120))\""
        }
    }
}

/// The few creating system calls the customisation steps need; paths are bytes.
enum HostFiles {
    /// Creates a directory and then sets its mode, so the host umask never shows in the layer.
    static func makeDirectory(_ path: [UInt8], mode: mode_t = 0o755, allowExisting: Bool = false) throws {
        let rc = FileSystem.withCString(path) { mkdir($0, 0o700) }
        if rc != 0 {
            let code = errno
            guard allowExisting, code == EEXIST, (try? FileSystem.status(path, follow: true))?.isDirectory == true else {
                throw CustomisationError.cannotCreate(FileSystem.display(path), errno: code)
            }
        }
        guard FileSystem.withCString(path, { chmod($0, mode) }) == 0 else {
            throw CustomisationError.cannotCreate(FileSystem.display(path), errno: errno)
        }
    }

    static func makeSymlink(_ path: [UInt8], target: [UInt8]) throws {
        let rc = FileSystem.withCString(target) { cTarget in FileSystem.withCString(path) { symlink(cTarget, $0) } }
        guard rc == 0 else { throw CustomisationError.cannotCreate(FileSystem.display(path), errno: errno) }
    }

    /// Opens a fresh file for writing (truncating an old one), mode 0644 whatever the umask.
    static func createFile(_ path: String) throws -> Int32 {
        let fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0o644)
        guard fd >= 0 else { throw CustomisationError.cannotCreate(path, errno: errno) }
        fchmod(fd, 0o644)
        return fd
    }

    /// The last `limit` bytes of a file, decoded leniently: enough of a log to explain a failure.
    static func tail(of path: String, limit: Int) -> String {
        let fd = open(path, O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else { return "" }
        defer { close(fd) }
        let end = lseek(fd, 0, SEEK_END)
        guard end > 0 else { return "" }
        let start = max(0, Int(end) - limit)
        lseek(fd, off_t(start), SEEK_SET)
        var bytes = [UInt8](repeating: 0, count: Int(end) - start)
        var filled = 0
        while filled < bytes.count {
            let got = bytes.withUnsafeMutableBytes { raw in
                Glibc.read(fd, raw.baseAddress.map { $0 + filled }, raw.count - filled)
            }
            if got <= 0 { break }
            filled += got
        }
        return String(decoding: bytes[0..<filled], as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines)
    }
}

import Foundation
