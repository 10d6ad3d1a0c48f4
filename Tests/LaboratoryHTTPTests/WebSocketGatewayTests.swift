import Foundation
import Laboratory
import LaboratoryClient
import LaboratoryHTTP
@_spi(Benchmarks) import LaboratoryProtocol
import LaboratoryTestSupport
import LaboratoryTransport
import NIOWebSocket
import Testing

/// The WebSocket gateway, live: real sockets, the real HTTP listener, the project's own client
/// handshake and record layer over binary WebSocket messages (`RawClient.connectWebSocket`).
@Suite("WebSocket gateway", .timeLimit(.minutes(1)))
struct WebSocketGatewayTests {
    static func gatewayListener(allowedOrigins: [String] = []) -> HTTPListener {
        HTTPListener(
            configuration: HTTPConfiguration(
                port: 0, webSocketGateway: WebSocketGatewayConfiguration(allowedOrigins: allowedOrigins)))
    }

    /// Upgrades or records why not.
    static func upgrade(
        _ http: HTTPListener, origin: String? = nil, from source: String? = nil
    ) async throws -> (RawClient, WebSocketSide) {
        let port = try #require(http.localAddress?.port)
        switch try await RawClient.connectWebSocket(port: port, origin: origin, from: source) {
        case .upgraded(let raw, let side): return (raw, side)
        case .refused(let status, let head): throw RawClientError("upgrade refused: \(status) \(head)")
        }
    }

    @Test("a WebSocket client completes the handshake and chats in one room with a TCP client")
    func chatsWithTCP() async throws {
        let http = Self.gatewayListener()
        try await LiveServer.with(listeners: [http]) { live in
            var (web, _) = try await Self.upgrade(http)
            let acceptance = try await web.handshake(name: "web")
            #expect(acceptance.services.contains("chat"))
            #expect(web.hello?.serverRandom.count == 32)

            let tcp = try await live.connect(name: "tcp")
            _ = try await tcp.chat(.join(room: "lobby", after: nil))
            var tcpEvents = ChatEventReader(tcp)
            try await web.chat(.join(room: "lobby", after: nil), id: 1)
            // The TCP member sees the WebSocket member join, then its message.
            let joined = await tcpEvents.collect(1) { $0.kind == .joined && $0.name == "web" }
            #expect(joined.first?.name == "web")
            try await web.chat(.say(room: "lobby", text: "hello from a browser"), id: 2)
            let said = await tcpEvents.collect(1) { $0.kind == .message }
            #expect(said.first?.text == "hello from a browser")
            #expect(said.first?.name == "web")
            // And the WebSocket member sees the TCP member's message.
            _ = try await tcp.chat(.say(room: "lobby", text: "hello from a terminal"))
            let heard = try await web.nextChatEvent { $0.kind == .message && $0.name == "tcp" }
            #expect(heard.text == "hello from a terminal")
            // A plain request works too.
            try await web.send(.request(Request(id: 3, service: "echo", body: [7, 8, 9])))
            #expect(try await web.response(id: 3).body == [7, 8, 9])

            try await web.send(.bye)
            #expect(try await web.closeReason()?.code == .normal)
            await tcp.close()
        }
    }

