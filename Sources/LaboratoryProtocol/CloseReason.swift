/// Why a connection ended: a stable numeric code and a human-readable message.
///
/// The server sends it in a `closing` message before closing whenever the peer can still read it.
public struct CloseReason: Hashable, Sendable, CustomStringConvertible {
    /// A close code. Values are part of the wire protocol; see `Docs/PROTOCOL.md`.
    public struct Code: RawRepresentable, Hashable, Sendable, CustomStringConvertible {
        public let rawValue: UInt16
        public init(rawValue: UInt16) { self.rawValue = rawValue }

        /// The session ended normally (a `bye`).
        public static let normal = Code(rawValue: 1)
        /// The peer broke the protocol: malformed or out-of-order message.
        public static let protocolViolation = Code(rawValue: 2)
        /// A frame's length prefix exceeded the maximum frame size.
        public static let frameTooLarge = Code(rawValue: 3)
        /// A sealed frame failed to authenticate (tampered, replayed, reordered or wrong key).
        public static let decryptionFailed = Code(rawValue: 4)
        /// A handshake step was not completed before its deadline.
        public static let handshakeTimeout = Code(rawValue: 5)
        /// The password was wrong.
        public static let wrongPassword = Code(rawValue: 6)
        /// The display name broke the name rules.
        public static let invalidName = Code(rawValue: 7)
        /// The client asked for an unencrypted session and the server does not allow it.
        public static let plaintextNotAllowed = Code(rawValue: 8)
        /// The server is shutting down.
        public static let serverStopping = Code(rawValue: 9)
        /// The server failed internally; the client did nothing wrong.
        public static let internalError = Code(rawValue: 10)
        /// The peer speaks a protocol version this side does not.
        public static let unsupportedVersion = Code(rawValue: 11)
        /// The peer closed the socket without a `bye` (never sent on the wire).
        public static let peerClosed = Code(rawValue: 12)
        /// The peer did not read fast enough and its outbound queue overflowed.
        public static let slowConsumer = Code(rawValue: 13)
        /// The peer kept using a key past the limit without answering a key update request.
        public static let keyExhausted = Code(rawValue: 14)
        /// The server refused the connection at accept: too many connections, too many from this
        /// address, or this address is being penalised. Sent instead of the hello.
        public static let refused = Code(rawValue: 15)
        /// An accepted session sent nothing, not even a pong, for the idle timeout.
        public static let idleTimeout = Code(rawValue: 16)
        /// The server's operator ended the session (the admin API's kick); the message is the
        /// operator's reason.
        public static let kicked = Code(rawValue: 17)

        public var description: String {
            switch self {
            case .normal: "normal"
            case .protocolViolation: "protocol violation"
            case .frameTooLarge: "frame too large"
            case .decryptionFailed: "decryption failed"
            case .handshakeTimeout: "handshake timeout"
            case .wrongPassword: "wrong password"
            case .invalidName: "invalid name"
            case .plaintextNotAllowed: "plaintext not allowed"
            case .serverStopping: "server stopping"
            case .internalError: "internal error"
            case .unsupportedVersion: "unsupported version"
            case .peerClosed: "peer closed"
            case .slowConsumer: "slow consumer"
            case .keyExhausted: "key exhausted"
            case .refused: "refused"
            case .idleTimeout: "idle timeout"
            case .kicked: "kicked"
            default: "code \(rawValue)"
            }
        }
    }

    /// The code.
    public var code: Code
    /// What happened, in words meant for the person at the other end.
    public var message: String
    /// For a refusal (code 15) because the client's address is locked out: how long until the
    /// server lets it in again (`retry_ms` on the wire, `Docs/PROTOCOL.md` §9, *Admission*).
    /// `nil` for every other reason.
    public var retryAfter: Duration?

    /// Creates a reason.
    public init(_ code: Code, _ message: String) {
        self.init(code, message, retryAfter: nil)
    }

    /// Creates a reason that says how long to wait: only for a lockout's refusal (code 15).
    public init(_ code: Code, _ message: String, retryAfter: Duration?) {
        self.code = code
        self.message = message
        self.retryAfter = retryAfter
    }

    public var description: String { "\(code): \(message)" }
}
