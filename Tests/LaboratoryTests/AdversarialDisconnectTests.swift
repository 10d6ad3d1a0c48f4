import LaboratoryClient
@_spi(Benchmarks) import LaboratoryProtocol
import LaboratoryTestSupport
import NIOCore
import Testing

@testable import Laboratory

extension Adversarial {
    /// Clients that vanish at every step of the handshake and in the middle of frames, with an
    /// orderly close (FIN) and with a reset (RST). The server runs in this process so the test can
    /// read its connection counts.
    @Suite("Abrupt disconnects", .timeLimit(.minutes(1)))
    struct DisconnectTests {
        /// The server shares this process with the rest of the suite, which runs in parallel and
        /// allocates as it likes (chat floods, RSA keys, other servers), so the process's memory
        /// can only catch a gross leak here, such as each vanished connection keeping its buffers
        /// for good while the cuts are repeated. The tight memory checks are those of the
        /// scenarios that run the server as a separate process; the point here is the counts.
        static let memoryBound = 256 << 20

        @Test("a client that vanishes at any step, or mid-frame, leaves no connection behind")
        func abruptDisconnects() async throws {
            try await LiveServer.with(Tweak { $0.admission.penalties.wrongPasswordDelay = .milliseconds(300) }) {
                live in
                let honest = try await HonestTraffic.start { try await live.connect(name: $0) }
                #expect(await honest.waitForProgress())
                let before = try ProcessMemory.current()
                let port = live.port

                var failures: [String] = []
                for round in 0..<3 {
                    let cuts = DisconnectPoint.allCases.flatMap { point in [(point, false), (point, true)] }
                    let roundFailures = await withTaskGroup(of: String?.self) { group in
                        for (index, (point, resets)) in cuts.enumerated() {
                            // Each cut is an independent client, from a /24 of its own: the
                            // per-network cap on unfinished handshakes is not what this tests, and
                            // a previous round's cuts may still hold slots while the next starts.
                            let source = AttackSource.network(block: 15, round * cuts.count + index)
                            group.addTask {
                                do {
                                    var raw = try await RawClient.connect(port: port, from: source)
                                    try await point.reach(&raw)
                                    if resets { await reset(raw.channel) } else { await raw.close() }
                                    return nil
                                } catch {
                                    return "\(point) (\(resets ? "RST" : "FIN")): \(error)"
                                }
                            }
                        }
                        var failures: [String] = []
                        for await failure in group { failures += failure.map { [$0] } ?? [] }
                        return failures
                    }
                    failures += roundFailures
                }
                #expect(failures.isEmpty, "\(failures)")

                // Nothing to await on the server's side: poll its counts, within a bound.
                let settled = await Self.counts(of: live.server, reach: (total: 4, unauthenticated: 0))
                #expect(settled.reached, "connection counts stayed at \(settled.last)")
                let after = try ProcessMemory.current()
                let report = await honest.stop()
                let closed = await Self.counts(of: live.server, reach: (total: 0, unauthenticated: 0))
                #expect(closed.reached, "connection counts stayed at \(closed.last) after the honest clients left")
                print(
                    "abrupt disconnects: \(DisconnectPoint.allCases.count * 2 * 3) connections cut; "
                        + "test process memory before \(before), after \(after); honest: \(report)")
                report.expectHealthy(longestGap: .seconds(3))
                ProcessMemory.expectGrowth(from: before, to: after, below: Self.memoryBound, measure: \.resident)
            }
        }

        /// Polls the server's counts for up to ten seconds (more under a sanitizer) until they are
        /// `wanted`.
        static func counts(of server: LaboratoryServer, reach wanted: (total: Int, unauthenticated: Int))
            async -> (reached: Bool, last: (total: Int, unauthenticated: Int))
        {
            let deadline = ContinuousClock.now + Sanitizer.slack(.seconds(10))
            var last = (total: -1, unauthenticated: -1)
            while ContinuousClock.now < deadline {
                let counts = await server.connectionCounts
                last = (counts.total, counts.unauthenticated)
                if last == wanted { return (true, last) }
                try? await Task.sleep(for: .milliseconds(20))
            }
            return (false, last)
        }
    }
}

/// Where a client vanishes.
enum DisconnectPoint: CaseIterable, Sendable {
    case beforeHello, afterHello, partialKeyExchangeHeader, partialKeyExchange, afterKeyExchange
    case afterPasswordPrompt, partialPasswordFrame, afterPassword, duringWrongPasswordDelay
    case partialNameFrame, afterName, accepted, midFrameInSession, requestsOutstanding, afterBye

    /// Talks to the server up to this point.
    func reach(_ raw: inout RawClient) async throws {
        let password = LiveServer.password
        switch self {
        case .beforeHello:
            return
        case .afterHello:
            _ = try await raw.readHello()
        case .partialKeyExchangeHeader:
            _ = try await raw.readHello()
            try await raw.sendRaw([0x00, 0x00])
        case .partialKeyExchange:
            let exchange = Frame.encode(try raw.prepareKeyExchange(hello: try await raw.readHello()))
            try await raw.sendRaw(Array(exchange.prefix(100)))
        case .afterKeyExchange:
            try await raw.exchangeKeys(hello: try await raw.readHello())
        case .afterPasswordPrompt:
            try await raw.toPassword()
        case .partialPasswordFrame:
            try await raw.toPassword()
            try await raw.sendRaw(
                Array(Frame.encode(try raw.sealer!.seal(ClientMessage.password(password).encoded())).prefix(12)))
        case .afterPassword:
            try await raw.toPassword()
            try await raw.send(.password(password))
        case .duringWrongPasswordDelay:
            try await raw.toPassword()
            try await raw.send(.password("wrong"))
        case .partialNameFrame:
            try await raw.toName(password: password)
            try await raw.sendRaw(
                Array(Frame.encode(try raw.sealer!.seal(ClientMessage.name("gone").encoded())).prefix(7)))
        case .afterName:
            try await raw.toName(password: password)
            try await raw.send(.name("gone"))
        case .accepted:
            _ = try await raw.handshake(password: password, name: "gone")
        case .midFrameInSession:
            _ = try await raw.handshake(password: password, name: "gone")
            let request = ClientMessage.request(
                Request(id: 1, service: "echo", body: [UInt8](repeating: 1, count: 500)))
            try await raw.sendRaw(Array(Frame.encode(try raw.sealer!.seal(request.encoded())).prefix(200)))
        case .requestsOutstanding:
            _ = try await raw.handshake(password: password, name: "gone")
            for id in 1...20 {
                try await raw.send(
                    .request(Request(id: UInt64(id), service: "echo", body: [UInt8](repeating: 2, count: 2000))))
            }
        case .afterBye:
            _ = try await raw.handshake(password: password, name: "gone")
            try await raw.send(.bye)
        }
    }
}
