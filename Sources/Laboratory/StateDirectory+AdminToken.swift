import Foundation
@_spi(Benchmarks) import LaboratoryCrypto

extension StateDirectory {
    /// The admin API's bearer token file (mode 0600), generated on first start.
    public var adminTokenPath: String { path + "/admin_token" }

    /// Loads the admin API's bearer token, or generates one (32 random bytes, base64url without
    /// padding, so it needs no quoting in a header or a shell) and saves it with mode 0600.
    /// `created` says which.
    ///
    /// - Throws: ``StateFileError`` if the stored file is unreadable, not text, empty or shorter
    ///   than 16 characters, or the directory is unusable.
    public func loadOrCreateAdminToken() throws -> (token: String, created: Bool) {
        try prepare()
        if FileManager.default.fileExists(atPath: adminTokenPath) {
            let token = try Self.readPassword(file: adminTokenPath)
            guard token.count >= 16 else {
                throw StateFileError(
                    .notText, path: adminTokenPath,
                    "the admin token in \(adminTokenPath) is shorter than 16 characters; remove the file to "
                        + "generate a strong one")
            }
            return (token, false)
        }
        let token = Base64.encode(try SecureRandom.bytes(count: 32))
            .replacingOccurrences(of: "+", with: "-").replacingOccurrences(of: "/", with: "_")
            .replacingOccurrences(of: "=", with: "")
        try PrivateFile.writeAtomically(Array((token + "\n").utf8), to: adminTokenPath, in: path)
        return (token, true)
    }
}
