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

    @Test(
        "seal(inPlace:plaintextCount:) over the payload's own bytes writes the same frame as seal(_:)",
        arguments: [0, 1, 15, 16, 17, 64, 1000])
    func sealInPlaceMatchesSeal(size: Int) throws {
        let key = [UInt8](repeating: 3, count: 32)
        let iv = [UInt8](repeating: 5, count: 12)
        let arrays = try RecordSealer(key: key, iv: iv)
        let inPlace = try RecordSealer(key: key, iv: iv)
        let opener = try RecordOpener(key: key, iv: iv)
        let plaintext = (0..<size).map { UInt8(truncatingIfNeeded: $0 &* 7) }
        for _ in 0..<3 {
            let expected = try arrays.seal(plaintext)
            var buffer = plaintext + [UInt8](repeating: 0xEE, count: AES256GCM.tagByteCount)
            try buffer.withUnsafeMutableBytes { try inPlace.seal(inPlace: $0, plaintextCount: size) }
            #expect(buffer == expected)
            #expect(try opener.open(buffer) == plaintext)
            #expect(inPlace.counter == arrays.counter)
            #expect(inPlace.bytesSealed == arrays.bytesSealed)
        }
    }

    @Test(
        "responses and events encoded in place are byte for byte what encoded() gives",
        arguments: [
            ServerMessage.response(Response(requestID: 0, status: .ok)),
            .response(Response(requestID: .max, status: .ok, body: Array(0..<200))),
            .response(Response(requestID: 7, status: .serviceError, errorMessage: "zażółć gęślą jaźń")),
            .response(Response(requestID: 9, status: .rejected, errorMessage: "slow down", body: [0, 0, 3, 232])),
            .event(ServiceEvent(service: "chat", body: Array(repeating: 0x41, count: 64))),
            .event(ServiceEvent(service: "", body: [])),
        ])
    func encodeIntoMatchesEncoded(message: ServerMessage) throws {
        let count = try #require(message.inPlaceByteCount)
        let expected = message.encoded()
        #expect(count == expected.count)
        var output = [UInt8](repeating: 0xEE, count: count)
        output.withUnsafeMutableBytes { message.encode(into: $0) }
        #expect(output == expected)
        #expect(try ServerMessage(decoding: output) == message)
    }

    @Test("messages that are not responses or events, or whose text would be cut, are not encoded in place")
    func inPlaceOnlyWhereExact() {
        #expect(ServerMessage.pong(1).inPlaceByteCount == nil)
        #expect(ServerMessage.closing(CloseReason(.normal, "bye")).inPlaceByteCount == nil)
        let long = String(repeating: "é", count: 40_000)
        #expect(
            ServerMessage.response(Response(requestID: 1, status: .serviceError, errorMessage: long)).inPlaceByteCount
                == nil)
        #expect(ServerMessage.event(ServiceEvent(service: long, body: [])).inPlaceByteCount == nil)
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
