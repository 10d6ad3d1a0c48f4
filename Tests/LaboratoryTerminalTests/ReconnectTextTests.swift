import LaboratoryClient
import LaboratoryProtocol
import Testing

@testable import laboratory_client

/// The terminal client's reconnect lines: what the user reads while the connection is down.
@Suite("reconnect lines")
struct ReconnectTextTests {
    @Test("the loss, the waits and the failures each read as one line")
    func waits() {
        #expect(
            ReconnectText.reconnecting(in: .milliseconds(2_140), attempt: 1, after: nil, lost: nil)
                == "connection lost; reconnecting in 2.1 s…")
        #expect(
            ReconnectText.reconnecting(
                in: .milliseconds(40), attempt: 1, after: nil,
                lost: CloseReason(.serverStopping, "the server is shutting down"))
                == "connection lost (the server is shutting down, code 9); reconnecting in 40 ms…")
        var refused = ClientError(.connectionFailed, step: .connecting, "could not connect to 127.0.0.1:1: NIO's words")
        refused.connectFailure = .refused
        #expect(
            ReconnectText.reconnecting(in: .seconds(30), attempt: 7, after: refused, lost: nil)
                == "could not reconnect (connection refused); reconnecting in 30.0 s…")
        let reset = ClientError(.connectionClosed, step: .hello, "the server closed the connection")
        #expect(ReconnectText.why(reset) == "the connection closed during the handshake")
        let lockout = ClientError(
            .rejected, step: .hello, "refused",
            closeReason: CloseReason(.refused, "too many failures", retryAfter: .milliseconds(2_500)))
        #expect(ReconnectText.why(lockout) == "locked out for 2.5 s")
        let full = ClientError(
            .rejected, step: .hello, "refused",
            closeReason: CloseReason(.refused, "the server has too many connections"))
        #expect(ReconnectText.why(full) == "the server has too many connections, code 15")
        // A reason from the server cannot move the cursor or forge a line.
        let hostile = CloseReason(.internalError, "oops\u{1B}[2J\nfake line")
        let line = ReconnectText.reconnecting(in: .seconds(1), attempt: 1, after: nil, lost: hostile)
        #expect(!line.contains("\u{1B}") && !line.contains("\n"))
    }

    @Test("the resumption counts missed messages; gaps and restarts are named")
    func notices() {
        let resumption = { (missed: Int) in
            ReconnectingChatSession.Resumption(connectionID: 9, rooms: ["lobby"], missedMessages: missed, attempts: 2)
        }
        #expect(ReconnectText.resumed(resumption(0)) == "reconnected; no missed messages")
        #expect(ReconnectText.resumed(resumption(1)) == "reconnected; 1 missed message")
        #expect(ReconnectText.resumed(resumption(3)) == "reconnected; 3 missed messages")
        #expect(
            ReconnectText.missed(room: "lobby", from: 41, to: 59)
                == "missed 19 events in lobby (41 to 59): more than the server keeps")
        #expect(
            ReconnectText.restarted(room: "lobby")
                == "the server restarted: what was said in lobby while you were away may be missing")
    }
}
