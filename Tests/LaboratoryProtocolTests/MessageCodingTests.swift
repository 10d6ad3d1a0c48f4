@_spi(Benchmarks) import LaboratoryCrypto
@_spi(Benchmarks) import LaboratoryProtocol
import Testing

@Suite("Message encoding")
struct MessageCodingTests {
    static let serverMessages: [ServerMessage] = [
        .passwordPrompt,
        .namePrompt,
        .accepted(Acceptance(connectionID: 0x0102_0304_0506_0708, serverName: "Lab ✓", services: ["echo", "chat"])),
        .accepted(Acceptance(connectionID: 0, serverName: "", services: [])),
        .closing(CloseReason(.wrongPassword, "wrong password")),
        .closing(CloseReason(CloseReason.Code(rawValue: 999), "")),
        .response(Response(requestID: 7, status: .ok, body: [0, 1, 2, 255])),
        .response(Response(requestID: .max, status: .serviceError, errorMessage: "boom", body: [])),
        .response(Response(requestID: 1, status: Response.Status(rawValue: 0xbeef))),
        .event(ServiceEvent(service: "chat", body: Array("hi".utf8))),
        .event(ServiceEvent(service: "", body: [])),
        .serverName("Zoë's lab"),
        .ping(0),
        .ping(.max),
        .pong(42),
        .serverStopping(graceMilliseconds: 30_000),
        .serverStopping(graceMilliseconds: .max),
        .keyUpdate(KeyUpdate(secret: Array(0..<32), requestsUpdate: true)),
        .keyUpdate(KeyUpdate(secret: Array(repeating: 0xff, count: 32), requestsUpdate: false)),
    ]

    static let clientMessages: [ClientMessage] = [
        .password("correct horse"),
        .password(""),
        .name("Zoë"),
        .request(Request(id: 9, service: "echo", body: Array(0...255))),
        .request(Request(id: 0, service: "", body: [])),
        .serverNameQuery,
        .ping(.max),
        .pong(0x8000_0000_0000_0001),
        .bye,
        .rename(requestID: 3, name: "Zoë 42"),
        .rename(requestID: .max, name: ""),
        .keyUpdate(KeyUpdate(secret: Array(32..<64), requestsUpdate: false)),
        .keyUpdate(KeyUpdate(secret: Array(repeating: 0, count: 32), requestsUpdate: true)),
    ]

    // MARK: - Round trips

    @Test("Every server message round-trips", arguments: serverMessages)
    func serverRoundTrip(_ message: ServerMessage) throws {
        #expect(try ServerMessage(decoding: message.encoded()) == message)
    }

    @Test("Every client message round-trips", arguments: clientMessages)
    func clientRoundTrip(_ message: ClientMessage) throws {
        #expect(try ClientMessage(decoding: message.encoded()) == message)
    }

