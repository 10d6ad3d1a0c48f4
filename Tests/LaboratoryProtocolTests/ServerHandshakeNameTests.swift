@_spi(Benchmarks) import LaboratoryProtocol
import LaboratoryTestSupport
import Testing

/// An invalid display name after the right password: answered with `nameRejected` a bounded number
/// of times, within the handshake's deadlines, and the password step never comes back.
@Suite("ServerHandshake: name attempts")
struct ServerHandshakeNameTests {
    @Test(
        "the last of the name attempts closes with code 7; a valid name before that is accepted", arguments: [1, 3, 5])
    func attemptsAreBounded(attempts: UInt8) throws {
        var harness = try Harness(nameAttempts: attempts)
        try harness.advance(to: .awaitingName)
        for left in stride(from: Int(attempts) - 1, to: 0, by: -1) {
            let actions = try harness.machine.receive(.name(""))
            guard case .send(.nameRejected(let rejection)) = actions.first else {
                throw UnexpectedActions(actions: actions)
            }
            #expect(rejection.attemptsLeft == UInt8(left) && harness.phase == .awaitingName)
        }
        let last = try harness.machine.receive(.name(" Ada"))
        guard case .close(let reason) = last.first, last.count == 1 else { throw UnexpectedActions(actions: last) }
        #expect(reason.code == .invalidName && reason.message == "display name starts or ends with whitespace")
        #expect(harness.failure?.code == .invalidName)
        // And a valid name after rejections is accepted as usual.
        var retried = try Harness(nameAttempts: attempts)
        try retried.advance(to: .awaitingName)
        if attempts > 1 { _ = try retried.machine.receive(.name("")) }
        let accepted = try retried.machine.receive(.name("Ada"))
        #expect(accepted.first == .accept(displayName: "Ada") && retried.phase == .accepted)
        #expect(retried.machine.passwordAccepted)
    }

    @Test(
        "after a rejected name the password step is not repeatable, nor is anything but a name accepted",
        arguments: Input.allCases.filter { $0 != .name })
    func onlyANameAfterRejection(input: Input) throws {
        var harness = try Harness()
        try harness.advance(to: .awaitingName)
        _ = try harness.machine.receive(.name(""))
        let error = try #require(throws: ProtocolError.self) { _ = try harness.feed(input) }
        #expect(error.closeReason.code == .protocolViolation && harness.phase == .failed)
    }

    @Test("each rejection starts a new step deadline, but none passes the handshake's")
    func deadlines() throws {
        // Step 10 s, handshake 25 s: key at 0, password at 1 s, names at 9 s and 18 s.
        var harness = try Harness(totalTimeout: .seconds(25), nameAttempts: 5)
        _ = harness.machine.start()
        _ = try harness.feed(.keyExchange)
        harness.clock.advance(by: .seconds(1))
        _ = try harness.feed(.password)
        harness.clock.advance(by: .seconds(8))
        let first = try harness.machine.receive(.name(""))
        #expect(first.last == .setDeadline(harness.deadline(after: .seconds(10))))
        harness.clock.advance(by: .seconds(9))
        let second = try harness.machine.receive(.name(""))
        // 18 s + 10 s would pass the handshake deadline at 25 s.
        #expect(second.last == .setDeadline(harness.deadline(after: .seconds(7))))
        harness.clock.advance(by: .seconds(7))
        let expired = harness.machine.deadlineExpired()
        guard case .close(let reason) = expired.first else { throw UnexpectedActions(actions: expired) }
        #expect(reason.code == .handshakeTimeout && reason.message.contains("handshake not completed within"))
    }

    @Test("a name after its step's deadline is not rejected again: the handshake times out")
    func lateNameTimesOut() throws {
        var harness = try Harness()
        try harness.advance(to: .awaitingName)
        _ = try harness.machine.receive(.name(""))
        harness.clock.advance(by: Harness.timeout)
        let actions = try harness.machine.receive(.name(""))
        guard case .close(let reason) = actions.first else { throw UnexpectedActions(actions: actions) }
        #expect(reason.code == .handshakeTimeout)
    }
}
