import LaboratoryCrypto

/// What the server side of the handshake needs to know. Built once by the server and shared by
/// every connection.
public struct HandshakeConfiguration: Sendable {
    /// The RSA key the hello carries and the key exchange is decrypted with.
    public var privateKey: RSAPrivateKey
    /// SHA-256 of the server password; the password itself is never kept.
    public var passwordDigest: [UInt8]
    /// The server's name, sent in the acceptance.
    public var serverName: String
    /// The registered service names, sent in the acceptance.
    public var services: [String]
    /// How long each handshake step may take, measured from the moment the step begins.
    public var stepTimeout: Duration
    /// Whether a client may ask for an unencrypted session by sending an empty secret.
    public var allowsPlaintext: Bool

    /// Creates a configuration. The password is hashed at once and not stored.
    public init(
        privateKey: RSAPrivateKey, password: String, serverName: String, services: [String],
        stepTimeout: Duration = .seconds(10), allowsPlaintext: Bool = false
    ) {
        self.init(
            privateKey: privateKey, passwordDigest: SHA256.hash(Array(password.utf8)), serverName: serverName,
            services: services, stepTimeout: stepTimeout, allowsPlaintext: allowsPlaintext)
    }

    /// Creates a configuration from the SHA-256 digest of the password.
    public init(
        privateKey: RSAPrivateKey, passwordDigest: [UInt8], serverName: String, services: [String],
        stepTimeout: Duration = .seconds(10), allowsPlaintext: Bool = false
    ) {
        self.privateKey = privateKey
        self.passwordDigest = passwordDigest
        self.serverName = serverName
        self.services = services
        self.stepTimeout = stepTimeout
        self.allowsPlaintext = allowsPlaintext
    }
}
