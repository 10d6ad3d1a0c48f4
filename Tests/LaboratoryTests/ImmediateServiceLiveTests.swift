import Laboratory
@_spi(Benchmarks) import LaboratoryProtocol
import LaboratoryTestSupport
import LaboratoryTransport
import NIOCore
import NIOPosix
import Synchronization
import Testing

/// Answers with the caller's display name, and records whether it ran on an event loop.
struct WhoAmIService: LaboratoryImmediateService {
    final class Threads: Sendable {
        let onEventLoop = Mutex<[Bool]>([])
    }
    let threads = Threads()

    func handleImmediately(_ body: ByteBuffer, context: LaboratoryServiceContext) throws -> ByteBuffer {
        threads.onEventLoop.withLock { $0.append(MultiThreadedEventLoopGroup.currentEventLoop != nil) }
        return ByteBuffer(string: context.session.displayName)
    }
}

/// Throws what its body names: a service error, or another error.
struct FailingImmediateService: LaboratoryImmediateService {
    struct Private: Error {}

    func handleImmediately(_ body: ByteBuffer, context: LaboratoryServiceContext) throws -> ByteBuffer {
        if body.readableBytes == 0 { throw ServiceError("say something") }
        throw Private()
    }
}

/// Answers after a pause, on the connection's task.
struct SlowService: LaboratoryByteBufferService {
    func handle(_ body: ByteBuffer, context: LaboratoryServiceContext) async throws -> ByteBuffer {
        try await Task.sleep(for: .milliseconds(300))
        return body
    }
}

/// Requests for immediate services are answered on the event loop that reads them while the
/// session's reader waits with nothing in flight (``LaboratoryImmediateService``). These attack
/// what that path must keep: order with everything that goes to the reader (key updates,
/// renames, pings), key renewal and exhaustion, a frame that does not open, keepalive, errors, and
/// requests in flight on the task path.
@Suite("Immediate services, live", .timeLimit(.minutes(1)))
struct ImmediateServiceLiveTests {
    static func registry(whoAmI: WhoAmIService = WhoAmIService()) -> ServiceRegistry {
        var registry = ServiceRegistry.standard
        registry.register(whoAmI, as: "whoami")
        registry.register(FailingImmediateService(), as: "failing")
        registry.register(SlowService(), as: "slow")
        return registry
    }

    /// Seals `messages` and writes them in one go, so the server reads them together.
    static func sendTogether(_ raw: RawClient, _ messages: [ClientMessage], applying update: KeyUpdate? = nil)
        async throws
    {
        var bytes: [UInt8] = []
        for message in messages {
            bytes += Frame.encode(try raw.sealer!.seal(message.encoded()))
            if case .keyUpdate(let sent) = message { try raw.sealer!.apply(sent) }
        }
        try await raw.sendRaw(bytes)
    }

    static func request(_ id: UInt64, _ service: String, _ body: [UInt8] = []) -> ClientMessage {
        .request(Request(id: id, service: service, body: body))
    }

    /// Asks `whoami` as request `id` and expects the name "ada" back.
    static func expectAda(_ raw: inout RawClient, id: UInt64) async throws {
        try await raw.send(request(id, "whoami"))
        #expect(try await raw.receive() == .response(Response(requestID: id, status: .ok, body: Array("ada".utf8))))
    }

    /// Request 1 with nothing in flight (the loop serves it), then request 3 while the slow
    /// request 2 is in flight (the reader serves it, on the pool); both answered.
    static func whoAmIBesideASlowRequest(_ raw: inout RawClient) async throws {
        try await expectAda(&raw, id: 1)
        try await sendTogether(raw, [request(2, "slow", [9]), request(3, "whoami")])
        #expect(try await raw.receive() == .response(Response(requestID: 3, status: .ok, body: Array("ada".utf8))))
        #expect(try await raw.receive() == .response(Response(requestID: 2, status: .ok, body: [9])))
    }

