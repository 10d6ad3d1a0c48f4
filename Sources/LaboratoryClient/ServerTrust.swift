import Foundation

/// How a client decides whether the server's key is the right one.
public struct ServerTrust: Sendable {
    enum Policy: Sendable {
        case pinned(String)
        case knownHosts(String)
        case custom(@Sendable (_ fingerprint: String, _ endpoint: String) -> Bool)
        case any
    }

    let policy: Policy

    /// Whether `text` has the form of a key fingerprint: `SHA256:` and the 43 characters of an
    /// unpadded base64 SHA-256 digest. A pin that is not is a usage error, not a key mismatch.
    package static func isWellFormed(fingerprint text: String) -> Bool {
        guard text.hasPrefix("SHA256:") else { return false }
        let digest = text.utf8.dropFirst("SHA256:".utf8.count)
        let alphabet = { (byte: UInt8) in
            (0x41...0x5A).contains(byte) || (0x61...0x7A).contains(byte) || (0x30...0x39).contains(byte)
                || byte == 0x2B || byte == 0x2F
        }
        return digest.count == 43 && digest.allSatisfy(alphabet)
    }

    /// Accept only a server whose key has this fingerprint (`SHA256:...`).
    public static func pinned(fingerprint: String) -> ServerTrust { ServerTrust(policy: .pinned(fingerprint)) }

    /// Trust on first use: remember each server's key in a known-hosts file (created with mode
    /// 0600 if missing) and refuse a server whose key has changed since.
    public static func knownHosts(file path: String) -> ServerTrust { ServerTrust(policy: .knownHosts(path)) }

    /// Decide in your own code. `accept` receives the server key's fingerprint (`SHA256:...`) and
    /// the server's endpoint as a known-hosts file names it (``KnownHostsFile/endpoint(host:port:)``:
    /// `host:port`, `[::1]:12800` for IPv6), as soon as the server hello arrives and before
    /// anything is sent; returning `false` refuses the server with
    /// ``ClientError/Code/serverKeyMismatch``.
    ///
    /// The server's handshake deadline keeps running while `accept` runs, so decide quickly. To ask
    /// a person, refuse and remember the fingerprint, ask, then connect again with
    /// ``pinned(fingerprint:)``; this is how the `laboratory` terminal client confirms new keys.
    public static func custom(
        _ accept: @escaping @Sendable (_ fingerprint: String, _ endpoint: String) -> Bool
    ) -> ServerTrust {
        ServerTrust(policy: .custom(accept))
    }

    /// Accept any key. Anyone between you and the server can read everything: for tests only.
    public static let acceptAnyKey = ServerTrust(policy: .any)

    /// Checks `fingerprint` for `host:port`, recording it on first use. Returns `nil` if trusted,
    /// otherwise why not.
    func check(fingerprint: String, endpoint: String) throws -> String? {
        switch policy {
        case .any:
            return nil
        case .pinned(let expected):
            return expected == fingerprint
                ? nil : "the server's key is \(fingerprint) but \(expected) was pinned"
        case .custom(let accept):
            return accept(fingerprint, endpoint)
                ? nil : "the server's key \(fingerprint) for \(endpoint) was not accepted"
        case .knownHosts(let path):
            var file = try KnownHostsFile(path: path)
            if let known = file.fingerprint(for: endpoint) {
                return known == fingerprint
                    ? nil
                    : "the server's key is \(fingerprint) but \(path) records \(known) for \(endpoint); "
                        + "if the server's key really changed, remove that line"
            }
            try file.add(endpoint: endpoint, fingerprint: fingerprint)
            return nil
        }
    }
}
