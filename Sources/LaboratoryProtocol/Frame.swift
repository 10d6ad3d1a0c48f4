/// Framing: every frame is a 4-byte big-endian length followed by that many payload bytes.
package enum Frame {
    /// Size of the length prefix.
    package static let headerByteCount = 4
    /// The default maximum payload size, 1 MiB.
    package static let defaultMaximumPayloadByteCount = 1 << 20
    /// The largest payload a server accepts before the client is accepted: 4 KiB, above the
    /// largest legal handshake message (a key exchange for a 16,384-bit transport key is 2 KiB; a
    /// sealed password of the longest allowed 1,024 bytes is 1,043), and far below the session's
    /// maximum, so an unauthenticated client cannot make the server buffer much.
    package static let maximumHandshakePayloadByteCount = 4096
    /// The longest password, in UTF-8 bytes, a server can be configured with (and so the longest a
    /// client can usefully send).
    package static let maximumPasswordByteCount = 1024

    /// Reads a length prefix and checks it against `maximum` before anything is allocated for it.
    ///
    /// - Parameter header: exactly four bytes.
    /// - Throws: ``ProtocolError`` with ``CloseReason/Code/frameTooLarge`` when the length exceeds
    ///   `maximum`.
    package static func payloadLength(header: some Collection<UInt8>, maximum: Int) throws -> Int {
        precondition(header.count == headerByteCount, "a frame header is four bytes")
        let length = header.reduce(0) { $0 << 8 | Int($1) }
        guard length <= maximum else {
            throw ProtocolError(
                CloseReason(.frameTooLarge, "frame of \(length) bytes exceeds the maximum of \(maximum) bytes"))
        }
        return length
    }

    /// Checks a length prefix, read as a big-endian 32-bit integer, against `maximum` before
    /// anything is allocated for it; the form of ``payloadLength(header:maximum:)`` for a prefix
    /// read in place.
    ///
    /// - Throws: ``ProtocolError`` with ``CloseReason/Code/frameTooLarge`` when the length exceeds
    ///   `maximum`.
    package static func payloadLength(_ prefix: UInt32, maximum: Int) throws -> Int {
        let length = Int(prefix)
        guard length <= maximum else {
            throw ProtocolError(
                CloseReason(.frameTooLarge, "frame of \(length) bytes exceeds the maximum of \(maximum) bytes"))
        }
        return length
    }

    /// The four-byte length prefix for a payload of `length` bytes.
    package static func header(payloadLength length: Int) -> [UInt8] {
        precondition(length >= 0 && length <= Int(UInt32.max), "frame payload length out of range")
        return [
            UInt8(truncatingIfNeeded: length >> 24), UInt8(truncatingIfNeeded: length >> 16),
            UInt8(truncatingIfNeeded: length >> 8), UInt8(truncatingIfNeeded: length),
        ]
    }

    /// `payload` with its length prefix.
    package static func encode(_ payload: [UInt8]) -> [UInt8] {
        header(payloadLength: payload.count) + payload
    }
}