    @Test("an immediate service runs on the event loop when nothing is in flight, and on the task when something is")
    func runsOnTheEventLoop() async throws {
        let whoAmI = WhoAmIService()
        try await LiveServer.with(services: Self.registry(whoAmI: whoAmI)) { live in
            var raw = try await live.acceptedRawClient(name: "ada")
            // With a slow request in flight the reader serves requests itself, on the pool.
            try await Self.whoAmIBesideASlowRequest(&raw)
            // The session goes quiet (a ping with nothing in flight): the loop answers again.
            try await raw.send(.ping(7))
            #expect(try await raw.receive() == .pong(7))
            try await Self.expectAda(&raw, id: 4)
            #expect(whoAmI.threads.onEventLoop.withLock { $0 } == [true, false, true])
        }
    }

    @Test("a request pipelined behind the name goes to the task; the loop answers the next ones, with no quiet pause")
    func backToTheLoopAfterAcceptance() async throws {
        let whoAmI = WhoAmIService()
        try await LiveServer.with(services: Self.registry(whoAmI: whoAmI)) { live in
            var raw = try await RawClient.connect(port: live.port)
            try await raw.exchangeKeys()
            #expect(try await raw.receive() == .passwordPrompt)
            try await raw.send(.password(LiveServer.password))
            #expect(try await raw.receive() == .namePrompt)
            // The request is read before the session's reader waits: the reader serves it.
            try await Self.sendTogether(raw, [.name("ada"), Self.request(1, "whoami")])
            guard case .accepted? = try await raw.receive() else {
                Issue.record("not accepted")
                return
            }
            #expect(try await raw.receive() == .response(Response(requestID: 1, status: .ok, body: Array("ada".utf8))))
            // Requests keep coming, no ping: the loop answers them again.
            for id: UInt64 in 2...3 { try await Self.expectAda(&raw, id: id) }
            #expect(whoAmI.threads.onEventLoop.withLock { $0 } == [false, true, true])
            await raw.close()
        }
    }

    @Test("once the requests in flight have ended the loop answers again, without the session going quiet")
    func backToTheLoopAfterAnAsyncRequest() async throws {
        let whoAmI = WhoAmIService()
        try await LiveServer.with(services: Self.registry(whoAmI: whoAmI)) { live in
            var raw = try await live.acceptedRawClient(name: "ada")
            try await Self.whoAmIBesideASlowRequest(&raw)
            // The reader was already waiting for the next frame when the slow request ended, so it
            // serves request 4 itself; with nothing in flight after it, the loop serves 5 and 6.
            for id: UInt64 in 4...6 { try await Self.expectAda(&raw, id: id) }
            #expect(whoAmI.threads.onEventLoop.withLock { $0 } == [true, false, false, true, true])
            await raw.close()
        }
    }

