import Foundation
import LaboratoryCrypto

// The original prototype's key format: PKCS#1 ("RSA PUBLIC KEY") PEM public keys, as Python's
// `rsa` package writes them. Its keys may be smaller than protocol v1 allows.

extension RSAPublicKey {
    /// The key sizes a prototype peer may use: from 1024 bits, below protocol v1's 2048-bit floor.
    static let legacyBitCounts = 1024...4096

    /// Loads a public key from a PKCS#1 PEM block (`-----BEGIN RSA PUBLIC KEY-----`), the form the
    /// prototype sends. Keys from 1024 bits are accepted, unlike everywhere else in this library.
    ///
    /// - Throws: ``CryptoError`` if there is no such block, its body is not Base64, or the key
    ///   does not decode or is outside 1024...4096 bits.
    package convenience init(legacyPKCS1PEM pem: String) throws {
        let operation = "PKCS#1 public key decode"
        guard let begin = pem.range(of: Self.legacyPEMHeader),
            let end = pem.range(of: Self.legacyPEMFooter, range: begin.upperBound..<pem.endIndex)
        else { throw CryptoError.invalidArgument(operation, "no RSA PUBLIC KEY block") }
        let body = pem[begin.upperBound..<end.lowerBound].filter { !$0.isWhitespace }
        guard let der = Data(base64Encoded: String(body)) else {
            throw CryptoError.invalidArgument(operation, "the RSA PUBLIC KEY block is not Base64")
        }
        try self.init(pkcs1DER: Array(der), allowedBitCounts: Self.legacyBitCounts)
    }

    static let legacyPEMHeader = "-----BEGIN RSA PUBLIC KEY-----"
    static let legacyPEMFooter = "-----END RSA PUBLIC KEY-----"

    /// The key as a PKCS#1 PEM block (`-----BEGIN RSA PUBLIC KEY-----`): the `RSAPublicKey`
    /// structure carried inside the SubjectPublicKeyInfo's BIT STRING.
    package var legacyPKCS1PEM: String {
        get throws {
            let pkcs1 = try pkcs1DER
            let body = Base64.encode(pkcs1)
            var lines = [Self.legacyPEMHeader]
            var index = body.startIndex
            while index < body.endIndex {
                let end = body.index(index, offsetBy: 64, limitedBy: body.endIndex) ?? body.endIndex
                lines.append(String(body[index..<end]))
                index = end
            }
            lines.append(Self.legacyPEMFooter)
            return lines.joined(separator: "\n") + "\n"
        }
    }
}
