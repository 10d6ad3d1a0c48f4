import CLaboratorySSL

/// An error from a cryptographic operation, carrying OpenSSL's own reason when it gave one.
///
/// Public errors are a struct over a private code so that new cases never break callers.
package struct CryptoError: Error, Hashable, Sendable, CustomStringConvertible {
    private enum Code: Hashable, Sendable {
        case openSSL
        case authenticationFailed
        case invalidArgument
    }

    private let code: Code
    /// The operation that failed, for example `"RSA-OAEP decrypt"`.
    package let operation: String
    /// Why it failed: OpenSSL's error queue when it had something to say, otherwise our own words.
    package let reason: String

    private init(code: Code, operation: String, reason: String) {
        self.code = code
        self.operation = operation
        self.reason = reason
    }

    /// OpenSSL reported a failure; `reason` holds its error queue.
    package static let openSSLFailure = CryptoError(code: .openSSL, operation: "", reason: "")
    /// An authenticated decryption failed: wrong key, wrong nonce, or tampered data.
    package static let authenticationFailure = CryptoError(
        code: .authenticationFailed, operation: "", reason: "")
    /// An argument had the wrong size or form.
    package static let invalidArgumentFailure = CryptoError(
        code: .invalidArgument, operation: "", reason: "")

    /// Whether two errors are of the same kind, ignoring operation and reason.
    package func isSameKind(as other: CryptoError) -> Bool { code == other.code }

    package var description: String {
        reason.isEmpty ? "\(operation) failed" : "\(operation) failed: \(reason)"
    }

    static func openSSL(_ operation: String) -> CryptoError {
        CryptoError(code: .openSSL, operation: operation, reason: drainErrorQueue())
    }

    static func authentication(_ operation: String) -> CryptoError {
        _ = drainErrorQueue()
        return CryptoError(
            code: .authenticationFailed, operation: operation,
            reason: "authentication tag did not verify (wrong key or nonce, or the data was altered)")
    }

    package static func invalidArgument(_ operation: String, _ reason: String) -> CryptoError {
        CryptoError(code: .invalidArgument, operation: operation, reason: reason)
    }

    /// Empties OpenSSL's thread-local error queue and returns its entries joined.
    static func drainErrorQueue() -> String {
        var reasons: [String] = []
        while true {
            let code = ERR_get_error()
            if code == 0 { break }
            var buffer = [CChar](repeating: 0, count: 256)
            ERR_error_string_n(code, &buffer, buffer.count)
            reasons.append(String(decoding: buffer.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self))
        }
        return reasons.joined(separator: "; ")
    }
}
