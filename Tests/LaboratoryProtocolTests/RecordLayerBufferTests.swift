@_spi(Benchmarks) import LaboratoryCrypto
@_spi(Benchmarks) import LaboratoryProtocol
import Testing

/// The buffer forms of sealing and opening, which the server uses to seal straight into the
/// frame it sends, behave exactly like the array forms.
@Suite("Record layer, buffer forms")
struct RecordLayerBufferTests {
    @Test(
        "seal(_:into:) writes the same bytes as seal(_:) and advances the counter alike",
        arguments: [0, 1, 64, 1000])
    func sealIntoMatchesSeal(size: Int) throws {
        let key = [UInt8](repeating: 3, count: 32)
        let iv = [UInt8](repeating: 5, count: 12)
        let arrays = try RecordSealer(key: key, iv: iv)
        let buffers = try RecordSealer(key: key, iv: iv)
        let plaintext = (0..<size).map { UInt8(truncatingIfNeeded: $0) }
        for _ in 0..<3 {
            let expected = try arrays.seal(plaintext)
            var output = [UInt8](repeating: 0xEE, count: size + AES256GCM.tagByteCount)
            try plaintext.withUnsafeBytes { plaintext in
                try output.withUnsafeMutableBytes { try buffers.seal(plaintext, into: $0) }
            }
            #expect(output == expected)
            #expect(buffers.counter == arrays.counter)
            #expect(buffers.bytesSealed == arrays.bytesSealed)
        }
    }

    @Test("open from a buffer opens what was sealed and rejects a tampered frame")
    func openFromBuffer() throws {
        let session = try SessionPair()
        let frame = try session.clientSealer.seal(Array("hello".utf8))
        #expect(try frame.withUnsafeBytes { try session.serverOpener.open($0) } == Array("hello".utf8))
        var tampered = try session.clientSealer.seal(Array("again".utf8))
        tampered[0] ^= 1
        let error = try #require(throws: ProtocolError.self) {
            try tampered.withUnsafeBytes { try session.serverOpener.open($0) }
        }
        #expect(error.closeReason.code == .decryptionFailed)
        #expect(session.serverOpener.counter == 1, "a frame that fails to open does not advance the counter")
    }

    @Test("a string field longer than 65,535 bytes is still cut at a character boundary")
    func longStringIsCut() throws {
        var writer = ByteWriter()
        writer.write(string: String(repeating: "é", count: 40_000))  // 80,000 bytes of 2-byte characters
        var reader = ByteReader(writer.bytes)
        let text = try reader.readString("text")
        #expect(text.utf8.count == 65_534)
        #expect(text.allSatisfy { $0 == "é" })
    }
}
