@_spi(Benchmarks) import LaboratoryCrypto

/// What the server side of the handshake needs to know. Built once by the server and shared by
/// every connection. It holds no private key: each connection gets the current transport key.
@_spi(Benchmarks) public struct HandshakeConfiguration: Sendable {
    /// The long-term identity public key (DER SPKI) the hello carries.
    public var identityKeySPKI: [UInt8]
    /// SHA-256 of the server password; the password itself is never kept.
    public var passwordDigest: [UInt8]
    /// The server's name, sent in the acceptance.
    public var serverName: String
    /// The registered service names, sent in the acceptance.
    public var services: [String]
    /// How long each handshake step may take, measured from the moment the step begins.
    public var stepTimeout: Duration
    /// How long the whole handshake may take, from the connection's start, whatever the steps do:
    /// trickling bytes never extends it.
    public var totalTimeout: Duration
    /// Whether a client may ask for an unencrypted session by sending an empty secret.
    public var allowsPlaintext: Bool
    /// How long a wrong password waits before it is rejected (never past the step's deadline).
    /// Default 1 second; zero rejects at once.
    public var wrongPasswordDelay: Duration
    /// How many display names a client that gave the right password may send: each invalid one but
    /// the last is answered with `nameRejected` and the client may try again; the last closes with
    /// code 7. Default 3; at least 1.
    public var nameAttempts: UInt8 = 3

    /// Creates a configuration. The password is hashed at once and not stored.
    public init(
        identityKeySPKI: [UInt8], password: String, serverName: String, services: [String],
        stepTimeout: Duration = .seconds(10), totalTimeout: Duration = .seconds(30), allowsPlaintext: Bool = false,
        wrongPasswordDelay: Duration = .seconds(1)
    ) {
        self.init(
            identityKeySPKI: identityKeySPKI, passwordDigest: SHA256.hash(Array(password.utf8)), serverName: serverName,
            services: services, stepTimeout: stepTimeout, totalTimeout: totalTimeout, allowsPlaintext: allowsPlaintext,
            wrongPasswordDelay: wrongPasswordDelay)
    }

    /// Creates a configuration from the SHA-256 digest of the password.
    public init(
        identityKeySPKI: [UInt8], passwordDigest: [UInt8], serverName: String, services: [String],
        stepTimeout: Duration = .seconds(10), totalTimeout: Duration = .seconds(30), allowsPlaintext: Bool = false,
        wrongPasswordDelay: Duration = .seconds(1)
    ) {
        self.wrongPasswordDelay = wrongPasswordDelay
        self.identityKeySPKI = identityKeySPKI
        self.passwordDigest = passwordDigest
        self.serverName = serverName
        self.services = services
        self.stepTimeout = stepTimeout
        self.totalTimeout = totalTimeout
        self.allowsPlaintext = allowsPlaintext
    }
}

/// The transport key a connection's hello offers: the private half to decrypt the key exchange,
/// and the certificate to send. The handshake drops it as soon as the key exchange is processed.
@_spi(Benchmarks) public struct TransportKeyOffer: Sendable {
    /// The transport private key.
    public var privateKey: RSAPrivateKey
    /// Its certificate, signed by the identity key.
    public var certificate: TransportKeyCertificate

    /// Pairs a transport key with its certificate.
    public init(privateKey: RSAPrivateKey, certificate: TransportKeyCertificate) {
        self.privateKey = privateKey
        self.certificate = certificate
    }
}
