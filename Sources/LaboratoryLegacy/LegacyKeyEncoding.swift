import LaboratoryCrypto

// The original prototype's key format: PKCS#1 ("RSA PUBLIC KEY") PEM public keys, as Python's
// `rsa` package writes them. Its keys may be smaller than protocol v1 allows.

extension RSAPublicKey {
    /// The key sizes a prototype peer may use: from 1024 bits, below protocol v1's 2048-bit floor.
    static let legacyBitCounts = 1024...4096

    /// Loads a public key from a PKCS#1 PEM block (`-----BEGIN RSA PUBLIC KEY-----`), the form the
    /// prototype sends. Keys from 1024 bits are accepted, unlike everywhere else in this library.
    package convenience init(legacyPKCS1PEM pem: String) throws {
        try self.init(pkcs1PEM: pem, allowedBitCounts: Self.legacyBitCounts)
    }

    /// The key as a PKCS#1 PEM block (`-----BEGIN RSA PUBLIC KEY-----`): the `RSAPublicKey`
    /// structure carried inside the SubjectPublicKeyInfo's BIT STRING.
    package var legacyPKCS1PEM: String {
        get throws {
            let pkcs1 = try pkcs1DER
            let body = Base64.encode(pkcs1)
            var lines = ["-----BEGIN RSA PUBLIC KEY-----"]
            var index = body.startIndex
            while index < body.endIndex {
                let end = body.index(index, offsetBy: 64, limitedBy: body.endIndex) ?? body.endIndex
                lines.append(String(body[index..<end]))
                index = end
            }
            lines.append("-----END RSA PUBLIC KEY-----")
            return lines.joined(separator: "\n") + "\n"
        }
    }
}
