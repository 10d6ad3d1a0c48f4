import Hummingbird
import Laboratory
@_spi(Benchmarks) import LaboratoryCrypto
import LaboratoryProtocol

/// Lets an admin request through only with the bearer token, counted by admission like a TCP
/// connection: a source that is banned or locked out is refused before its token is looked at
/// (403 or 429 with `Retry-After`), and a wrong token earns the source the wrong-password
/// penalty, so guessing locks the guesser out of every listener.
struct AdminGate: Sendable {
    /// SHA-256 of the token: presented tokens are hashed and compared in constant time, so the
    /// comparison's time says nothing about the token, not even its length.
    private let digest: [UInt8]
    let context: LaboratoryListenerContext

    init(token: String, context: LaboratoryListenerContext) {
        self.digest = SHA256.hash(Array(token.utf8))
        self.context = context
    }

    /// Whether `presented` is the token (constant time).
    func isToken(_ presented: String) -> Bool {
        constantTimeEquals(SHA256.hash(Array(presented.utf8)), digest)
    }

    /// Runs `handler` if the request carries the token; otherwise answers the refusal.
    func guarded(
        _ request: Request, _ requestContext: HTTPRequestContext, _ handler: () async -> Response
    ) async -> Response {
        let source = requestContext.remoteAddress
        switch context.admit(source: source) {
        case .refused(let reason):
            guard let remaining = context.refusalRemaining(for: source) else {
                return AdminReply.error(reason.message, .serviceUnavailable)
            }
            let banned = reason == LaboratoryListenerContext.bannedReason
            return AdminReply.error(reason.message, banned ? .forbidden : .tooManyRequests, retryAfter: remaining)
        case .admitted(let ticket):
            defer { context.closed(ticket) }
            guard let header = request.headers[.authorization] else {
                context.penalize(ticket, for: Self.noToken, wasAuthenticated: false)
                return AdminReply.error("missing token: send Authorization: Bearer <token>", .unauthorized)
            }
            // The scheme's name is case-insensitive (RFC 9110, 11.1).
            let presented = header.lowercased().hasPrefix("bearer ") ? String(header.dropFirst("bearer ".count)) : ""
            guard isToken(presented) else {
                context.penalize(ticket, for: Self.wrongToken, wasAuthenticated: false)
                return AdminReply.error("wrong token", .unauthorized)
            }
            context.authenticated(ticket)
            return await handler()
        }
    }

    /// What a wrong token is charged as: a wrong password.
    static let wrongToken = CloseReason(.wrongPassword, "wrong admin token")
    /// A request without a token: a client that disconnects before authenticating (a small
    /// penalty, so probing without a token is not free either).
    static let noToken = CloseReason(.refused, "no admin token")
}
