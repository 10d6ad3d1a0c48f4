import LaboratoryClient
import LaboratoryProtocol
import Testing

/// The backoff of ``ReconnectPolicy`` and the decisions of ``ReconnectMachine``: bounds, jitter
/// range, growth, the lockout's floor, the reset after a resumption, and the closes that must
/// not be followed by a reconnect (PROTOCOL.md §17, *Reconnecting and resuming*).
@Suite("Reconnect policy")
struct ReconnectPolicyTests {
    @Test("the ceiling starts at the initial delay, multiplies per attempt and stops at the maximum")
    func ceilingGrowsToTheMaximum() {
        let policy = ReconnectPolicy()
        #expect(policy.ceiling(beforeAttempt: 1) == .milliseconds(500))
        #expect(policy.ceiling(beforeAttempt: 2) == .seconds(1))
        #expect(policy.ceiling(beforeAttempt: 3) == .seconds(2))
        #expect(policy.ceiling(beforeAttempt: 7) == .seconds(30))
        #expect(policy.ceiling(beforeAttempt: 1_000_000) == .seconds(30))
        let tripling = ReconnectPolicy(initialDelay: .milliseconds(100), maximumDelay: .seconds(5), multiplier: 3)
        #expect(tripling.ceiling(beforeAttempt: 3) == .milliseconds(900))
        #expect(tripling.ceiling(beforeAttempt: 5) == .seconds(5))
        // A multiplier below 1 (or not finite) does not shrink the delays.
        let odd = ReconnectPolicy(initialDelay: .seconds(1), maximumDelay: .seconds(4), multiplier: 0.5)
        #expect(odd.ceiling(beforeAttempt: 9) == .seconds(1))
    }

    @Test("full jitter: the delay is the draw times the ceiling, from zero up to the ceiling")
    func fullJitter() {
        let policy = ReconnectPolicy()
        #expect(policy.delay(beforeAttempt: 3, random: 0) == .zero)
        #expect(policy.delay(beforeAttempt: 3, random: 0.5) == .seconds(1))
        #expect(policy.delay(beforeAttempt: 3, random: 0.999_999) <= .seconds(2))
        // Draws out of range are clamped, never a negative or larger wait.
        #expect(policy.delay(beforeAttempt: 3, random: -4) == .zero)
        #expect(policy.delay(beforeAttempt: 3, random: 7) == .seconds(2))
        #expect(policy.delay(beforeAttempt: 3, random: .nan) == .zero)
    }

    @Test("real draws stay within [0, ceiling] and spread over it")
    func drawsSpread() {
        var machine = ReconnectMachine(policy: ReconnectPolicy())
        var delays: [Duration] = []
        for _ in 0..<400 {
            machine.resumed()
            guard case .wait(let delay, attempt: 1) = machine.failed(.retry(notBefore: nil), random: .random(in: 0..<1))
            else {
                Issue.record("no wait")
                return
            }
            delays.append(delay)
        }
        #expect(delays.allSatisfy { $0 >= .zero && $0 <= .milliseconds(500) })
        // 400 uniform draws: both halves of the range are used (each misses with odds 2^-400).
        #expect(delays.contains { $0 < .milliseconds(250) } && delays.contains { $0 > .milliseconds(250) })
    }

    @Test("attempts count up, a resumption starts again at 1, and a bounded policy gives up")
    func attemptsAndReset() {
        var machine = ReconnectMachine(policy: ReconnectPolicy(maximumAttempts: 3))
        #expect(machine.failed(.retry(notBefore: nil), random: 1) == .wait(.milliseconds(500), attempt: 1))
        #expect(machine.failed(.retry(notBefore: nil), random: 1) == .wait(.seconds(1), attempt: 2))
        #expect(machine.failed(.retry(notBefore: nil), random: 1) == .wait(.seconds(2), attempt: 3))
        #expect(machine.failed(.retry(notBefore: nil), random: 1) == .giveUp)
        machine.resumed()
        #expect(machine.failed(.retry(notBefore: nil), random: 1) == .wait(.milliseconds(500), attempt: 1))
        var never = ReconnectMachine(policy: .never)
        #expect(never.failed(.retry(notBefore: nil), random: 0.5) == .giveUp)
    }

    @Test("a lockout's retry_ms is a floor under the jittered delay")
    func lockoutFloor() {
        var machine = ReconnectMachine(policy: ReconnectPolicy())
        #expect(machine.failed(.retry(notBefore: .seconds(3)), random: 0.1) == .wait(.seconds(3), attempt: 1))
        // A backoff already longer than the floor is kept.
        var late = ReconnectMachine(policy: ReconnectPolicy(initialDelay: .seconds(20)))
        #expect(late.failed(.retry(notBefore: .seconds(3)), random: 0.5) == .wait(.seconds(10), attempt: 1))
        let refusal = CloseReason(
            .refused, "too many failures from your address; try again in 3s", retryAfter: .seconds(3))
        #expect(ReconnectMachine.verdict(afterClose: refusal) == .retry(notBefore: .seconds(3)))
        let lockedOut = ClientError(.rejected, step: .hello, "the server refused", closeReason: refusal)
        #expect(ReconnectMachine.verdict(afterConnectFailure: lockedOut) == .retry(notBefore: .seconds(3)))
    }

    @Test("kicked, wrong password, invalid name, a key mismatch and the user's bye are final")
    func finalCloses() {
        for code in [
            CloseReason.Code.kicked, .wrongPassword, .invalidName, .plaintextNotAllowed, .unsupportedVersion, .normal,
        ] {
            #expect(ReconnectMachine.verdict(afterClose: CloseReason(code, "x")) == .final, "\(code)")
        }
        for code in [CloseReason.Code.serverStopping, .idleTimeout, .slowConsumer, .internalError, .refused] {
            #expect(ReconnectMachine.verdict(afterClose: CloseReason(code, "x")) == .retry(notBefore: nil), "\(code)")
        }
        #expect(ReconnectMachine.verdict(afterClose: nil) == .retry(notBefore: nil))
        var machine = ReconnectMachine(policy: ReconnectPolicy())
        #expect(machine.failed(ReconnectMachine.verdict(afterClose: CloseReason(.kicked, "bye")), random: 0) == .giveUp)

        let finalErrors = [
            ClientError(.wrongPassword, step: .password, "wrong"),
            ClientError(.serverKeyMismatch, step: .hello, "another key"),
            ClientError(.nameRejected, step: .name, "bad name"),
        ]
        for error in finalErrors {
            #expect(ReconnectMachine.verdict(afterConnectFailure: error) == .final, "\(error)")
        }
        let retryable = [
            ClientError(.connectionFailed, step: .connecting, "refused"),
            ClientError(.handshakeTimeout, step: .connecting, "slow"),
            ClientError(.connectionClosed, step: .hello, "reset"),
            ClientError(.rejected, step: .hello, "full", closeReason: CloseReason(.refused, "full")),
        ]
        for error in retryable {
            #expect(ReconnectMachine.verdict(afterConnectFailure: error) == .retry(notBefore: nil), "\(error)")
        }
    }
}