    @Test("a wrong password over WebSocket is penalised like TCP, counted with TCP by source address")
    func wrongPasswordPenalised() async throws {
        let http = Self.gatewayListener()
        try await LiveServer.with(
            Tweak { $0.admission.penalties.wrongPasswordDelay = .milliseconds(20) }, listeners: [http]
        ) {
            live in
            var refusedAfter: Int?
            for attempt in 1...8 {
                var (web, side) = try await Self.upgrade(http, from: "127.0.0.2")
                let first = try #require(await web.nextFrame())
                if case .closing(let reason)? = try? ServerMessage(decoding: first) {
                    #expect(reason.code == .refused)
                    refusedAfter = attempt - 1
                    break
                }
                let error = try await #require(throws: RawClientError.self) {
                    try await web.handshakeAfterHello(first, password: "guess \(attempt)")
                }
                #expect(error.description.contains("wrong password"))
                // The closing frame, then the WebSocket's close: a policy violation.
                while await web.nextFrame() != nil {}
                #expect(side.closeCode == 1008)
            }
            let failures = try #require(refusedAfter)
            #expect((4...7).contains(failures))
            // The penalty is the source's, whichever way it comes in: TCP from it is refused too.
            var tcp = try await RawClient.connect(port: live.port, from: "127.0.0.2")
            #expect(try await tcp.closeReason()?.code == .refused)
            let honest = try await live.connect()
            #expect(try await honest.request(service: "echo", body: [1]) == [1])
            await honest.close()
        }
    }

    @Test("a message over the frame limit ends the connection with frameTooLarge, before and after acceptance")
    func oversizedMessage() async throws {
        let http = Self.gatewayListener()
        try await LiveServer.with(Tweak { $0.maximumFrameSize = 10_000 }, listeners: [http]) { _ in
            // Before acceptance the handshake's limit (4096 bytes) holds.
            var (early, earlySide) = try await Self.upgrade(http, from: "127.0.0.6")
            _ = try await early.readHello()
            try await early.sendFrame([UInt8](repeating: 1, count: Frame.maximumHandshakePayloadByteCount + 1))
            #expect(try await early.closeReason()?.code == .frameTooLarge)
            #expect(earlySide.closeCode == 1008)

            // (Each from an address of its own: two violations lock an address out.)
            // A WebSocket frame far over the session's maximum too: stopped at its header with
            // code 3 (the WebSocket layer alone would answer 1009 without a closing frame).
            var (huge, hugeSide) = try await Self.upgrade(http, from: "127.0.0.7")
            _ = try await huge.readHello()
            try await hugeSide.send(.binary, [UInt8](repeating: 1, count: 2 << 20))
            #expect(try await huge.closeReason()?.code == .frameTooLarge)
            #expect(hugeSide.closeCode == 1008)

            // After it, the session's; one message at the limit is fine, one byte more is not.
            var (web, side) = try await Self.upgrade(http)
            _ = try await web.handshake()
            let echoed = [UInt8](repeating: 3, count: 10_000 - 200)
            try await web.send(.request(Request(id: 1, service: "echo", body: echoed)))
            #expect(try await web.response(id: 1).body == echoed)
            try await web.sendFrame([UInt8](repeating: 2, count: 10_001))
            let reason = try await web.closeReason()
            #expect(reason?.code == .frameTooLarge)
            #expect(reason?.message.contains("10001") == true)
            #expect(side.closeCode == 1008)
        }
    }

    @Test("the same message split into WebSocket fragments is one frame; fragments past the limit are refused")
    func fragmentedMessages() async throws {
        let http = Self.gatewayListener()
        try await LiveServer.with(Tweak { $0.maximumFrameSize = 10_000 }, listeners: [http]) { _ in
            var (web, side) = try await Self.upgrade(http)
            _ = try await web.handshake()
            let sealed = try web.sealer!.seal(
                ClientMessage.request(Request(id: 5, service: "echo", body: [5, 5])).encoded())
            try await side.send(.binary, Array(sealed.prefix(10)), fin: false)
            try await side.send(.continuation, Array(sealed.dropFirst(10)), fin: true)
            #expect(try await web.response(id: 5).body == [5, 5])
            // 6,000 + 6,000 bytes: each fragment fits, the message does not.
            try await side.send(.binary, [UInt8](repeating: 1, count: 6_000), fin: false)
            try await side.send(.continuation, [UInt8](repeating: 1, count: 6_000), fin: true)
            #expect(try await web.closeReason()?.code == .frameTooLarge)
        }
    }

    @Test("an Origin other than the same origin or an allowed one is refused before the upgrade")
    func origins() async throws {
        let http = Self.gatewayListener(allowedOrigins: ["https://chat.example.org"])
        try await LiveServer.with(listeners: [http]) { _ in
            let port = try #require(http.localAddress?.port)
            for origin in ["https://evil.example", "null", "http://127.0.0.1:\(port + 1)", "http://localhost:\(port)"] {
                guard case .refused(let status, _) = try await RawClient.connectWebSocket(port: port, origin: origin)
                else {
                    Issue.record("\(origin) was upgraded")
                    continue
                }
                // Hummingbird answers every declined upgrade with 400.
                #expect(status == 400, "\(origin)")
            }
            // The scheme is not compared for the same origin: TLS may end at a proxy in front.
            for origin in [
                nil, "http://127.0.0.1:\(port)", "https://127.0.0.1:\(port)", "https://chat.example.org",
                "HTTPS://Chat.Example.org/",
            ] {
                var (web, _) = try await Self.upgrade(http, origin: origin)
                _ = try await web.handshake()
                await web.close()
            }
        }
    }

    @Test("without a gateway configuration /v1/ws is not served")
    func gatewayOff() async throws {
        let http = HTTPListener(configuration: HTTPConfiguration(port: 0))
        try await LiveServer.with(listeners: [http]) { _ in
            let port = try #require(http.localAddress?.port)
            guard case .refused(let status, _) = try await RawClient.connectWebSocket(port: port) else {
                Issue.record("upgraded without a gateway")
                return
            }
            #expect(status == 400)
        }
    }

    @Test("a text message is a protocol violation: closing frame, then WebSocket status 1008")
    func textMessage() async throws {
        let http = Self.gatewayListener()
        try await LiveServer.with(listeners: [http]) { live in
            var (web, side) = try await Self.upgrade(http)
            _ = try await web.handshake()
            try await side.send(.text, Array("{\"op\":\"say\"}".utf8))
            let reason = try await web.closeReason()
            #expect(reason?.code == .protocolViolation)
            #expect(reason?.message.contains("text message") == true)
            #expect(side.closeCode == 1008)
            // Nobody else noticed.
            let tcp = try await live.connect()
            #expect(try await tcp.request(service: "echo", body: [1]) == [1])
            await tcp.close()
        }
    }

    @Test("a WebSocket ping is answered with its payload; the session goes on")
    func pingAnswered() async throws {
        let http = Self.gatewayListener()
        try await LiveServer.with(listeners: [http]) { _ in
            var (web, side) = try await Self.upgrade(http)
            _ = try await web.handshake()
            try await side.send(.ping, [1, 2, 3])
            // The pong is written before the request behind the ping is read, so before its response.
            try await web.send(.request(Request(id: 1, service: "echo", body: [4])))
            #expect(try await web.response(id: 1).body == [4])
            #expect(side.pongs == [[1, 2, 3]])
        }
    }

    @Test(
        "protocol keepalive over WebSocket: pings reach the client, pongs keep it; WebSocket pings are not activity (test clock)"
    )
    func keepalive() async throws {
        let clock = TestClock()
        let http = Self.gatewayListener()
        let tweak = Tweak {
            $0.clock = AnyTimerClock(clock)
            $0.keepaliveInterval = .milliseconds(100)
            $0.idleTimeout = .milliseconds(600)
        }
        try await LiveServer.with(tweak, listeners: [http]) { _ in
            var (web, side) = try await Self.upgrade(http)
            _ = try await web.handshake()
            for round in 0..<10 {
                clock.advance(by: .milliseconds(100))
                guard case .ping(let value)? = try await web.receive() else {
                    Issue.record("expected a keepalive ping in round \(round)")
                    return
                }
                try await web.send(.pong(value))
                try await web.send(.serverNameQuery)
                #expect(try await web.receive() == .serverName("Laboratory"))
            }
            // From now on only WebSocket pings: each is answered, none keeps the session.
            for _ in 0..<6 {
                try await side.send(.ping, [9])
                #expect(await side.nextPong() == [9])
                clock.advance(by: .milliseconds(100))
            }
            let reason = try await web.closeReason()
            #expect(reason?.code == .idleTimeout)
            #expect(side.closeCode == 1000)
        }
    }

    @Test("graceful shutdown: an accepted WebSocket session is told, may finish, then closes with 1000")
    func gracefulShutdown() async throws {
        let http = Self.gatewayListener()
        try await LiveServer.with(Tweak { $0.shutdownGracePeriod = .milliseconds(600) }, listeners: [http]) { live in
            var (web, side) = try await Self.upgrade(http)
            _ = try await web.handshake()
            var (unfinished, _) = try await Self.upgrade(http)
            _ = try await unfinished.readHello()

            await live.group.triggerGracefulShutdown()

            #expect(try await web.receive() == .serverStopping(graceMilliseconds: 600))
            // An unfinished handshake ends at once.
            let unfinishedReason = try await unfinished.closeReason()
            #expect(unfinishedReason?.code == .serverStopping, "\(String(describing: unfinishedReason))")
            // The session still works within the grace period.
            try await web.send(.request(Request(id: 1, service: "echo", body: [6])))
            #expect(try await web.response(id: 1).body == [6])
            // Then it is closed.
            #expect(try await web.closeReason()?.code == .serverStopping)
            #expect(side.closeCode == 1000)
        }
    }

    @Test("a WebSocket session that does not read is dropped as a slow consumer; others carry on")
    func slowConsumer() async throws {
        let http = Self.gatewayListener()
        try await LiveServer.with(listeners: [http]) { live in
            let port = try #require(http.localAddress?.port)
            guard
                case .upgraded(var stalled, let side) = try await RawClient.connectWebSocket(
                    port: port, receiveBufferSize: 4096)
            else {
                Issue.record("not upgraded")
                return
            }
            _ = try await stalled.handshake(name: "stalled")
            try await stalled.channel.setOption(.autoRead, value: false).get()
            // 32 echoes of 512 KiB (16 MiB of responses) that the client never takes: past what
            // the sockets hold, and past the 1 MiB bound of bytes the session's transport has not
            // taken.
            let body = [UInt8](repeating: 7, count: 512 * 1024)
            for id in 1...32 {
                guard (try? await stalled.send(.request(Request(id: UInt64(id), service: "echo", body: body)))) != nil
                else { break }
            }
            // Meanwhile another session is served.
            let tcp = try await live.connect()
            #expect(try await tcp.request(service: "echo", body: [1]) == [1])
            _ = try? await stalled.channel.setOption(.autoRead, value: true).get()
            var responses = 0
            var closing: CloseReason?
            while let message = try? await stalled.receive() {
                if case .response = message { responses += 1 }
                if case .closing(let reason) = message { closing = reason }
            }
            // Dropped as a slow consumer: the connection closed without a closing frame or a
            // WebSocket close (§12), before all the responses were sent.
            #expect(responses < 32)
            #expect(closing == nil)
            #expect(side.closeCode == nil)
            #expect(try await tcp.request(service: "echo", body: [2]) == [2])
            await tcp.close()
        }
    }

    @Test("admission limits count WebSocket and TCP connections from one source together")
    func admissionTogether() async throws {
        let http = Self.gatewayListener()
        try await LiveServer.with(Tweak { $0.admission.maximumUnauthenticatedPerSource = 2 }, listeners: [http]) {
            live in
            var tcp = try await RawClient.connect(port: live.port, from: "127.0.0.4")
            _ = try await tcp.readHello()
            var (web, _) = try await Self.upgrade(http, from: "127.0.0.4")
            _ = try await web.readHello()
            // A third unfinished handshake from the source is refused, by either way in.
            var (thirdWeb, side) = try await Self.upgrade(http, from: "127.0.0.4")
            #expect(try await thirdWeb.closeReason()?.code == .refused)
            #expect(side.closeCode == 1008)
            var thirdTCP = try await RawClient.connect(port: live.port, from: "127.0.0.4")
            #expect(try await thirdTCP.closeReason()?.code == .refused)
            // Another source is not affected.
            var (other, _) = try await Self.upgrade(http, from: "127.0.0.5")
            _ = try await other.handshake()
            await tcp.close()
            await web.close()
            await other.close()
        }
    }
}