    @Test("Wire layouts match the protocol description")
    func layouts() {
        #expect(ServerMessage.passwordPrompt.encoded() == [0x01])
        #expect(ServerMessage.ping(0x0102_0304_0506_0708).encoded() == [0x13, 1, 2, 3, 4, 5, 6, 7, 8])
        #expect(ServerMessage.serverStopping(graceMilliseconds: 0x0A0B_0C0D).encoded() == [0x15, 10, 11, 12, 13])
        #expect(ServerMessage.closing(CloseReason(.invalidName, "x")).encoded() == [0x04, 0, 7, 0, 1, 0x78])
        #expect(
            ServerMessage.accepted(Acceptance(connectionID: 1, serverName: "L", services: ["e"])).encoded()
                == [0x03, 0, 0, 0, 0, 0, 0, 0, 1, 0, 1, 0x4c, 0, 1, 0, 1, 0x65])
        #expect(ClientMessage.password("pw").encoded() == [0x81, 0, 2, 0x70, 0x77])
        #expect(ClientMessage.bye.encoded() == [0x95])
        #expect(ClientMessage.rename(requestID: 5, name: "A").encoded() == [0x96, 0, 0, 0, 0, 0, 0, 0, 5, 0, 1, 0x41])
        let secret: [UInt8] = Array(100..<132)
        #expect(
            ClientMessage.keyUpdate(KeyUpdate(secret: secret, requestsUpdate: true)).encoded() == [0x97] + secret + [1])
        #expect(
            ServerMessage.keyUpdate(KeyUpdate(secret: secret, requestsUpdate: false)).encoded() == [0x16] + secret + [0]
        )
        #expect(ClientMessage.serverNameQuery.encoded() == [0x92])
        #expect(
            ClientMessage.request(Request(id: 2, service: "e", body: [9])).encoded()
                == [0x90, 0, 0, 0, 0, 0, 0, 0, 2, 0, 1, 0x65, 0, 0, 0, 1, 9])
    }

    // MARK: - Malformed input

    @Test("Every strict prefix of a server message is refused", arguments: serverMessages)
    func serverTruncated(_ message: ServerMessage) throws {
        try expectPrefixesRefused(message.encoded()) { _ = try ServerMessage(decoding: $0) }
    }

    @Test("Every strict prefix of a client message is refused", arguments: clientMessages)
    func clientTruncated(_ message: ClientMessage) throws {
        try expectPrefixesRefused(message.encoded()) { _ = try ClientMessage(decoding: $0) }
    }

    /// Requires `decode` to refuse every strict prefix of `encoded` as a protocol violation.
    private func expectPrefixesRefused(
        _ encoded: [UInt8], sourceLocation: SourceLocation = #_sourceLocation, _ decode: ([UInt8]) throws -> Void
    ) throws {
        for length in 0..<encoded.count {
            let code = try closeCode(sourceLocation: sourceLocation) { try decode(Array(encoded.prefix(length))) }
            #expect(code == .protocolViolation, "prefix of \(length) bytes", sourceLocation: sourceLocation)
        }
    }

    @Test("Trailing bytes are refused")
    func trailingBytes() throws {
        for message in Self.serverMessages {
            let error = try #require(throws: ProtocolError.self) {
                try ServerMessage(decoding: message.encoded() + [0])
            }
            #expect(error.closeReason.code == .protocolViolation)
            #expect(error.closeReason.message.contains("trailing"))
        }
        for message in Self.clientMessages {
            let error = try #require(throws: ProtocolError.self) {
                try ClientMessage(decoding: message.encoded() + [0])
            }
            #expect(error.closeReason.code == .protocolViolation)
            #expect(error.closeReason.message.contains("trailing"))
        }
    }

    @Test("Unknown type bytes are refused")
    func unknownTypes() throws {
        let serverTypes: Set<UInt8> = [0x01, 0x02, 0x03, 0x04, 0x10, 0x11, 0x12, 0x13, 0x14, 0x15, 0x16, 0x17]
        let clientTypes: Set<UInt8> = [0x81, 0x82, 0x90, 0x92, 0x93, 0x94, 0x95, 0x96, 0x97]
        // Padding makes sure the failure is the type, not a short payload.
        let padding = [UInt8](repeating: 0, count: 64)
        for type in UInt8.min...UInt8.max {
            if !serverTypes.contains(type) {
                let error = try #require(throws: ProtocolError.self) { try ServerMessage(decoding: [type] + padding) }
                #expect(error.closeReason.code == .protocolViolation)
                #expect(error.closeReason.message.contains("unknown server message type"))
            }
            if !clientTypes.contains(type) {
                let error = try #require(throws: ProtocolError.self) { try ClientMessage(decoding: [type] + padding) }
                #expect(error.closeReason.code == .protocolViolation)
                #expect(error.closeReason.message.contains("unknown client message type"))
            }
        }
    }

    static let invalidUTF8: [[UInt8]] = [
        [0xff], [0xc3, 0x28], [0xc0, 0xaf], [0xed, 0xa0, 0x80], [0xe2, 0x82], [0xf4, 0x90, 0x80, 0x80],
        // ASCII first, then a byte that is not: the ASCII fast path must not accept the field.
        [0x65, 0x63, 0x68, 0x6f, 0xff], [0x61, 0x80], [0x61, 0x62, 0xc3],
    ]

    @Test("Invalid UTF-8 in a string field is refused", arguments: invalidUTF8)
    func invalidUTF8String(_ raw: [UInt8]) throws {
        let field = [0, UInt8(raw.count)] + raw
        for payload in [[0x12] + field, [0x11] + field + [0, 0, 0, 0]] {
            let error = try #require(throws: ProtocolError.self) { try ServerMessage(decoding: payload) }
            #expect(error.closeReason.code == .protocolViolation)
            #expect(error.closeReason.message.contains("UTF-8"))
        }
        let id: [UInt8] = [0, 0, 0, 0, 0, 0, 0, 1]
        for payload in [[0x81] + field, [0x82] + field, [0x90] + id + field + [0, 0, 0, 0], [0x96] + id + field] {
            let error = try #require(throws: ProtocolError.self) { try ClientMessage(decoding: payload) }
            #expect(error.closeReason.code == .protocolViolation)
            #expect(error.closeReason.message.contains("UTF-8"))
        }
    }

    @Test("A key update flag other than 0 or 1 is refused", arguments: [2, 0x80, 0xff])
    func keyUpdateFlag(_ flag: UInt8) throws {
        let body = [UInt8](repeating: 7, count: 32) + [flag]
        let server = try #require(throws: ProtocolError.self) { try ServerMessage(decoding: [0x16] + body) }
        #expect(server.closeReason.code == .protocolViolation)
        #expect(server.closeReason.message.contains("flag"))
        #expect(try closeCode { _ = try ClientMessage(decoding: [0x97] + body) } == .protocolViolation)
    }

    @Test("A byte-string length larger than the payload is refused without allocating it")
    func hugeLength() throws {
        let payload: [UInt8] = [0x11, 0, 1, 0x61, 0xff, 0xff, 0xff, 0xff, 1, 2, 3]
        #expect(try closeCode { _ = try ServerMessage(decoding: payload) } == .protocolViolation)
        let services: [UInt8] = [0x03, 0, 0, 0, 0, 0, 0, 0, 1, 0, 0, 0xff, 0xff]
        #expect(try closeCode { _ = try ServerMessage(decoding: services) } == .protocolViolation)
    }

    // MARK: - ServerHello

    static func hello() throws -> ServerHello {
        ServerHello(
            identityKeySPKI: Fixtures.identityKey.publicKey.spkiDER, transportKey: Fixtures.transportOffer.certificate,
            serverRandom: try SecureRandom.bytes(count: 32))
    }

    @Test("ServerHello round-trips and has the documented layout")
    func helloRoundTrip() throws {
        let hello = try Self.hello()
        let encoded = hello.encoded()
        #expect(Array(encoded.prefix(6)) == Array("LABR".utf8) + [0, 1])
        let identityLength = hello.identityKeySPKI.count
        #expect(Array(encoded[6..<8]) == [UInt8(identityLength >> 8), UInt8(identityLength & 0xff)])
        let certificate = hello.transportKey
        let transportLength = certificate.transportKeySPKI.count
        let signatureLength = certificate.signature.count
        #expect(encoded.count == 4 + 2 + 2 + identityLength + 2 + transportLength + 8 + 8 + 2 + signatureLength + 32)
        var reader = ByteReader(Array(encoded[(8 + identityLength)...]))
        #expect(try reader.readUInt16("t") == UInt16(transportLength))
        #expect(try reader.readBytes(count: transportLength, "t") == certificate.transportKeySPKI)
        #expect(try reader.readUInt64("nb") == certificate.notBefore)
        #expect(try reader.readUInt64("na") == certificate.notAfter)
        #expect(try reader.readUInt16("s") == UInt16(signatureLength))
        #expect(Array(encoded.suffix(32)) == hello.serverRandom)
        #expect(try ServerHello(decoding: encoded) == hello)
    }

    @Test("ServerHello with a wrong magic is refused")
    func helloWrongMagic() throws {
        for magic in ["LABX", "labr", "HTTP"] {
            var encoded = try Self.hello().encoded()
            encoded.replaceSubrange(0..<4, with: Array(magic.utf8))
            #expect(try closeCode { _ = try ServerHello(decoding: encoded) } == .protocolViolation)
        }
    }

    @Test("ServerHello with another version is refused as unsupportedVersion", arguments: [0, 2, 0x0101, 0xffff])
    func helloWrongVersion(_ version: Int) throws {
        var encoded = try Self.hello().encoded()
        encoded[4] = UInt8(version >> 8)
        encoded[5] = UInt8(version & 0xff)
        let error = try #require(throws: ProtocolError.self) { try ServerHello(decoding: encoded) }
        #expect(error.closeReason.code == .unsupportedVersion)
        #expect(error.closeReason.message.contains("\(version)"))
    }

    @Test("Truncated or padded ServerHello is refused")
    func helloMalformed() throws {
        let encoded = try Self.hello().encoded()
        for length in [0, 3, 4, 5, 7, 8, 100, encoded.count - 32, encoded.count - 1] {
            #expect(
                try closeCode { _ = try ServerHello(decoding: Array(encoded.prefix(length))) } == .protocolViolation)
        }
        #expect(try closeCode { _ = try ServerHello(decoding: encoded + [0]) } == .protocolViolation)
    }
}
