// The message decoders a peer's bytes reach: `ClientMessage(decoding:)` (the server parses what a
// client sends), `ServerMessage(decoding:)` and `ServerHello(decoding:)` with the transport key's
// certificate check (the client parses what a server sends), the chat service's JSON
// (`ChatRequest`, also through the strict JSON check the server makes, and `ChatReply`/`ChatEvent`
// on the client), and display names. The strict JSON check is compared with the allocating one
// it replaced (ReferenceStrictJSON.swift), and requests it reads directly with JSONDecoder's.
//
// Input: byte 0 picks the decoder, the rest is the payload. Invariants: nothing but a
// `ProtocolError` (or a `DecodingError` for JSON) is thrown; whatever decodes re-encodes to the
// very same bytes (binary messages) or to a value that decodes equal (JSON); a validated name
// keeps to the name rules.

import Foundation
@_spi(Benchmarks) import LaboratoryCrypto
@_spi(Benchmarks) import LaboratoryProtocol

let identity: RSAPrivateKey = {
    do { return try RSAPrivateKey(bitCount: 2048) } catch { fatalError("key generation: \(error)") }
}()

func decodeBinary<T: Equatable>(
    _ payload: [UInt8], _ name: String, decode: ([UInt8]) throws -> T, encode: (T) -> [UInt8]
) -> T? {
    let value: T
    do {
        value = try decode(payload)
    } catch is ProtocolError {
        return nil
    } catch {
        fatalError("\(name) threw a non-protocol error: \(error)")
    }
    let reencoded = encode(value)
    check(reencoded == payload, "\(name) re-encodes \(payload.count) bytes as \(reencoded.count) other bytes")
    check((try? decode(reencoded)) == value, "\(name) does not decode its own encoding to the same value")
    return value
}

func decodeJSON<T: Codable & Equatable>(_ type: T.Type, _ payload: [UInt8]) {
    let value: T
    do {
        value = try JSONDecoder().decode(T.self, from: Data(payload))
    } catch is DecodingError {
        return
    } catch {
        fatalError("\(T.self) JSON threw a non-decoding error: \(error)")
    }
    do {
        let again = try JSONDecoder().decode(T.self, from: try JSONEncoder().encode(value))
        check(again == value, "\(T.self) does not survive re-encoding")
    } catch {
        fatalError("\(T.self) decoded but does not re-encode: \(error)")
    }
}

/// The server's path for a chat request: the strict JSON check, then decoding. Whatever the check
/// accepts is RFC 8259 JSON (Foundation parses it); whatever decodes re-encodes to conforming JSON.
func decodeStrictChatRequest(_ payload: [UInt8]) {
    // The UTF-8 check agrees with the standard library's.
    check(
        (StrictJSON.firstInvalidUTF8(in: payload) == nil) == (String(validating: payload, as: UTF8.self) != nil),
        "StrictJSON's UTF-8 check disagrees with String(validating:)")
    // The check agrees with the allocating one it replaced: same verdict, same reason and byte.
    let reference: ReferenceError?
    do {
        try ReferenceStrictJSON.validateObject(payload)
        reference = nil
    } catch {
        reference = error
    }
    do {
        try StrictJSON.validateObject(payload)
        check(reference == nil, "StrictJSON accepted a body the reference refuses: \(reference!)")
    } catch {
        guard let reference else { fatalError("StrictJSON refused a body the reference accepts: \(error)") }
        check(error.reason == reference.reason, "StrictJSON refused for \(error), the reference for \(reference)")
        check(
            error.offset == reference.offset || error.reason == "not UTF-8",
            "StrictJSON refused at \(error), the reference at \(reference)")
        return
    }
    check(
        (try? JSONSerialization.jsonObject(with: Data(payload))) is [String: Any],
        "StrictJSON accepted a body that is not one JSON object")
    // A request read directly is the one JSONDecoder reads.
    if let plain = ChatRequest.plainRequest(payload) {
        check(
            (try? JSONDecoder().decode(ChatRequest.self, from: Data(payload))) == plain,
            "ChatRequest.plainRequest read \(plain), JSONDecoder something else")
    }
    let request: ChatRequest
    do {
        request = try ChatRequest(strictJSON: payload)
    } catch is DecodingError {
        return
    } catch {
        fatalError("ChatRequest(strictJSON:) threw an unexpected error: \(error)")
    }
    do {
        try StrictJSON.validateObject(Array(try JSONEncoder().encode(request)))
    } catch {
        fatalError("a decoded ChatRequest re-encodes to JSON the strict rules refuse: \(error)")
    }
}

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzMessageDecoders(_ data: UnsafePointer<UInt8>, _ size: Int) -> CInt {
    var input = InputReader(bytes(data, size))
    guard let pick = input.byte() else { return 0 }
    let payload = input.rest()
    switch pick % 7 {
    case 0:
        _ = decodeBinary(payload, "ClientMessage", decode: ClientMessage.init(decoding:)) { $0.encoded() }
    case 1:
        _ = decodeBinary(payload, "ServerMessage", decode: ServerMessage.init(decoding:)) { $0.encoded() }
    case 2:
        guard
            let hello = decodeBinary(
                payload, "ServerHello", decode: ServerHello.init(decoding:), encode: { $0.encoded() })
        else { return 0 }
        // What a client does next with a hello from an unknown server: parse the keys, check the
        // signature and the window. Anything wrong must be a ProtocolError.
        do {
            _ = try hello.transportKey.verify(
                identity: identity.publicKey, now: hello.transportKey.notBefore, skew: 600_000)
            fatalError("a certificate not signed by the identity key verified")
        } catch is ProtocolError {
        } catch {
            fatalError("verify threw a non-protocol error: \(error)")
        }
        _ = try? RSAPublicKey(spkiDER: hello.identityKeySPKI)
        _ = RSAPublicKey.fingerprint(ofSPKI: hello.identityKeySPKI)
    case 3:
        decodeJSON(ChatRequest.self, payload)
        decodeStrictChatRequest(payload)
    case 4:
        decodeJSON(ChatReply.self, payload)
        // The server writes its commonest replies directly: the same bytes as JSONEncoder's (whose
        // key order varies, so bytes are compared for one field at most); every body decodes back.
        if let reply = try? JSONDecoder().decode(ChatReply.self, from: Data(payload)) {
            guard let body = try? reply.jsonBody() else { fatalError("ChatReply.jsonBody() threw for \(reply)") }
            check(
                (try? JSONDecoder().decode(ChatReply.self, from: Data(body))) == reply,
                "ChatReply.jsonBody() does not decode to the reply")
            if reply == ChatReply(sequence: reply.sequence) {
                check(
                    body == (try? Array(JSONEncoder().encode(reply))), "ChatReply.jsonBody() differs from JSONEncoder's"
                )
            }
        }
    case 5:
        decodeJSON(ChatEvent.self, payload)
    default:
        guard let text = String(validating: payload, as: UTF8.self) else { return 0 }
        do {
            let name = try DisplayName.validate(text)
            check(name == text, "validate changed the name")
            check(
                !name.isEmpty && name.count <= DisplayName.maximumLength
                    && name.utf8.count <= DisplayName.maximumByteCount,
                "a name of \(name.count) characters, \(name.utf8.count) bytes passed")
            check(name.first?.isWhitespace == false && name.last?.isWhitespace == false, "a padded name passed")
            // A valid name always fits a string field, so the handshake can send it back.
            check(name.utf8.count <= Int(UInt16.max), "a name of \(name.utf8.count) bytes passed")
        } catch let error as ProtocolError {
            check(error.closeReason.code == .invalidName, "validate threw \(error)")
        } catch {
            fatalError("validate threw a non-protocol error: \(error)")
        }
    }
    return 0
}

