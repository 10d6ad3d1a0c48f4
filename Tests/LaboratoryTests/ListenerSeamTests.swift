import Foundation
@_spi(Testing) import Laboratory
import LaboratoryClient
@_spi(Benchmarks) import LaboratoryCrypto
@_spi(Benchmarks) import LaboratoryProtocol
import LaboratoryTestSupport
import Logging
import NIOConcurrencyHelpers
import ServiceLifecycle
import Testing

/// A tiny listener with no socket of its own: when it runs it is one session of its own, in the
/// chat room `lobby`, through the context; on graceful shutdown it says goodbye there and ends
/// its session. It records each step.
private final class ProbeListener: LaboratoryListener {
    struct Bound: Sendable { let token: Int }

    private let log = NIOLockedValueBox<[String]>([])
    private let joined: AsyncStream<UInt64>
    private let joinedContinuation: AsyncStream<UInt64>.Continuation
    private let heard: AsyncStream<ChatEvent>
    private let hear: AsyncStream<ChatEvent>.Continuation

    init() {
        (joined, joinedContinuation) = AsyncStream.makeStream()
        (heard, hear) = AsyncStream.makeStream()
    }

    var steps: [String] { log.withLockedValue { $0 } }

    /// The probe's connection id, once it has joined the lobby.
    func joinedID() async -> UInt64? { await joined.first { _ in true } }

    /// The next chat message the probe hears in the lobby.
    func nextMessage() async -> ChatEvent? { await heard.first { $0.kind == .message } }

    func bind(context: LaboratoryListenerContext) async throws -> Bound {
        record("bound")
        return Bound(token: 7)
    }

    func run(_ bound: Bound, context: LaboratoryListenerContext) async throws {
        guard !Task.isCancelled else { return record("abandoned") }
        record("run \(bound.token)")
        let id = context.makeConnectionID()
        let session = SessionIdentity(connectionID: id, remoteAddress: nil, displayName: "probe")
        let events = EventSink(connectionID: id) { [hear] event in
            if let chat = ChatEvent(event) { hear.yield(chat) }
            return true
        }
        let join = await context.respond(
            to: try chat(.join(room: "lobby", after: nil)), session: session, events: events)
        record("joined \(join.status == .ok)")
        joinedContinuation.yield(id)
        do {
            try await gracefulShutdown()
            record("shutdown")
        } catch {
            record("cancelled")
        }
        let bye = await context.respond(
            to: try chat(.say(room: "lobby", text: "bye")), session: session, events: events)
        record("said bye \(bye.status == .ok)")
        await context.services.sessionDidEnd(session)
        record("drained")
    }

    private func chat(_ request: ChatRequest) throws -> Request {
        Request(id: 1, service: ChatService.defaultName, body: Array(try JSONEncoder().encode(request)))
    }

    private func record(_ step: String) { log.withLockedValue { $0.append(step) } }
}

/// A listener that cannot bind.
private struct UnbindableListener: LaboratoryListener {
    struct Failure: Error {}

    func bind(context: LaboratoryListenerContext) async throws { throw Failure() }
    func run(_ bound: Void, context: LaboratoryListenerContext) async throws {}
}

/// A listener that binds, then fails as soon as it runs.
private struct FailingListener: LaboratoryListener {
    struct Failure: Error {}

    func bind(context: LaboratoryListenerContext) async throws {}
    func run(_ bound: Void, context: LaboratoryListenerContext) async throws { throw Failure() }
}

@Suite("Extra listeners plug into the server", .timeLimit(.minutes(2)))
struct ListenerSeamTests {
    @Test("a listener that fails while serving is logged at once; TCP keeps serving; the server rethrows at the end")
    func runFailure() async throws {
        let log = CapturedLog()
        let message = "an extra listener failed and stopped; the server keeps serving its other listeners"
        await #expect(throws: FailingListener.Failure.self) {
            try await LiveServer.with(listeners: [FailingListener()], logger: log.logger()) { live in
                await log.waitFor(message)
                #expect(log.events(message).first?.level == .error)
                let session = try await live.connect()
                #expect(try await session.request(service: "echo", body: [7]) == [7])
                await session.close()
            }
        }
    }

    @Test("a listener is bound before the server listens, shares its chat rooms, and drains with it")
    func plugsIn() async throws {
        let probe = ProbeListener()
        try await LiveServer.with(Tweak { $0.shutdownGracePeriod = .seconds(10) }, listeners: [probe]) { live in
            #expect(probe.steps.first == "bound")
            let probeID = try #require(await probe.joinedID())
            let session = try await live.connect(name: "ada")
            #expect(session.acceptance.connectionID != probeID)
            var events = session.events.makeAsyncIterator()
            _ = try await session.chat(.join(room: "lobby", after: nil))
            _ = try await session.chat(.say(room: "lobby", text: "hello, probe"))
            let heard = await probe.nextMessage()
            #expect(heard?.name == "ada")
            #expect(heard?.text == "hello, probe")

            // On graceful shutdown the listener keeps serving until its session has ended.
            await live.group.triggerGracefulShutdown()
            var bye: ChatEvent?
            while bye == nil, let event = await events.next() {
                if case .service(let serviceEvent) = event, let chat = ChatEvent(serviceEvent), chat.kind == .message,
                    chat.name == "probe"
                {
                    bye = chat
                }
            }
            #expect(bye?.text == "bye")
            await session.close()
        }
        // The server's run returned only after the listener's had.
        #expect(probe.steps == ["bound", "run 7", "joined true", "shutdown", "said bye true", "drained"])
    }

    @Test("a listener that cannot bind stops the server from starting; those already bound are abandoned")
    func bindFailure() async throws {
        let probe = ProbeListener()
        var configuration = try ServerConfiguration(hostKey: LiveServer.hostKey, password: LiveServer.password)
        configuration.port = 0
        let pool = TestKeys.serverTransportKeys
        configuration.transportKeys.keySource = { pool.next() }
        var logger = Logger(label: "test.server")
        logger.logLevel = .critical
        let server = LaboratoryServer(
            configuration: configuration, listeners: [probe, UnbindableListener()], logger: logger)
        await #expect(throws: UnbindableListener.Failure.self) { try await server.run() }
        await #expect(throws: UnbindableListener.Failure.self) { try await server.listeningAddress() }
        #expect(probe.steps == ["bound", "abandoned"])
    }
}