/// OriginPolicy's rules, without sockets.
@Suite("WebSocket gateway origins")
struct WebSocketOriginTests {
    @Test("same origin is the request's Host; ports default by scheme; case and a trailing slash do not matter")
    func sameOrigin() {
        let policy = OriginPolicy(allowedOrigins: [])
        #expect(policy.allows(origin: "http://example.org", host: "example.org"))
        #expect(policy.allows(origin: "http://example.org", host: "example.org:80"))
        #expect(policy.allows(origin: "https://example.org", host: "example.org:443"))
        #expect(policy.allows(origin: "HTTP://Example.ORG:8080/", host: "example.org:8080"))
        #expect(policy.allows(origin: "http://[::1]:8080", host: "[::1]:8080"))
        #expect(!policy.allows(origin: "http://example.org:8080", host: "example.org"))
        #expect(policy.allows(origin: "https://example.org", host: "example.org"))
        #expect(!policy.allows(origin: "https://example.org", host: "example.org:80"))
        #expect(!policy.allows(origin: "http://evil.example", host: "example.org"))
        #expect(!policy.allows(origin: "http://example.org.evil.example", host: "example.org"))
        #expect(!policy.allows(origin: "null", host: "example.org"))
        #expect(!policy.allows(origin: "http://user@example.org", host: "example.org"))
        #expect(!policy.allows(origin: "http://example.org", host: nil))
    }

