@_spi(Benchmarks) import LaboratoryCrypto
@_spi(Benchmarks) import LaboratoryProtocol
import LaboratoryTestSupport
import Testing

@_spi(Testing) @testable import Laboratory

extension LiveServer {
    /// A live server whose transport keys rotate through ``TestKeys/rotation()``, with `tweak`;
    /// `body` gets the server and its transport keys.
    static func withRotatingKeys<T: Sendable>(
        _ tweak: Tweak, _ body: (LiveServer, TransportKeys) async throws -> T
    ) async throws -> T {
        try await with(
            Tweak {
                $0.transportKeys.keySource = TestKeys.rotation()
                tweak.apply(&$0)
            }
        ) { live in
            try await body(live, try #require(await live.server.transportKeys))
        }
    }
}

extension TransportKeys {
    /// The fingerprint of the transport key offered now.
    var currentFingerprint: String { currentOffer.privateKey.publicKey.fingerprint }

    /// Waits, at most `bound`, until the key offered is no longer the one with `fingerprint`.
    /// Rotation announces nothing a test could await, so this looks every 50 ms.
    func waitForRotation(from fingerprint: String, within bound: Duration) async throws {
        let deadline = ContinuousClock.now + bound
        while currentFingerprint == fingerprint, ContinuousClock.now < deadline {
            try await Task.sleep(for: .milliseconds(50))
        }
    }
}
