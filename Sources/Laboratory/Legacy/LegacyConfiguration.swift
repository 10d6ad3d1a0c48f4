import LaboratoryProtocol

/// The opt-in listener for the original prototype's clients. Its wire format has no
/// authentication of the server and, with the default transform, no encryption at all: enable it
/// only for prototype clients on a trusted network. See `Docs/SECURITY.md`.
public struct LegacyConfiguration: Sendable {
    /// The address to bind. Default loopback.
    public var host = "127.0.0.1"
    /// The port; the prototype's clients expect 12800 (move the v1 listener elsewhere then).
    public var port: Int
    /// How long each step may take (key, password, name), as in the prototype. Default 1 s.
    public var stepTimeout: Duration = .seconds(1)
    /// The transform applied to every message. Default: identity, as the prototype shipped.
    public var transform: any LegacyTransform = IdentityLegacyTransform()
    /// The reply to a plain message when the client is in no chat room. Default: the prototype's
    /// echo, `I received "<message>" from you.`
    public var echoReply: @Sendable (String) -> String = { "I received \"\($0)\" from you." }
    /// The longest message accepted, in bytes. Default 64 KiB.
    public var maximumMessageBytes = 64 * 1024

    /// A legacy listener on `port` with the prototype's defaults.
    public init(port: Int) { self.port = port }
}
