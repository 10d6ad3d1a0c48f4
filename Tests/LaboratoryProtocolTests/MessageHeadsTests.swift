@_spi(Benchmarks) import LaboratoryCrypto
@_spi(Benchmarks) import LaboratoryProtocol
import Testing

/// The request and response heads read and written in place (the bodies stay in their buffers)
/// agree byte for byte with the whole-message codecs, and the two-part seal and the open into
/// caller memory agree with the array forms.
@Suite("Message heads and two-part sealing")
struct MessageHeadsTests {
    static let bodies: [[UInt8]] = [[], [7], Array("hello".utf8), (0..<70_000).map { UInt8(truncatingIfNeeded: $0) }]

    @Test("a request's head and body range match ClientMessage's encoding", arguments: bodies)
    func requestHead(body: [UInt8]) throws {
        let encoded = ClientMessage.request(Request(id: 42, service: "echo", body: body)).encoded()
        let (head, range) = try #require(try encoded.withUnsafeBytes { try RequestHead.decode($0) })
        #expect(head == RequestHead(id: 42, service: "echo"))
        #expect(Array(encoded[range]) == body)
        // And written in place: head then body is exactly the message.
        var written = [UInt8](repeating: 0xEE, count: head.encodedByteCount)
        written.withUnsafeMutableBytes { head.encode(bodyCount: body.count, into: $0) }
        #expect(written + body == encoded)
    }

    @Test("other messages are not requests; malformed requests fail as ClientMessage's decoding does")
    func requestHeadRefusals() throws {
        for message in [ClientMessage.ping(1), .bye, .rename(requestID: 1, name: "x")] {
            #expect(try message.encoded().withUnsafeBytes { try RequestHead.decode($0) } == nil)
        }
        let good = ClientMessage.request(Request(id: 1, service: "echo", body: [1, 2, 3])).encoded()
        var badUTF8 = good
        badUTF8[11] = 0xFF  // the service name's first byte
        for bad in [Array(good.dropLast()), good + [0], badUTF8, [0x90], Array(good.prefix(14))] {
            let expected = try #require(throws: ProtocolError.self) { try ClientMessage(decoding: bad) }
            let error = try #require(throws: ProtocolError.self) {
                try bad.withUnsafeBytes { try RequestHead.decode($0) }
            }
            #expect(error == expected)
        }
    }

    @Test("a response's head written in place matches ServerMessage's encoding", arguments: bodies)
    func responseHead(body: [UInt8]) throws {
        for message in ["", "too many outstanding requests", String(repeating: "é", count: 40_000)] {
            let head = ResponseHead(requestID: 9, status: .serviceError, errorMessage: message)
            let expected = ServerMessage.response(
                Response(requestID: 9, status: .serviceError, errorMessage: message, body: body)
            ).encoded()
            var written = [UInt8](repeating: 0xEE, count: head.encodedByteCount)
            written.withUnsafeMutableBytes { head.encode(bodyCount: body.count, into: $0) }
            #expect(written + body == expected)
            let (decoded, range) = try #require(try expected.withUnsafeBytes { try ResponseHead.decode($0) })
            #expect(Array(expected[range]) == body)
            #expect(decoded.requestID == 9 && decoded.status == .serviceError)
            #expect(message.utf8.count > 65_535 || decoded.errorMessage == message)
        }
        #expect(try ServerMessage.pong(3).encoded().withUnsafeBytes { try ResponseHead.decode($0) } == nil)
    }

    @Test("sealing a head and a body apart equals sealing them together, in place or not", arguments: bodies)
    func twoPartSeal(body: [UInt8]) throws {
        let key = [UInt8](repeating: 3, count: 32)
        let iv = [UInt8](repeating: 5, count: 12)
        let whole = try RecordSealer(key: key, iv: iv)
        let parts = try RecordSealer(key: key, iv: iv)
        let head = Array("a head of some bytes".utf8)
        for inPlace in [false, true, false] {
            let expected = try whole.seal(head + body)
            var output = [UInt8](repeating: 0xEE, count: head.count + body.count + AES256GCM.tagByteCount)
            try body.withUnsafeBytes { body in
                try output.withUnsafeMutableBytes { output in
                    if inPlace {
                        // The head written as plaintext where its ciphertext goes, as the server does.
                        output.copyBytes(from: head)
                        let plainHead = UnsafeRawBufferPointer(rebasing: output.prefix(head.count))
                        try parts.seal(head: plainHead, body: body, into: output)
                    } else {
                        try head.withUnsafeBytes { try parts.seal(head: $0, body: body, into: output) }
                    }
                }
            }
            #expect(output == expected)
            #expect(parts.counter == whole.counter && parts.bytesSealed == whole.bytesSealed)
        }
    }

    @Test("opening into caller memory equals opening into an array; a tampered frame leaves nothing")
    func openInto() throws {
        let session = try SessionPair()
        for body in Self.bodies {
            let frame = try session.clientSealer.seal(body)
            var output = [UInt8](repeating: 0xEE, count: body.count)
            try frame.withUnsafeBytes { frame in
                try output.withUnsafeMutableBytes { try session.serverOpener.open(frame, into: $0) }
            }
            #expect(output == body)
        }
        var tampered = try session.clientSealer.seal(Array(repeating: 0x41, count: 100))
        tampered[3] ^= 1
        var output = [UInt8](repeating: 0xEE, count: 100)
        let before = session.serverOpener.counter
        let error = try #require(throws: ProtocolError.self) {
            try tampered.withUnsafeBytes { frame in
                try output.withUnsafeMutableBytes { try session.serverOpener.open(frame, into: $0) }
            }
        }
        #expect(error.closeReason.code == .decryptionFailed)
        #expect(output == [UInt8](repeating: 0, count: 100), "unauthenticated plaintext is wiped")
        #expect(session.serverOpener.counter == before, "a frame that fails to open does not advance the counter")
    }
}
