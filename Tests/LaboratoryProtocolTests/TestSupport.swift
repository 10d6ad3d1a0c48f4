import LaboratoryCrypto
import LaboratoryProtocol
import Testing

/// RSA keys are slow to generate: the suites share one.
enum Fixtures {
    static let privateKey: RSAPrivateKey = {
        do { return try RSAPrivateKey(bitCount: 2048) } catch { fatalError("RSA key generation failed: \(error)") }
    }()
}

/// Decodes a hex string (whitespace ignored).
func bytes(hex: String) -> [UInt8] {
    let digits = Array(hex.filter { !$0.isWhitespace })
    precondition(digits.count % 2 == 0, "odd number of hex digits")
    return stride(from: 0, to: digits.count, by: 2).map { UInt8(String(digits[$0...$0 + 1]), radix: 16)! }
}

/// Runs `body`, requires it to throw a ``ProtocolError``, and returns the close code.
func closeCode(
    sourceLocation: SourceLocation = #_sourceLocation, _ body: () throws -> Void
) throws -> CloseReason.Code {
    let error = try #require(throws: ProtocolError.self, sourceLocation: sourceLocation) { try body() }
    return error.closeReason.code
}
