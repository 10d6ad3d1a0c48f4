import Foundation
import LaboratoryCrypto
@_spi(Benchmarks) import LaboratoryCrypto
import LaboratoryProtocol
@_spi(Benchmarks) import LaboratoryProtocol
import LaboratoryTestSupport
import Testing

/// Checks every test vector in `Docs/PROTOCOL.md` against the code, so the specification and the
/// implementation cannot drift apart: changing, adding or removing any vector fails a test. The
/// Chat section's JSON examples are checked against the chat types the same way.
@Suite("Docs/PROTOCOL.md test vectors")
struct ProtocolDocumentTests {
    // MARK: The document's inputs and messages, as the test vectors section describes them

    static let secret = Array(UInt8(0x00)...UInt8(0x1f))
    static let serverRandom = Array(UInt8(0x20)...UInt8(0x3f))
    /// Pins the document's identity key, so replacing it (even consistently, with a new signature)
    /// fails. The prose quotes this fingerprint.
    static let identityFingerprint = "SHA256:nO2VPNaB435XRdM5c4QblF/RZORoqE1J7ccwEdgC+8Q"
    /// Pins the document's transport key (the signature pins it too, under the identity key).
    static let transportFingerprint = "SHA256:exC2DZf5FACcjWmq+SBpHsb4Jungx2YT9+nA0omjp6A"
    /// The certificate's validity window: 2026-01-01T00:00:00Z, then 10.5 minutes (the reference
    /// server's 10-minute transport key lifetime plus its 30-second handshake timeout).
    static let notBefore: UInt64 = 1_767_225_600_000
    static let notAfter: UInt64 = notBefore + 630_000

    /// The sealed handshake, in the order the frames are sent in each direction.
    static let clientToServer: [ClientMessage] = [
        .password("correct horse battery staple"),
        .name("Ada"),
    ]
    static let serverToClient: [ServerMessage] = [
        .passwordPrompt,
        .namePrompt,
        .accepted(Acceptance(connectionID: 1, serverName: "Laboratory", services: ["echo"])),
    ]

    /// The unsealed examples.
    static let request = ClientMessage.request(Request(id: 1, service: "echo", body: Array("hi".utf8)))
    static let response = ServerMessage.response(Response(requestID: 1, status: .ok, body: Array("hi".utf8)))
    static let closing = ServerMessage.closing(CloseReason(.wrongPassword, "wrong password"))
    /// The plaintext refusal a locked-out source gets instead of the hello (the reference server's
    /// exact message for 270 s left), with its `retry_ms`.
    static let refusal = ServerMessage.closing(
        CloseReason(
            .refused, "too many failures from your address; try again in 4m 30s", retryAfter: .milliseconds(270_000)))
    /// An invalid name's answer while attempts remain.
    static let nameRejected = ServerMessage.nameRejected(
        NameRejection(reason: "display name is empty", attemptsLeft: 2))

    /// The key update that continues the session: client to server at counter 2, then `ping(1)`
    /// under the new key at counter 0.
    static let keyUpdateSecret = Array(UInt8(0x40)...UInt8(0x5f))
    static let keyUpdate = KeyUpdate(secret: keyUpdateSecret, requestsUpdate: true)
    static let afterKeyUpdate = ClientMessage.ping(1)

    // MARK: Tests

    @Test("the document holds exactly the expected vectors, each once")
    func vectorNames() throws {
        let document = try Self.documentVectors()
        let expected = try Self.expectedVectors(document: Self.documentVectorDictionary())
        #expect(document.map(\.name) == expected.map(\.name))
    }

    @Test("every vector in the document equals the value the code computes")
    func vectorValues() throws {
        let document = try Self.documentVectors()
        let expected = try Self.expectedVectors(document: Self.documentVectorDictionary())
        let values = Dictionary(document.map { ($0.name, $0.value) }, uniquingKeysWith: { first, _ in first })
        for (name, value) in expected {
            let documented = try #require(values[name], "vector \(name) is missing from the document")
            #expect(hex(documented) == hex(value), "vector \(name)")
        }
    }

