import Foundation
@_spi(Benchmarks) import LaboratoryCrypto
@_spi(Benchmarks) import LaboratoryProtocol
import LaboratoryTransport
import Logging
import NIOConcurrencyHelpers
import NIOPosix

/// When transport keys are replaced.
public struct TransportKeyPolicy: Sendable {
    /// How long one transport key is offered to new connections. Default 10 minutes.
    public var lifetime: Duration = .seconds(600)
    /// How many handshakes one transport key serves at most. Default 50,000.
    public var maximumHandshakes = 50_000
    /// Transport key size. Default 2048 bits.
    public var bitCount = 2048
    /// Where new key pairs come from; `nil` (the default) generates fresh ones. Tests that start
    /// many servers supply pre-generated keys so that key generation does not dominate the run.
    @_spi(Testing) public var keySource: (@Sendable () throws -> RSAPrivateKey)?

    /// The defaults.
    public init() {}
}

/// Generates short-lived transport keys in the background, certifies each with the identity key,
/// offers the current one to new connections, and lets go of retired ones.
///
/// A retired key's private half stays alive only while a connection still awaiting its key
/// exchange holds it, which the handshake deadline bounds; then it is freed (OpenSSL clears RSA
/// private components when a key is freed). No connection ever waits for key generation: the next
/// key is generated ahead of time, and if it is not ready, the current key stays in use a little
/// longer.
final class TransportKeys: Sendable {
    private struct Current {
        var offer: TransportKeyOffer
        var retiresAt: AnyTimerClock.Instant
        var handshakes: Int
    }

    private let identity: RSAPrivateKey
    private let policy: TransportKeyPolicy
    /// How long after retirement clients may still use a key (covers handshakes in progress).
    private let validitySlack: Duration
    private let current: NIOLockedValueBox<Current>
    private let logger: Logger
    private let metrics: ServerMetrics
    /// The server's clock: a key's lifetime, and the rotation's waits.
    private let clock: AnyTimerClock

    /// Generates and certifies the first key (off the cooperative thread pool).
    static func start(
        identity: RSAPrivateKey, policy: TransportKeyPolicy, validitySlack: Duration, logger: Logger,
        metrics: ServerMetrics = .disabled, clock: AnyTimerClock
    ) async throws -> TransportKeys {
        let first = try await generate(identity: identity, policy: policy, validitySlack: validitySlack)
        return TransportKeys(
            identity: identity, policy: policy, validitySlack: validitySlack, first: first, logger: logger,
            metrics: metrics, clock: clock)
    }

    private init(
        identity: RSAPrivateKey, policy: TransportKeyPolicy, validitySlack: Duration, first: TransportKeyOffer,
        logger: Logger, metrics: ServerMetrics, clock: AnyTimerClock
    ) {
        self.metrics = metrics
        self.identity = identity
        self.policy = policy
        self.validitySlack = validitySlack
        self.logger = logger
        self.clock = clock
        self.current = NIOLockedValueBox(
            Current(offer: first, retiresAt: clock.now.advanced(by: policy.lifetime), handshakes: 0))
    }

    /// The key to offer a new connection. Never waits.
    func offer() -> TransportKeyOffer {
        current.withLockedValue { current in
            current.handshakes += 1
            return current.offer
        }
    }

    /// The key currently offered, for tests.
    var currentOffer: TransportKeyOffer { current.withLockedValue { $0.offer } }

    /// Replaces the current key when it has served its time or its handshakes, generating each
    /// next key ahead of time. Runs until cancelled.
    func rotate() async {
        var next: TransportKeyOffer?
        while !Task.isCancelled {
            let (handshakes, retiresAt) = current.withLockedValue { ($0.handshakes, $0.retiresAt) }
            // Prepare the next key during the last fifth of the current key's time or handshakes.
            let prepareAt = retiresAt.advanced(by: .zero - policy.lifetime / 5)
            if next == nil, clock.now >= prepareAt || handshakes >= policy.maximumHandshakes * 4 / 5 {
                do {
                    next = try await Self.generateKey(policy: policy)
                } catch {
                    logger.error(
                        "could not generate a transport key; keeping the current one",
                        metadata: ["error": .client(describing: error)])
                }
            }
            let due = handshakes >= policy.maximumHandshakes
            if due || clock.now >= retiresAt, let prepared = next {
                do {
                    let offer = try Self.certify(
                        prepared.privateKey, identity: identity, policy: policy, slack: validitySlack)
                    current.withLockedValue {
                        $0 = Current(offer: offer, retiresAt: clock.now.advanced(by: policy.lifetime), handshakes: 0)
                    }
                    next = nil
                    metrics.transportKeyRotations.increment()
                    logger.record(
                        .transportKeyRotated(
                            fingerprint: offer.privateKey.publicKey.fingerprint,
                            cause: due ? "handshake-budget" : "lifetime"))
                } catch {
                    logger.error("could not certify a transport key", metadata: ["error": .client(describing: error)])
                }
                continue
            }
            // Wake at retirement, or within a second to notice the handshake budget running out.
            let wait = min(clock.now.duration(to: retiresAt), .seconds(1))
            do {
                try await clock.sleep(for: max(wait, .milliseconds(1)))
            } catch {
                return
            }
        }
    }

    private static func generate(identity: RSAPrivateKey, policy: TransportKeyPolicy, validitySlack: Duration)
        async throws -> TransportKeyOffer
    {
        let key = try await generateKey(policy: policy)
        return try certify(key.privateKey, identity: identity, policy: policy, slack: validitySlack)
    }

    /// Generates a key pair on NIO's blocking-work thread pool, not on a cooperative thread.
    private static func generateKey(policy: TransportKeyPolicy) async throws -> TransportKeyOffer {
        let key =
            if let source = policy.keySource {
                try source()
            } else {
                try await NIOThreadPool.singleton.runIfActive { try RSAPrivateKey(bitCount: policy.bitCount) }
            }
        return TransportKeyOffer(
            privateKey: key,
            certificate: TransportKeyCertificate(transportKeySPKI: [], notBefore: 0, notAfter: 0, signature: []))
    }

    private static func certify(
        _ key: RSAPrivateKey, identity: RSAPrivateKey, policy: TransportKeyPolicy, slack: Duration
    ) throws -> TransportKeyOffer {
        let now = Duration.sinceUnixEpoch.wholeMilliseconds
        let window = policy.lifetime + slack
        let windowMilliseconds =
            window.wholeMilliseconds
        let certificate = try TransportKeyCertificate.issue(
            for: key.publicKey, by: identity, notBefore: now, notAfter: now + windowMilliseconds)
        return TransportKeyOffer(privateKey: key, certificate: certificate)
    }
}
