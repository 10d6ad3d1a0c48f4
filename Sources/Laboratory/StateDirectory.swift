import Foundation
import LaboratoryCrypto

/// The files a server keeps between runs: its host key and, if none is configured, its password.
/// Both are created on first use with mode 0600 in a directory created with mode 0700.
public struct StateDirectory: Sendable {
    /// The directory.
    public let path: String

    /// The host key file, PKCS#8 PEM.
    public var hostKeyPath: String { path + "/host_key.pem" }
    /// The generated password file.
    public var passwordPath: String { path + "/password" }

    /// A state directory at `path` (created when first written).
    public init(path: String) { self.path = path }

    /// Loads the host key, or generates a 2048-bit key and saves it. `created` says which.
    public func loadOrCreateHostKey() throws -> (key: RSAPrivateKey, created: Bool) {
        if FileManager.default.fileExists(atPath: hostKeyPath) {
            let pem = try String(contentsOfFile: hostKeyPath, encoding: .utf8)
            do {
                return (try RSAPrivateKey(pem: pem), false)
            } catch {
                throw ConfigurationError("the host key \(hostKeyPath) could not be read: \(error)")
            }
        }
        let key = try RSAPrivateKey(bitCount: 2048)
        try writePrivate(try key.pkcs8PEM, to: hostKeyPath)
        return (key, true)
    }

    /// Loads the stored password, or generates a strong random one (24 random bytes, base64) and
    /// saves it. `created` says which.
    public func loadOrCreatePassword() throws -> (password: String, created: Bool) {
        if FileManager.default.fileExists(atPath: passwordPath) {
            let stored = try String(contentsOfFile: passwordPath, encoding: .utf8)
            return (stored.trimmingCharacters(in: .newlines), false)
        }
        let password = Base64.encode(try SecureRandom.bytes(count: 24))
        try writePrivate(password + "\n", to: passwordPath)
        return (password, true)
    }

    private func writePrivate(_ text: String, to file: String) throws {
        try FileManager.default.createDirectory(
            atPath: path, withIntermediateDirectories: true, attributes: [.posixPermissions: 0o700])
        guard FileManager.default.createFile(atPath: file, contents: nil, attributes: [.posixPermissions: 0o600])
        else { throw ConfigurationError("could not create \(file)") }
        let handle = try FileHandle(forWritingTo: URL(fileURLWithPath: file))
        defer { try? handle.close() }
        try handle.write(contentsOf: Data(text.utf8))
    }
}