    @Test("the inputs are the ones the prose describes")
    func inputs() throws {
        let vectors = try Self.documentVectorDictionary()
        #expect(try Self.vector("secret", vectors) == Self.secret)
        #expect(try Self.vector("server_random", vectors) == Self.serverRandom)
        #expect(try Self.vector("key_update_secret", vectors) == Self.keyUpdateSecret)
        #expect(try Self.vector("not_before", vectors) == Self.bigEndian(Self.notBefore))
        #expect(try Self.vector("not_after", vectors) == Self.bigEndian(Self.notAfter))
        let identity = try RSAPublicKey(spkiDER: Self.vector("identity_spki", vectors))
        let transport = try RSAPublicKey(spkiDER: Self.vector("transport_spki", vectors))
        #expect(identity.bitCount == 2048 && transport.bitCount == 2048)
        #expect(identity.spkiDER == (try Self.vector("identity_spki", vectors)))
        #expect(identity.fingerprint == Self.identityFingerprint)
        #expect(RSAPublicKey.fingerprint(ofSPKI: try Self.vector("identity_spki", vectors)) == Self.identityFingerprint)
        #expect(transport.fingerprint == Self.transportFingerprint)
        let text = try String(contentsOf: Self.documentURL, encoding: .utf8)
        #expect(text.contains("`\(Self.identityFingerprint)`"))
        #expect(!text.contains(Self.transportFingerprint), "the prose quotes only the identity key's fingerprint")
    }

    @Test("the documented signature verifies with the identity key over the documented signed bytes")
    func certificateSignature() throws {
        let vectors = try Self.documentVectorDictionary()
        let identity = try RSAPublicKey(spkiDER: Self.vector("identity_spki", vectors))
        let signedBytes = try Self.vector("transport_key_signed_bytes", vectors)
        let signature = try Self.vector("transport_key_signature", vectors)
        #expect(signature.count == 256)
        #expect(identity.verifyPSS(signature, for: signedBytes))
        // The signed bytes are exactly what the code signs for the documented fields.
        let certificate = try Self.certificate(vectors)
        #expect(certificate.signedBytes == signedBytes)
        #expect(Array(signedBytes.prefix(TransportKeyCertificate.label.count)) == TransportKeyCertificate.label)

        // Any changed byte of the signed bytes or of the signature breaks it.
        for index in signedBytes.indices {
            var changed = signedBytes
            changed[index] ^= 0x01
            #expect(!identity.verifyPSS(signature, for: changed), "signed byte \(index)")
        }
        for index in signature.indices {
            var changed = signature
            changed[index] ^= 0x01
            #expect(!identity.verifyPSS(changed, for: signedBytes), "signature byte \(index)")
        }
        // The transport key cannot stand in for the identity key.
        let transport = try RSAPublicKey(spkiDER: Self.vector("transport_spki", vectors))
        #expect(!transport.verifyPSS(signature, for: signedBytes))
    }

    @Test("the documented hello is exactly ServerHello(identityKeySPKI:transportKey:serverRandom:) of its fields")
    func helloEncodes() throws {
        let vectors = try Self.documentVectorDictionary()
        let hello = ServerHello(
            identityKeySPKI: try Self.vector("identity_spki", vectors), transportKey: try Self.certificate(vectors),
            serverRandom: Self.serverRandom)
        #expect(hello.encoded() == (try Self.vector("hello_payload", vectors)))
        #expect(try Self.vector("hello_payload", vectors).count == 60 + 294 + 294 + 256)
    }