@_cdecl("LLVMFuzzerInitialize")
public func initialize(
    _ argc: UnsafeMutablePointer<CInt>,
    _ argv: UnsafeMutablePointer<UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>?>
) -> CInt {
    writeSeedsIfAsked {
        let update = KeyUpdate(secret: [UInt8](repeating: 3, count: 32), requestsUpdate: true)
        let client: [ClientMessage] = [
            .password("correct horse"), .name("Zoë"), .request(Request(id: 7, service: "echo", body: [1, 2, 3])),
            .serverNameQuery, .ping(1), .pong(2), .bye, .rename(requestID: 3, name: "Ada"), .keyUpdate(update),
        ]
        let server: [ServerMessage] = [
            .passwordPrompt, .namePrompt,
            .accepted(Acceptance(connectionID: 1, serverName: "Lab", services: ["echo", "chat"])),
            .closing(CloseReason(.wrongPassword, "wrong password")),
            .response(Response(requestID: 7, status: .ok, body: [1, 2, 3])),
            .event(ServiceEvent(service: "chat", body: Array(#"{"kind":"joined"}"#.utf8))), .serverName("Lab"),
            .ping(1), .pong(2), .serverStopping(graceMilliseconds: 5000), .keyUpdate(update),
        ]
        let hello = ServerHello(
            identityKeySPKI: identity.publicKey.spkiDER,
            transportKey: TransportKeyCertificate(
                transportKeySPKI: identity.publicKey.spkiDER, notBefore: 1, notAfter: 2,
                signature: [UInt8](repeating: 5, count: 256)),
            serverRandom: [UInt8](repeating: 6, count: 32))
        let json: [(UInt8, String)] = [
            (3, #"{"op":"join","room":"lobby","after":5}"#), (3, #"{"op":"say","room":"lobby","text":"hi"}"#),
            (3, #"{"op":"direct","to":2,"text":"psst"}"#), (3, #"{"op":"rooms"}"#),
            (4, #"{"members":[{"id":1,"name":"ada"}],"sequence":3,"missedFrom":1,"missedTo":2}"#),
            (4, #"{"rooms":[{"name":"lobby","members":2}]}"#),
            (5, #"{"kind":"message","room":"lobby","sequence":4,"from":1,"name":"ada","text":"hi","time":0}"#),
            // Names compared in place (escaped and not), and past the in-place limit of eight.
            (3, #"{"op":"say","room":"a","text":"é😀","x":{"b":1,"\u0062":[true,null]},"\u006f\u0070":"say"}"#),
            (3, #"{"a":1,"b":2,"c":3,"d":4,"e":5,"f":6,"g":7,"h":8,"i":9,"\u0061":10,"op":"rooms"}"#),
            (3, #"{"op":"join","room":"a","after":-1,"x":[[[{"\ud83d\ude00":"\ud83d\ude00"}]]]}"#),
        ]
        var seeds: [(name: String, bytes: [UInt8])] = []
        for (index, message) in client.enumerated() { seeds.append(("client-\(index)", [0] + message.encoded())) }
        for (index, message) in server.enumerated() { seeds.append(("server-\(index)", [1] + message.encoded())) }
        seeds.append(("hello", [2] + hello.encoded()))
        for (index, (pick, text)) in json.enumerated() { seeds.append(("json-\(index)", [pick] + Array(text.utf8))) }
        seeds.append(("name", [6] + Array("Zoë 42".utf8)))
        return seeds
    }
    return 0
}
