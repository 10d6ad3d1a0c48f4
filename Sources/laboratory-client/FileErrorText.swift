import Foundation

#if canImport(Glibc)
    import Glibc
#elseif canImport(Darwin)
    import Darwin
#endif

/// Why a file operation failed, in the system's words (`Permission denied`, `Is a directory`),
/// for a one-line report: Foundation's errors print as a multi-line `NSCocoaErrorDomain` dump.
enum FileErrorText {
    static func reason(_ error: any Error) -> String {
        if let error = error as? POSIXError { return String(cString: strerror(error.code.rawValue)) }
        let error = error as NSError
        if error.domain == NSPOSIXErrorDomain { return String(cString: strerror(Int32(error.code))) }
        if let underlying = error.userInfo[NSUnderlyingErrorKey] as? any Error { return reason(underlying) }
        return error.localizedDescription.split(whereSeparator: \.isNewline).joined(separator: " ")
    }
}