    @Test("the documented hello parses, and its certificate holds exactly within the window")
    func helloDecodes() throws {
        let vectors = try Self.documentVectorDictionary()
        let payload = try Self.vector("hello_payload", vectors)
        let hello = try ServerHello(decoding: payload)
        #expect(hello.identityKeySPKI == (try Self.vector("identity_spki", vectors)))
        #expect(hello.transportKey == (try Self.certificate(vectors)))
        #expect(hello.serverRandom == Self.serverRandom)

        let identity = try RSAPublicKey(spkiDER: hello.identityKeySPKI)
        for now in [Self.notBefore, Self.notBefore + 300_000, Self.notAfter] {
            let transport = try hello.transportKey.verify(identity: identity, now: now, skew: 0)
            #expect(transport.spkiDER == (try Self.vector("transport_spki", vectors)))
        }
        for now in [Self.notBefore - 1, Self.notAfter + 1] {
            #expect(throws: ProtocolError.self) { try hello.transportKey.verify(identity: identity, now: now, skew: 0) }
        }
        // The reference client's 10-minute tolerance, on both sides of the window.
        let skew: UInt64 = 600_000
        _ = try hello.transportKey.verify(identity: identity, now: Self.notBefore - skew, skew: skew)
        _ = try hello.transportKey.verify(identity: identity, now: Self.notAfter + skew, skew: skew)
        #expect(throws: ProtocolError.self) {
            try hello.transportKey.verify(identity: identity, now: Self.notAfter + skew + 1, skew: skew)
        }
        // Another identity key (here the transport key) does not accept the certificate.
        let transportKey = try RSAPublicKey(spkiDER: Self.vector("transport_spki", vectors))
        #expect(throws: ProtocolError.self) {
            try hello.transportKey.verify(identity: transportKey, now: Self.notBefore, skew: 0)
        }

        // Changing any byte before the server random either breaks parsing or fails the checks a
        // client makes before sending anything (version, identity pin, signature, window). The
        // server random is not signed; the key derivation binds it (and the rest) instead.
        #expect(Self.clientAccepts(payload))
        let randomStart = payload.count - ServerHello.randomByteCount
        for index in payload.indices {
            var changed = payload
            changed[index] ^= 0x01
            #expect(Self.clientAccepts(changed) == (index >= randomStart), "hello byte \(index)")
        }
    }

    @Test("the documented refusal is a plaintext closing that a client tells apart from a hello")
    func refusal() throws {
        let vectors = try Self.documentVectorDictionary()
        let refusal = try Self.unframe(Self.vector("refusal_frame", vectors))
        let hello = try Self.vector("hello_payload", vectors)
        #expect(try ServerMessage(decoding: refusal) == Self.refusal)
        #expect(refusal.first == 0x04 && hello.first == UInt8(ascii: "L"))
        #expect(throws: ProtocolError.self) { try ServerHello(decoding: refusal) }
        #expect(throws: ProtocolError.self) { try ServerMessage(decoding: hello) }
        #expect(CloseReason.Code.refused.rawValue == 15 && CloseReason.Code.idleTimeout.rawValue == 16)
    }

    @Test("the documented sealed frames open with the documented keys and decode to the messages")
    func sealedFramesOpen() throws {
        let vectors = try Self.documentVectorDictionary()
        let clientOpener = try RecordOpener(
            key: Self.vector("s2c_key", vectors), iv: Self.vector("s2c_iv", vectors))
        for (counter, message) in Self.serverToClient.enumerated() {
            let payload = try Self.unframe(Self.vector("s2c_\(counter)_frame", vectors))
            #expect(try ServerMessage(decoding: clientOpener.open(payload)) == message)
        }
        let serverOpener = try RecordOpener(
            key: Self.vector("c2s_key", vectors), iv: Self.vector("c2s_iv", vectors))
        for (counter, message) in Self.clientToServer.enumerated() {
            let payload = try Self.unframe(Self.vector("c2s_\(counter)_frame", vectors))
            #expect(try ClientMessage(decoding: serverOpener.open(payload)) == message)
        }
    }

    @Test("a documented frame opened with the other direction's key, or out of order, fails")
    func sealedFramesAreDirectionalAndOrdered() throws {
        let vectors = try Self.documentVectorDictionary()
        let wrongDirection = try RecordOpener(
            key: Self.vector("c2s_key", vectors), iv: Self.vector("c2s_iv", vectors))
        #expect(throws: ProtocolError.self) {
            try wrongDirection.open(Self.unframe(Self.vector("s2c_0_frame", vectors)))
        }
        let outOfOrder = try RecordOpener(
            key: Self.vector("c2s_key", vectors), iv: Self.vector("c2s_iv", vectors))
        #expect(throws: ProtocolError.self) {
            try outOfOrder.open(Self.unframe(Self.vector("c2s_1_frame", vectors)))
        }
    }

    @Test("the documented unsealed frames decode to the messages")
    func unsealedFramesDecode() throws {
        let vectors = try Self.documentVectorDictionary()
        #expect(try ClientMessage(decoding: Self.unframe(Self.vector("request_frame", vectors))) == Self.request)
        #expect(try ServerMessage(decoding: Self.unframe(Self.vector("response_frame", vectors))) == Self.response)
        #expect(try ServerMessage(decoding: Self.unframe(Self.vector("closing_frame", vectors))) == Self.closing)
        #expect(try ServerMessage(decoding: Self.unframe(Self.vector("refusal_frame", vectors))) == Self.refusal)
        #expect(
            try ServerMessage(decoding: Self.unframe(Self.vector("name_rejected_frame", vectors))) == Self.nameRejected)
        #expect(try Self.unframe(Self.vector("plaintext_key_exchange_frame", vectors)).isEmpty)
    }

    @Test("the documented key update opens under the old key and switches the opener at its frame")
    func keyUpdateSwitchesAtItsFrame() throws {
        let vectors = try Self.documentVectorDictionary()
        let opener = try RecordOpener(key: Self.vector("c2s_key", vectors), iv: Self.vector("c2s_iv", vectors))
        for counter in 0..<2 { _ = try opener.open(Self.unframe(Self.vector("c2s_\(counter)_frame", vectors))) }
        let updateMessage = try ClientMessage(decoding: opener.open(Self.unframe(Self.vector("c2s_2_frame", vectors))))
        #expect(updateMessage == .keyUpdate(Self.keyUpdate))
        #expect(try Self.vector("c2s_2_payload", vectors).count == 34)

        // Without the switch, the next frame does not open; with it, it opens at counter 0.
        let next = try Self.unframe(Self.vector("updated_c2s_0_frame", vectors))
        let stale = try RecordOpener(key: Self.vector("c2s_key", vectors), iv: Self.vector("c2s_iv", vectors))
        for counter in 0..<3 { _ = try stale.open(Self.unframe(Self.vector("c2s_\(counter)_frame", vectors))) }
        #expect(throws: ProtocolError.self) { try stale.open(next) }
        try opener.apply(Self.keyUpdate)
        #expect(opener.counter == 0)
        #expect(try ClientMessage(decoding: opener.open(next)) == Self.afterKeyUpdate)

        // The documented new key and IV alone open it, as a fresh direction at counter 0.
        let fresh = try RecordOpener(
            key: Self.vector("updated_c2s_key", vectors), iv: Self.vector("updated_c2s_iv", vectors))
        #expect(try ClientMessage(decoding: fresh.open(next)) == Self.afterKeyUpdate)
    }

    @Test("the Chat section's JSON examples are exactly what the chat types decode and encode")
    func chatExamples() throws {
        let blocks = try Self.documentJSONLines()
        #expect(blocks.map(\.tag) == ["chat-requests", "chat-replies", "chat-events"])
        #expect(blocks.count == 3 && blocks[0].lines.count == blocks[1].lines.count, "one reply per request")
        var ops: Set<String> = []
        var kinds: Set<ChatEvent.Kind> = []
        for (tag, lines) in blocks {
            #expect(!lines.isEmpty, "block \(tag) is empty")
            for line in lines {
                let data = Data(line.utf8)
                try StrictJSON.validateObject(Array(line.utf8))
                let reencoded: Data
                switch tag {
                case "chat-requests":
                    reencoded = try JSONEncoder().encode(try ChatRequest(strictJSON: Array(data)))
                    if let object = try JSONSerialization.jsonObject(with: data) as? [String: Any],
                        let op = object["op"] as? String
                    {
                        ops.insert(op)
                    }
                case "chat-replies":
                    reencoded = try JSONEncoder().encode(try JSONDecoder().decode(ChatReply.self, from: data))
                case "chat-events":
                    let event = try JSONDecoder().decode(ChatEvent.self, from: data)
                    kinds.insert(event.kind)
                    reencoded = try JSONEncoder().encode(event)
                default:
                    throw DocumentError(description: "unknown JSON block \(tag)")
                }
                // Same fields and values: a field the types do not know, or name differently, fails.
                #expect(try Self.canonicalJSON(reencoded) == Self.canonicalJSON(data), "\(tag): \(line)")
            }
        }
        #expect(ops == ["join", "leave", "rooms", "who", "say", "direct"])
        #expect(kinds == [.message, .joined, .left, .renamed, .direct])
    }

    // MARK: What the code computes

    /// Every vector, in document order, computed from the fixed inputs and the document's two keys
    /// and signature (randomized, so not computable; ``certificateSignature()`` checks it).
    static func expectedVectors(document: [String: [UInt8]]) throws -> [(name: String, value: [UInt8])] {
        var vectors: [(name: String, value: [UInt8])] = []
        func add(_ name: String, _ value: [UInt8]) { vectors.append((name, value)) }

        let identitySPKI = try vector("identity_spki", document)
        let certificate = try certificate(document)
        add("secret", secret)
        add("server_random", serverRandom)
        add("identity_spki", identitySPKI)
        add("transport_spki", certificate.transportKeySPKI)
        add("not_before", bigEndian(notBefore))
        add("not_after", bigEndian(notAfter))
        add("transport_key_signed_bytes", certificate.signedBytes)
        add("transport_key_signature", certificate.signature)

        let hello = ServerHello(identityKeySPKI: identitySPKI, transportKey: certificate, serverRandom: serverRandom)
            .encoded()
        add("hello_payload", hello)
        add("hello_length_prefix", Frame.header(payloadLength: hello.count))
        add("hello_sha256", SHA256.hash(hello))

        let info = SessionKeys.infoLabel + SHA256.hash(hello)
        add("hkdf_info", info)
        add("okm", try HKDF.deriveKey(inputKeyMaterial: secret, salt: serverRandom, info: info, outputLength: 88))
        let keys = try SessionKeys.derive(secret: secret, serverRandom: serverRandom, helloPayload: hello)
        add("c2s_key", keys.clientToServerKey)
        add("s2c_key", keys.serverToClientKey)
        add("c2s_iv", keys.clientToServerIV)
        add("s2c_iv", keys.serverToClientIV)

        add("c2s_nonce_0", recordNonce(iv: keys.clientToServerIV, counter: 0))
        add("c2s_nonce_1", recordNonce(iv: keys.clientToServerIV, counter: 1))
        add("s2c_nonce_0", recordNonce(iv: keys.serverToClientIV, counter: 0))
        add("s2c_nonce_1", recordNonce(iv: keys.serverToClientIV, counter: 1))
        add("s2c_nonce_0102030405060708", recordNonce(iv: keys.serverToClientIV, counter: 0x0102_0304_0506_0708))

        let clientSealer = try RecordSealer(key: keys.clientToServerKey, iv: keys.clientToServerIV)
        let serverSealer = try RecordSealer(key: keys.serverToClientKey, iv: keys.serverToClientIV)
        // The order the handshake happens in; each direction's counter advances on its own.
        func sealed(_ sealer: RecordSealer, _ payload: [UInt8]) throws -> [UInt8] {
            Frame.encode(try sealer.seal(payload))
        }
        add("s2c_0_payload", serverToClient[0].encoded())
        add("s2c_0_frame", try sealed(serverSealer, serverToClient[0].encoded()))
        add("c2s_0_payload", clientToServer[0].encoded())
        add("c2s_0_frame", try sealed(clientSealer, clientToServer[0].encoded()))
        add("s2c_1_payload", serverToClient[1].encoded())
        add("s2c_1_frame", try sealed(serverSealer, serverToClient[1].encoded()))
        add("c2s_1_payload", clientToServer[1].encoded())
        add("c2s_1_frame", try sealed(clientSealer, clientToServer[1].encoded()))
        add("s2c_2_payload", serverToClient[2].encoded())
        add("s2c_2_frame", try sealed(serverSealer, serverToClient[2].encoded()))

        add("plaintext_key_exchange_frame", Frame.encode([]))
        add("request_frame", Frame.encode(request.encoded()))
        add("response_frame", Frame.encode(response.encoded()))
        add("closing_frame", Frame.encode(closing.encoded()))
        add("refusal_frame", Frame.encode(refusal.encoded()))
        add("name_rejected_frame", Frame.encode(nameRejected.encoded()))

        // The key update continues the client's direction at counter 2, then switches.
        guard clientSealer.counter == 2 else {
            throw DocumentError(description: "the key update must be sealed at counter 2")
        }
        add("key_update_secret", keyUpdate.secret)
        add("c2s_nonce_2", recordNonce(iv: keys.clientToServerIV, counter: 2))
        add("c2s_2_payload", ClientMessage.keyUpdate(keyUpdate).encoded())
        add("c2s_2_frame", try sealed(clientSealer, ClientMessage.keyUpdate(keyUpdate).encoded()))
        try clientSealer.apply(keyUpdate)
        add("key_update_info", KeyUpdate.infoLabel)
        add(
            "key_update_okm",
            try HKDF.deriveKey(
                inputKeyMaterial: keyUpdate.secret, salt: keys.clientToServerKey, info: KeyUpdate.infoLabel,
                outputLength: 44))
        let updated = try keyUpdate.nextKey(after: keys.clientToServerKey)
        add("updated_c2s_key", updated.key)
        add("updated_c2s_iv", updated.iv)
        add("updated_c2s_0_payload", afterKeyUpdate.encoded())
        add("updated_c2s_0_frame", try sealed(clientSealer, afterKeyUpdate.encoded()))
        return vectors
    }

    // MARK: Reading the document

    static let documentURL = URL(fileURLWithPath: #filePath)
        .deletingLastPathComponent()  // LaboratoryProtocolTests
        .deletingLastPathComponent()  // Tests
        .deletingLastPathComponent()  // package root
        .appendingPathComponent("Docs/PROTOCOL.md")

    struct DocumentError: Error, CustomStringConvertible {
        var description: String
    }

    /// The `name: hex` lines of every ```` ```vector ```` block, in order. A line that starts with
    /// whitespace continues the previous value; whitespace inside a value is ignored.
    static func documentVectors() throws -> [(name: String, value: [UInt8])] {
        let text = try String(contentsOf: documentURL, encoding: .utf8)
        var entries: [(name: String, hex: String)] = []
        var inBlock = false
        for (number, line) in text.split(separator: "\n", omittingEmptySubsequences: false).enumerated() {
            let trimmed = line.trimmingCharacters(in: .whitespaces)
            if !inBlock {
                if trimmed == "```vector" { inBlock = true }
                continue
            }
            if trimmed == "```" {
                inBlock = false
                continue
            }
            if trimmed.isEmpty { continue }
            if line.first == " " || line.first == "\t" {
                guard !entries.isEmpty else {
                    throw DocumentError(description: "line \(number + 1): continuation before any vector")
                }
                entries[entries.count - 1].hex += trimmed
                continue
            }
            guard let colon = trimmed.firstIndex(of: ":") else {
                throw DocumentError(description: "line \(number + 1): expected `name: hex`, got \(trimmed)")
            }
            entries.append(
                (
                    String(trimmed[..<colon]),
                    trimmed[trimmed.index(after: colon)...].trimmingCharacters(in: .whitespaces)
                ))
        }
        guard !inBlock else { throw DocumentError(description: "a vector block is not closed") }
        return try entries.map { entry in
            guard let bytes = bytes(parsingHex: entry.hex) else {
                throw DocumentError(description: "vector \(entry.name) is not an even number of hex digits")
            }
            return (entry.name, bytes)
        }
    }

    /// The lines of every ```` ```jsonl TAG ```` block, in order, with the block's tag.
    static func documentJSONLines() throws -> [(tag: String, lines: [String])] {
        let text = try String(contentsOf: documentURL, encoding: .utf8)
        var blocks: [(tag: String, lines: [String])] = []
        var inBlock = false
        for line in text.split(separator: "\n", omittingEmptySubsequences: false) {
            let trimmed = line.trimmingCharacters(in: .whitespaces)
            if !inBlock {
                if trimmed.hasPrefix("```jsonl") {
                    inBlock = true
                    blocks.append((trimmed.dropFirst("```jsonl".count).trimmingCharacters(in: .whitespaces), []))
                }
                continue
            }
            if trimmed == "```" {
                inBlock = false
            } else if !trimmed.isEmpty {
                blocks[blocks.count - 1].lines.append(trimmed)
            }
        }
        guard !inBlock else { throw DocumentError(description: "a jsonl block is not closed") }
        return blocks
    }

    /// JSON with sorted keys and no insignificant whitespace, for comparing documents by content.
    static func canonicalJSON(_ data: Data) throws -> String {
        let object = try JSONSerialization.jsonObject(with: data)
        return String(
            decoding: try JSONSerialization.data(withJSONObject: object, options: [.sortedKeys]), as: UTF8.self)
    }

    static func documentVectorDictionary() throws -> [String: [UInt8]] {
        var dictionary: [String: [UInt8]] = [:]
        for (name, value) in try documentVectors() {
            guard dictionary.updateValue(value, forKey: name) == nil else {
                throw DocumentError(description: "vector \(name) appears twice")
            }
        }
        return dictionary
    }

    static func vector(_ name: String, _ vectors: [String: [UInt8]]) throws -> [UInt8] {
        guard let value = vectors[name] else { throw DocumentError(description: "vector \(name) is missing") }
        return value
    }

    /// The certificate of the documented transport key, window and signature.
    static func certificate(_ vectors: [String: [UInt8]]) throws -> TransportKeyCertificate {
        TransportKeyCertificate(
            transportKeySPKI: try vector("transport_spki", vectors), notBefore: notBefore, notAfter: notAfter,
            signature: try vector("transport_key_signature", vectors))
    }

    /// Whether a client that pins the documented identity key, at the documented window's start
    /// with no clock tolerance, would send its key exchange after this hello.
    static func clientAccepts(_ payload: [UInt8]) -> Bool {
        guard let hello = try? ServerHello(decoding: payload),
            RSAPublicKey.fingerprint(ofSPKI: hello.identityKeySPKI) == identityFingerprint,
            let identity = try? RSAPublicKey(spkiDER: hello.identityKeySPKI)
        else { return false }
        return (try? hello.transportKey.verify(identity: identity, now: notBefore, skew: 0)) != nil
    }

    static func bigEndian(_ value: UInt64) -> [UInt8] {
        (0..<8).reversed().map { UInt8(truncatingIfNeeded: value >> (8 * $0)) }
    }

    /// The payload of one complete frame, checking that the prefix matches its length.
    static func unframe(_ frame: [UInt8]) throws -> [UInt8] {
        guard frame.count >= Frame.headerByteCount else { throw DocumentError(description: "frame too short") }
        let length = try Frame.payloadLength(
            header: frame.prefix(Frame.headerByteCount), maximum: Frame.defaultMaximumPayloadByteCount)
        guard length == frame.count - Frame.headerByteCount else {
            throw DocumentError(description: "frame prefix says \(length) bytes, \(frame.count - 4) follow")
        }
        return Array(frame.dropFirst(Frame.headerByteCount))
    }
}
