@_spi(Benchmarks) import LaboratoryProtocol
import LaboratoryTestSupport
import Testing

/// The client side of a rejected name, against a real ``ServerHandshake``: the caller offers
/// another name or gives up, and only after a rejection.
@Suite("ClientHandshake: rejected names")
struct ClientHandshakeNameTests {
    /// A client that asked for `name` and a server at its name step, the client's `name` delivered.
    static func rejected(name: String) throws -> (
        client: ClientHarness, server: Harness, actions: [ClientHandshake.Action]
    ) {
        var client = ClientHarness(
            machine: ClientHandshake(credentials: .init(password: Harness.password, name: name)))
        try client.advance(to: .awaitingAcceptance)
        var server = try Harness()
        try server.advance(to: .awaitingName)
        let answer = try server.machine.receive(.name(name))
        guard case .send(let message) = answer.first else { throw UnexpectedActions(actions: answer) }
        let actions = try client.machine.receive(message)
        return (client, server, actions)
    }

    @Test("a rejected name is reported with the server's reason; the next name offered is accepted")
    func retry() throws {
        var (client, server, actions) = try Self.rejected(name: " Ada")
        let expected = NameRejection(reason: "display name starts or ends with whitespace", attemptsLeft: 2)
        #expect(actions == [.nameRejected(expected)] && client.phase == .awaitingNewName)
        let retry = try client.machine.retryName("Ada")
        #expect(retry == [.send(.name("Ada"))] && client.phase == .awaitingAcceptance)
        let answer = try server.machine.receive(.name("Ada"))
        guard case .send(let accepted) = answer.last else { throw UnexpectedActions(actions: answer) }
        #expect(try client.machine.receive(accepted) == [.accepted(ClientHarness.acceptance)])
    }

    @Test("giving up fails the handshake with the server's reason, at the name step")
    func giveUp() throws {
        var (client, _, _) = try Self.rejected(name: "")
        let failure = try #require(throws: ClientHandshake.Failure.self) { try client.machine.giveUpName() }
        #expect(failure.kind == .nameRejected(NameRejection(reason: "display name is empty", attemptsLeft: 2)))
        #expect(failure.step == .name && client.phase == .failed)
    }

    @Test("a new name is refused unless the server rejected one")
    func retryOnlyAfterRejection() throws {
        var client = ClientHarness()
        try client.advance(to: .awaitingAcceptance)
        let failure = try #require(throws: ClientHandshake.Failure.self) { try client.machine.retryName("Ada") }
        #expect(failure.kind == .protocolViolation && client.phase == .failed)
    }

    @Test("the server's close after the last attempt is reported as the server's reason")
    func lastAttemptCloses() throws {
        var (client, _, _) = try Self.rejected(name: "")
        _ = try client.machine.retryName("")
        let failure = try #require(throws: ClientHandshake.Failure.self) {
            try client.machine.receive(.closing(CloseReason(.invalidName, "display name is empty")))
        }
        #expect(failure.kind == .closedByServer(CloseReason(.invalidName, "display name is empty")))
    }
}