    @Test("a rename pipelined before a request takes effect for it, whoever serves either")
    func renameThenRequest() async throws {
        try await LiveServer.with(services: Self.registry()) { live in
            var raw = try await live.acceptedRawClient(name: "ada")
            try await Self.sendTogether(
                raw,
                [
                    Self.request(1, "whoami"), .rename(requestID: 2, name: "grace"), Self.request(3, "whoami"),
                    .rename(requestID: 4, name: "hopper"), Self.request(5, "whoami"), Self.request(6, "echo", [1, 2]),
                ])
            var answers: [Response] = []
            while answers.count < 6 {
                guard case .response(let response)? = try await raw.receive() else {
                    Issue.record("expected a response")
                    return
                }
                answers.append(response)
            }
            #expect(
                answers == [
                    Response(requestID: 1, status: .ok, body: Array("ada".utf8)),
                    Response(requestID: 2, status: .ok),
                    Response(requestID: 3, status: .ok, body: Array("grace".utf8)),
                    Response(requestID: 4, status: .ok),
                    Response(requestID: 5, status: .ok, body: Array("hopper".utf8)),
                    Response(requestID: 6, status: .ok, body: [1, 2]),
                ])
        }
    }

    @Test("requests sealed under a new key right after a key update are opened with it, in order")
    func keyUpdateBetweenRequests() async throws {
        try await LiveServer.with(services: Self.registry()) { live in
            var raw = try await live.acceptedRawClient()
            for round in UInt64(0)..<20 {
                let update = try KeyUpdate.random(requestsUpdate: false)
                try await Self.sendTogether(
                    raw,
                    [
                        Self.request(3 * round, "echo", [UInt8(round)]), .keyUpdate(update),
                        Self.request(3 * round + 1, "echo", [UInt8(round), 1]), .ping(round),
                        Self.request(3 * round + 2, "echo", [UInt8(round), 2]),
                    ])
                #expect(
                    try await raw.receive()
                        == .response(Response(requestID: 3 * round, status: .ok, body: [UInt8(round)])))
                #expect(
                    try await raw.receive()
                        == .response(Response(requestID: 3 * round + 1, status: .ok, body: [UInt8(round), 1])))
                #expect(try await raw.receive() == .pong(round))
                #expect(
                    try await raw.receive()
                        == .response(Response(requestID: 3 * round + 2, status: .ok, body: [UInt8(round), 2])))
            }
            #expect(raw.sealer!.counter == 3)
        }
    }

    @Test("the server asks for a new key after the frame limit, counting requests the loop opened")
    func serverAsksForRenewal() async throws {
        try await LiveServer.with(Tweak { $0.outbound.rekeyAfterFrames = 5 }, services: Self.registry()) { live in
            var raw = try await live.acceptedRawClient()
            var asked = 0
            for id in UInt64(1)...30 {
                try await raw.send(Self.request(id, "echo", [UInt8(id)]))
                var answered = false
                while !answered {
                    switch try await raw.receive() {
                    case .keyUpdate(let update)?:
                        try raw.opener!.apply(update)
                        if update.requestsUpdate {
                            asked += 1
                            let mine = try KeyUpdate.random(requestsUpdate: false)
                            try await raw.send(.keyUpdate(mine))
                            try raw.sealer!.apply(mine)
                        }
                    case .response(let response)?:
                        #expect(response == Response(requestID: id, status: .ok, body: [UInt8(id)]))
                        answered = true
                    case let other:
                        Issue.record("unexpected \(String(describing: other))")
                        return
                    }
                }
            }
            // Frames 2, 3, ... are requests: the client's key reaches 5 frames within every 5 or 6 requests.
            #expect(asked >= 4)
        }
    }

    @Test("a client that ignores the renewal past twice the limit is closed for it, also by requests alone")
    func keyExhaustedByRequests() async throws {
        try await LiveServer.with(Tweak { $0.outbound.rekeyAfterFrames = 5 }, services: Self.registry()) { live in
            var raw = try await live.acceptedRawClient()
            var closed: CloseReason?
            for id in UInt64(1)...20 where closed == nil {
                try await raw.send(Self.request(id, "echo", [1]))
                while true {
                    let message = try await raw.receive()
                    if case .keyUpdate(let update)? = message {
                        try raw.opener!.apply(update)
                        continue
                    }
                    if case .closing(let reason)? = message { closed = reason }
                    break
                }
            }
            #expect(closed?.code == .keyExhausted)
        }
    }

    @Test("a request frame with one bit flipped ends that session with decryption failed; another goes on")
    func flippedBitInRequest() async throws {
        try await LiveServer.with(services: Self.registry()) { live in
            var victim = try await live.acceptedRawClient(name: "victim")
            var bystander = try await live.acceptedRawClient(name: "bystander")
            try await victim.send(Self.request(1, "echo", [1]))
            #expect(try await victim.receive() == .response(Response(requestID: 1, status: .ok, body: [1])))
            var sealed = try victim.sealer!.seal(Self.request(2, "echo", [UInt8](repeating: 5, count: 100)).encoded())
            sealed[sealed.count / 2] ^= 0x10
            try await victim.sendFrame(sealed)
            #expect(try await victim.closeReason()?.code == .decryptionFailed)
            try await bystander.send(Self.request(9, "whoami"))
            #expect(
                try await bystander.receive()
                    == .response(Response(requestID: 9, status: .ok, body: Array("bystander".utf8))))
        }
    }

    @Test("a request that does not decode ends the session with a protocol violation")
    func malformedRequest() async throws {
        try await LiveServer.with(services: Self.registry()) { live in
            var raw = try await live.acceptedRawClient()
            // A request's kind byte, then an id cut short.
            try await raw.sendFrame(try raw.sealer!.seal(Array(Self.request(1, "echo").encoded().prefix(4))))
            #expect(try await raw.closeReason()?.code == .protocolViolation)
        }
    }

    @Test("an immediate service's errors are answered as any service's: its message, or a generic internal error")
    func errors() async throws {
        try await LiveServer.with(services: Self.registry()) { live in
            var raw = try await live.acceptedRawClient()
            try await raw.send(Self.request(1, "failing"))
            #expect(
                try await raw.receive()
                    == .response(Response(requestID: 1, status: .serviceError, errorMessage: "say something")))
            try await raw.send(Self.request(2, "failing", [1]))
            guard case .response(let failure)? = try await raw.receive() else {
                Issue.record("expected a response")
                return
            }
            #expect(failure.requestID == 2 && failure.status == .internalError)
            #expect(!failure.errorMessage.contains("Private"))
            try await raw.send(Self.request(3, "nothing-here"))
            guard case .response(let unknown)? = try await raw.receive() else {
                Issue.record("expected a response")
                return
            }
            #expect(unknown.requestID == 3 && unknown.status == .unknownService)
            // The session is still fine.
            try await raw.send(Self.request(4, "echo", [4]))
            #expect(try await raw.receive() == .response(Response(requestID: 4, status: .ok, body: [4])))
        }
    }

    @Test("requests answered on the loop count as traffic: no keepalive ping, no idle timeout (test clock)")
    func requestsKeepTheSessionAlive() async throws {
        let clock = TestClock()
        let tweak = Tweak {
            $0.clock = AnyTimerClock(clock)
            $0.keepaliveInterval = .milliseconds(200)
            $0.idleTimeout = .milliseconds(700)
        }
        try await LiveServer.with(tweak, services: Self.registry()) { live in
            var raw = try await live.acceptedRawClient()
            for id in UInt64(1)...12 {
                clock.advance(by: .milliseconds(150))
                try await raw.send(Self.request(id, "echo", [UInt8(id)]))
                // A ping here would mean the request did not count as the client's traffic.
                #expect(try await raw.receive() == .response(Response(requestID: id, status: .ok, body: [UInt8(id)])))
            }
            // 1.8 s of clock time, far past the idle timeout: still open.
            try await raw.send(.ping(1))
            #expect(try await raw.receive() == .pong(1))
            // Closed here: the shutdown's grace period runs on the test clock, which stands still.
            await raw.close()
        }
    }

    @Test("many requests pipelined in one write, mixed with pings, are all answered in order")
    func pipelinedBurst() async throws {
        try await LiveServer.with(services: Self.registry()) { live in
            var raw = try await live.acceptedRawClient()
            var messages: [ClientMessage] = []
            for id in UInt64(0)..<300 {
                messages.append(
                    id % 7 == 3
                        ? .ping(id) : Self.request(id, "echo", [UInt8](repeating: UInt8(id % 256), count: Int(id) * 10))
                )
            }
            try await Self.sendTogether(raw, messages)
            for id in UInt64(0)..<300 {
                let expected: ServerMessage =
                    id % 7 == 3
                    ? .pong(id)
                    : .response(
                        Response(
                            requestID: id, status: .ok, body: [UInt8](repeating: UInt8(id % 256), count: Int(id) * 10)))
                #expect(try await raw.receive() == expected)
            }
        }
    }
}
