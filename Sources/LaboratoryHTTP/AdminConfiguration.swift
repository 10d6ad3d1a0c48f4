/// The admin API of an ``HTTPListener`` (`/admin/…`): JSON over HTTP for the server's operator,
/// authenticated by a bearer token.
///
/// Set ``HTTPConfiguration/admin`` to serve it; without it, nothing answers under `/admin`.
/// The token is compared in constant time, and every wrong or missing token earns the client's
/// address the same penalty as a wrong password on TCP (so guessing locks the address out of
/// every listener: 429 with `Retry-After`). `laboratory-server` keeps the token in its state
/// directory (`StateDirectory.loadOrCreateAdminToken()`).
///
/// Reloading the configuration and draining are the embedder's to carry out, through the hooks:
/// `laboratory-server` reloads what its `SIGHUP` reloads, and drains by starting its service
/// group's graceful shutdown.
///
/// ```swift
/// var http = HTTPConfiguration(port: 12801)
/// http.admin = AdminConfiguration(
///     token: try state.loadOrCreateAdminToken().token,
///     onReload: { try await reloadConfiguration() },
///     onDrain: { await group.triggerGracefulShutdown() })
/// ```
public struct AdminConfiguration: Sendable {
    /// The bearer token clients must send (`Authorization: Bearer <token>`); at least 16
    /// characters.
    public var token: String
    /// Called by `POST /admin/reload`; a thrown error's description is returned to the operator
    /// (500). `nil`: the endpoint answers 501.
    public var onReload: (@Sendable () async throws -> Void)?
    /// Called by `POST /admin/drain` after the answer (202) is sent; it should start the server's
    /// graceful shutdown (sessions are told and given their grace period). `nil`: the endpoint
    /// answers 501.
    public var onDrain: (@Sendable () async -> Void)?

    /// An admin API with `token` and the given hooks.
    public init(
        token: String, onReload: (@Sendable () async throws -> Void)? = nil,
        onDrain: (@Sendable () async -> Void)? = nil
    ) {
        precondition(token.count >= 16, "an admin token needs at least 16 characters")
        self.token = token
        self.onReload = onReload
        self.onDrain = onDrain
    }
}
