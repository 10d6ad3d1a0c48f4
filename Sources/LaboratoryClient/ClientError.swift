@_spi(Benchmarks) import LaboratoryProtocol

/// Why connecting or talking to a server failed: which step, what happened, and the server's own
/// reason when it sent one.
public struct ClientError: Error, Hashable, Sendable, CustomStringConvertible {
    /// The kind of failure. New kinds may be added; switch with a `default`.
    public struct Code: Hashable, Sendable, CustomStringConvertible {
        private let name: String
        private init(_ name: String) { self.name = name }

        /// No TCP connection could be made (refused, unreachable, timed out).
        public static let connectionFailed = Code("connection failed")
        /// The handshake did not finish within the client's handshake timeout.
        public static let handshakeTimeout = Code("handshake timeout")
        /// The server's key does not match the pinned or known key. Nothing was sent.
        public static let serverKeyMismatch = Code("server key mismatch")
        /// The server rejected the password.
        public static let wrongPassword = Code("wrong password")
        /// The server refused the client for another reason; see ``ClientError/closeReason``.
        public static let rejected = Code("rejected")
        /// The server broke the protocol or speaks another version.
        public static let protocolViolation = Code("protocol violation")
        /// A frame from the server did not authenticate.
        public static let decryptionFailed = Code("decryption failed")
        /// The connection ended; ``ClientError/closeReason`` says why if the server told us.
        public static let connectionClosed = Code("connection closed")
        /// The service answered with an error; see ``ClientError/responseStatus``.
        public static let requestFailed = Code("request failed")
        /// The server refused the display name (the password was right): see
        /// ``ClientError/nameRejection`` for why. Connect again, or pass a `retryName` closure to
        /// `ClientSession.connect` to offer another name on the same connection.
        public static let nameRejected = Code("name rejected")

        public var description: String { name }
    }

    /// Where in the conversation the failure happened.
    public enum Step: String, Hashable, Sendable {
        /// Opening the TCP connection, or the handshake as a whole (its time limit).
        case connecting = "connecting"
        /// Reading and checking the server's hello and its key.
        case hello = "reading the server hello"
        /// Sending the encrypted session secret.
        case keyExchange = "sending the key exchange"
        /// Sending the password.
        case password = "sending the password"
        /// Sending the display name.
        case name = "sending the name"
        /// After acceptance: requests, events, renames, key updates.
        case session = "in session"
    }

    /// The kind of failure.
    public var code: Code
    /// Where it happened.
    public var step: Step
    /// What happened, in words.
    public var message: String
    /// The reason the server gave when it closed the connection, if any.
    public var closeReason: CloseReason?
    /// For ``Code/requestFailed``: the response status.
    public var responseStatus: ResponseStatus?
    /// How long to wait before trying again: for ``Code/requestFailed`` with status `rejected`
    /// because of a rate limit, before sending the request again (PROTOCOL.md §12, *Request
    /// rates*); for ``Code/rejected`` because the client's address is locked out, before
    /// connecting again (PROTOCOL.md §9, *Admission*).
    public var retryAfter: Duration?
    /// For ``Code/nameRejected``: the server's reason and how many more names it would have taken
    /// on that connection (zero when it closed with code 7).
    public var nameRejection: NameRejection?
    /// For ``Code/connectionFailed``: why no connection could be made, for the exit status.
    package var connectFailure: ConnectFailure?

    package init(
        _ code: Code, step: Step, _ message: String, closeReason: CloseReason? = nil,
        responseStatus: Response.Status? = nil
    ) {
        self.code = code
        self.step = step
        self.message = message
        self.closeReason = closeReason
        self.responseStatus = responseStatus
        self.retryAfter = closeReason?.retryAfter
    }

    public var description: String { "\(code) while \(step.rawValue): \(message)" }
}