    @Test("no Origin (not a browser) is allowed; allowed origins match exactly")
    func allowList() {
        let policy = OriginPolicy(allowedOrigins: ["https://chat.example.org"])
        #expect(policy.allows(origin: nil, host: "gateway.internal:8080"))
        #expect(policy.allows(origin: "https://chat.example.org", host: "gateway.internal:8080"))
        #expect(!policy.allows(origin: "http://chat.example.org", host: "gateway.internal:8080"))
        #expect(!policy.allows(origin: "https://chat.example.org:8443", host: "gateway.internal:8080"))
    }

    @Test("the WebSocket status after the closing frame: 1008 for the client's faults, 1000 otherwise")
    func closeCodes() {
        #expect(WebSocketFrameWriter.closeCode(for: CloseReason(.wrongPassword, "")) == .policyViolation)
        #expect(WebSocketFrameWriter.closeCode(for: CloseReason(.frameTooLarge, "")) == .policyViolation)
        #expect(WebSocketFrameWriter.closeCode(for: CloseReason(.refused, "")) == .policyViolation)
        #expect(WebSocketFrameWriter.closeCode(for: CloseReason(.serverStopping, "")) == .normalClosure)
        #expect(WebSocketFrameWriter.closeCode(for: CloseReason(.normal, "")) == .normalClosure)
        #expect(WebSocketFrameWriter.closeCode(for: CloseReason(.idleTimeout, "")) == .normalClosure)
    }
}
