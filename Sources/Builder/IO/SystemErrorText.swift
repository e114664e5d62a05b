import Foundation

/// Foundation's errors rendered as the rest of our messages are: the C library's wording of
/// the underlying errno, never `NSCocoaErrorDomain … Code=256` or a localized sentence.
public enum SystemErrorText {
    /// Why an operation failed (`Permission denied`), for a message that already names the file.
    public static func reason(_ error: any Error) -> String {
        if let posix = error as? POSIXError { return IOError.reason(posix.code.rawValue) }
        if let cocoa = error as? CocoaError {
            if let underlying = cocoa.userInfo[NSUnderlyingErrorKey] as? NSError, underlying.domain == NSPOSIXErrorDomain {
                return IOError.reason(Int32(underlying.code))
            }
            switch cocoa.code {
            case .fileNoSuchFile, .fileReadNoSuchFile: return IOError.reason(ENOENT)
            case .fileReadNoPermission, .fileWriteNoPermission: return IOError.reason(EACCES)
            case .fileWriteOutOfSpace: return IOError.reason(ENOSPC)
            case .fileWriteFileExists: return IOError.reason(EEXIST)
            case .fileWriteVolumeReadOnly: return IOError.reason(EROFS)
            default: return "the file operation failed"
            }
        }
        let bridged = error as NSError
        if bridged.domain == NSPOSIXErrorDomain { return IOError.reason(Int32(bridged.code)) }
        return "\(error)"
    }

    /// A whole message: our own errors as they describe themselves, Foundation's with the
    /// path they carry and the errno wording.
    public static func message(_ error: any Error) -> String {
        guard isFoundationError(error) else { return "\(error)" }
        let path = (error as? CocoaError)?.filePath ?? (error as? CocoaError)?.url?.path
        return (path.map { "\($0): " } ?? "") + reason(error)
    }

    static func isFoundationError(_ error: any Error) -> Bool {
        error is CocoaError || error is POSIXError || type(of: error) is NSError.Type
    }
}
