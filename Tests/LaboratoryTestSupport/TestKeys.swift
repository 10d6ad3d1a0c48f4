import LaboratoryCrypto
import Synchronization

/// The RSA keys the tests use, each generated once per process, on first use. A 2048-bit key takes
/// tens of milliseconds to generate; dozens of test servers and fixtures each making their own
/// would make key generation most of a run on a small machine.
package enum TestKeys {
    /// The identity (host) key of every test server and of the protocol fixtures: what clients pin.
    package static let identity = generate()
    /// A transport key: certified by ``identity`` in the protocol fixtures, or a hand-made hello's.
    package static let transport = generate()
    /// A key that is neither: an impostor's host key, a forger's signing key, a changed host key.
    package static let other = generate()
    /// Transport keys the test servers hand out in turn (see ``LiveServer``).
    package static let serverTransportKeys = TransportKeyPool(count: 4)

    /// A key source for one server whose transport keys rotate: it cycles through three keys of
    /// its own, so that every rotation gives a key different from the one before, and never one
    /// another server offers.
    package static func rotation() -> @Sendable () throws -> RSAPrivateKey {
        let pool = TransportKeyPool(keys: rotationKeys)
        return { pool.next() }
    }

    private static let rotationKeys = (0..<3).map { _ in generate() }

    fileprivate static func generate() -> RSAPrivateKey {
        do { return try RSAPrivateKey(bitCount: 2048) } catch { fatalError("RSA key generation failed: \(error)") }
    }
}

/// A few RSA keys handed out in turn.
package final class TransportKeyPool: Sendable {
    private let keys: [RSAPrivateKey]
    private let counter = Atomic<Int>(0)

    /// A pool of `count` new keys.
    package convenience init(count: Int) {
        self.init(keys: (0..<count).map { _ in TestKeys.generate() })
    }

    package init(keys: [RSAPrivateKey]) { self.keys = keys }

    package func next() -> RSAPrivateKey {
        keys[counter.wrappingAdd(1, ordering: .relaxed).oldValue % keys.count]
    }
}
