@_spi(Benchmarks) import LaboratoryProtocol
import Testing

/// `closing` with `retry_ms` (a locked-out source's refusal) and `nameRejected` on the wire.
@Suite("Refusal and name rejection coding")
struct RefusalCodingTests {
    @Test("a refusal's retry_ms follows the message, rounded up to milliseconds, and decodes back")
    func retryRoundTrip() throws {
        let reason = CloseReason(.refused, "locked", retryAfter: .microseconds(1_500))
        let bytes = ServerMessage.closing(reason).encoded()
        #expect(Array(bytes.suffix(4)) == [0, 0, 0, 2])
        guard case .closing(let decoded) = try ServerMessage(decoding: bytes) else { throw Unexpected() }
        #expect(decoded.retryAfter == .milliseconds(2) && decoded.message == "locked")
        // Without it, a refusal is as before.
        let plain = ServerMessage.closing(CloseReason(.refused, "busy"))
        #expect(try ServerMessage(decoding: plain.encoded()) == plain)
    }

    @Test("only a refusal carries retry_ms: another code with a tail, or a short tail, is malformed")
    func retryOnlyOnRefusal() throws {
        // Not sent for other codes even when set, and refused on reading.
        let wrong = CloseReason(.wrongPassword, "wrong password", retryAfter: .seconds(1))
        #expect(
            try ServerMessage(decoding: ServerMessage.closing(wrong).encoded())
                == .closing(CloseReason(.wrongPassword, "wrong password")))
        let tailed = ServerMessage.closing(CloseReason(.wrongPassword, "x")).encoded() + [0, 0, 0, 1]
        #expect(throws: ProtocolError.self) { try ServerMessage(decoding: tailed) }
        let short = ServerMessage.closing(CloseReason(.refused, "x")).encoded() + [0, 1]
        #expect(throws: ProtocolError.self) { try ServerMessage(decoding: short) }
        let zero = ServerMessage.closing(CloseReason(.refused, "x")).encoded() + [0, 0, 0, 0]
        #expect(throws: ProtocolError.self) { try ServerMessage(decoding: zero) }
        let long = ServerMessage.closing(CloseReason(.refused, "x")).encoded() + [0, 0, 0, 1, 0]
        #expect(throws: ProtocolError.self) { try ServerMessage(decoding: long) }
    }

    @Test("nameRejected round-trips and refuses a missing or extra byte")
    func nameRejected() throws {
        let message = ServerMessage.nameRejected(NameRejection(reason: "display name is empty", attemptsLeft: 2))
        let bytes = message.encoded()
        #expect(bytes.first == 0x17 && bytes.last == 2)
        #expect(try ServerMessage(decoding: bytes) == message)
        #expect(throws: ProtocolError.self) { try ServerMessage(decoding: Array(bytes.dropLast())) }
        #expect(throws: ProtocolError.self) { try ServerMessage(decoding: bytes + [0]) }
    }

    @Test(
        "a wait is spoken in whole seconds, rounded up",
        arguments: [
            (Duration.milliseconds(1), "1s"), (.seconds(45), "45s"), (.milliseconds(269_001), "4m 30s"),
            (.seconds(3725), "1h 2m 5s"), (.seconds(600), "10m"),
        ])
    func spoken(duration: Duration, text: String) {
        #expect(duration.spoken == text)
    }

    struct Unexpected: Error {}
}
