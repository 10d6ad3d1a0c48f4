import Laboratory
import LaboratoryClient
import LaboratoryHTTP
import LaboratoryTestSupport
import Prometheus
import Testing

@Suite("HTTP metrics", .timeLimit(.minutes(1)))
struct MetricsRoutesTests {
    /// Every family the server reports, with its Prometheus type.
    static let families: [String: String] = [
        "laboratory_connections_opened_total": "counter", "laboratory_connections_open": "gauge",
        "laboratory_connections_refused_total": "counter", "laboratory_handshakes_total": "counter",
        "laboratory_handshake_duration_seconds": "histogram", "laboratory_sessions_open": "gauge",
        "laboratory_sessions_ended_total": "counter", "laboratory_slow_consumer_disconnects_total": "counter",
        "laboratory_requests_total": "counter", "laboratory_request_duration_seconds": "histogram",
        "laboratory_received_bytes_total": "counter", "laboratory_sent_bytes_total": "counter",
        "laboratory_penalties_total": "counter", "laboratory_lockouts_total": "counter",
        "laboratory_transport_key_rotations_total": "counter", "laboratory_chat_rooms": "gauge",
        "laboratory_chat_members": "gauge", "laboratory_chat_deliveries_total": "counter",
    ]

    /// A server whose metrics go to a registry of its own, served by its HTTP listener.
    static func withMetricsServer<T: Sendable>(
        _ tweak: @escaping (inout ServerConfiguration) -> Void = { _ in },
        _ body: (LiveServer, _ httpPort: Int) async throws -> T
    ) async throws -> T {
        let registry = PrometheusCollectorRegistry()
        let http = HTTPListener(configuration: HTTPConfiguration(port: 0, metrics: registry))
        let configure = Tweak {
            $0.metricsFactory = PrometheusMetricsFactory(registry: registry)
            tweak(&$0)
        }
        return try await LiveServer.with(configure, listeners: [http]) { live in
            try await body(live, try #require(http.localAddress?.port))
        }
    }

    static func scrape(_ port: Int) async throws -> PrometheusText {
        let response = try await plainHTTPRequest("/metrics", port: port)
        #expect(response.status == 200)
        #expect(response.header("content-type")?.hasPrefix("text/plain; version=0.0.4") == true)
        return try PrometheusText(parsing: response.body)
    }

    @Test("/metrics parses line by line, and every counter moves as a scripted session runs")
    func scriptedSession() async throws {
        // One wrong password locks the address out (its penalty is well past the threshold), so that
        // the next connection is refused.
        let lockOutAtOnce: (inout ServerConfiguration) -> Void = {
            $0.admission.penalties.wrongPassword = .seconds(120)
            $0.admission.penalties.wrongPasswordDelay = .milliseconds(20)
        }
        try await Self.withMetricsServer(lockOutAtOnce) { live, port in
            let before = try await Self.scrape(port)
            for (family, type) in Self.families { #expect(before.types[family] == type, "\(family)") }
            #expect(before.types.keys.allSatisfy { $0.hasPrefix("laboratory_") })
            #expect(before.value("laboratory_connections_opened_total") == 0)
            #expect(before.value("laboratory_requests_total", ["service": "echo", "status": "ok"]) == 0)
            #expect(before.value("laboratory_received_bytes_total") == 0)

            let ada = try await live.connect(name: "ada")
            #expect(try await ada.request(service: "echo", body: Array("hello".utf8)) == Array("hello".utf8))
            await #expect(throws: (any Error).self) { try await ada.request(service: "nope", body: []) }
            var adaEvents = ChatEventReader(ada)
            _ = try await ada.chat(.join(room: "lobby", after: nil))
            let bob = try await live.connect(name: "bob")
            _ = try await bob.chat(.join(room: "lobby", after: nil))
            _ = try await ada.chat(.say(room: "lobby", text: "hello, bob"))
            await bob.close()
            // Bob's end is counted before the chat service hears of it and tells Ada: once she has
            // the `left` event, his session's metrics have moved.
            let left = await adaEvents.collect(1) { $0.kind == .left && $0.name == "bob" }
            #expect(left.count == 1)
            await #expect(throws: ClientError.self) {
                try await ClientSession.connect(
                    host: "127.0.0.1", port: live.port, password: "not the password", name: "eve",
                    trust: .pinned(fingerprint: live.fingerprint))
            }
            // The wrong password locked 127.0.0.1 out: the next connection is refused at accept.
            await #expect(throws: ClientError.self) { try await live.connect(name: "cy") }

            let after = try await Self.scrape(port)
            #expect(after.value("laboratory_connections_opened_total") == 3)
            #expect(after.value("laboratory_connections_refused_total", ["reason": "locked_out"]) == 1)
            #expect(after.value("laboratory_handshakes_total", ["outcome": "accepted"]) == 2)
            #expect(after.value("laboratory_handshakes_total", ["outcome": "wrong_password"]) == 1)
            #expect(after.value("laboratory_handshake_duration_seconds_count", ["outcome": "accepted"]) == 2)
            #expect(
                after.value("laboratory_handshake_duration_seconds_bucket", ["outcome": "accepted", "le": "+Inf"]) == 2)
            #expect((after.value("laboratory_handshake_duration_seconds_sum", ["outcome": "accepted"]) ?? 0) > 0)
            #expect(after.value("laboratory_sessions_open") == 1)
            #expect(after.value("laboratory_sessions_ended_total", ["reason": "normal"]) == 1)
            #expect(after.value("laboratory_requests_total", ["service": "echo", "status": "ok"]) == 1)
            #expect(after.value("laboratory_requests_total", ["service": "chat", "status": "ok"]) == 3)
            #expect(
                after.value("laboratory_requests_total", ["service": "(unknown)", "status": "unknown_service"]) == 1)
            #expect(after.value("laboratory_request_duration_seconds_count", ["service": "echo"]) == 1)
            #expect(after.value("laboratory_request_duration_seconds_count", ["service": "chat"]) == 3)
            // Ada's message reached both members of the room.
            #expect(after.value("laboratory_chat_deliveries_total") == 2)
            #expect(after.value("laboratory_chat_rooms") == 1)
            #expect(after.value("laboratory_chat_members") == 1)
            #expect(after.value("laboratory_penalties_total", ["reason": "wrong_password"]) == 1)
            #expect(after.value("laboratory_lockouts_total") == 1)
            #expect(after.value("laboratory_slow_consumer_disconnects_total") == 0)
            #expect(after.value("laboratory_transport_key_rotations_total") == 0)
            // Three handshakes and a session's traffic, each way: well over a kilobyte.
            #expect((after.value("laboratory_received_bytes_total") ?? 0) > 1000)
            #expect((after.value("laboratory_sent_bytes_total") ?? 0) > 1000)
            // Bob's and Eve's sockets may still be closing; Ada's is open.
            let open = after.value("laboratory_connections_open") ?? 0
            #expect((1...3).contains(open))
            await ada.close()
        }
    }

    @Test("client text never becomes a label value: unknown service names add no series")
    func clientsCannotGrowTheSeries() async throws {
        try await Self.withMetricsServer { live, port in
            let session = try await live.connect()
            _ = try await session.request(service: "echo", body: [0])
            let before = try await Self.scrape(port)
            for index in 0..<50 {
                await #expect(throws: (any Error).self) {
                    try await session.request(service: "made-up-\(index)\"} x{", body: [])
                }
            }
            let after = try await Self.scrape(port)
            #expect(after.samples.count == before.samples.count)
            #expect(after.samples.allSatisfy { sample in !sample.labels.values.contains { $0.contains("made-up") } })
            #expect(
                after.value("laboratory_requests_total", ["service": "(unknown)", "status": "unknown_service"]) == 50)
            await session.close()
        }
    }

    @Test("a transport-key rotation is counted")
    func keyRotationCounted() async throws {
        let smallBudget: (inout ServerConfiguration) -> Void = { $0.transportKeys.maximumHandshakes = 2 }
        try await Self.withMetricsServer(smallBudget) { live, port in
            #expect(try await Self.scrape(port).value("laboratory_transport_key_rotations_total") == 0)
            for _ in 0..<2 { try await live.connect().close() }
            // The rotation task notices a spent budget within a second: it cannot be awaited from
            // outside, so the scrape is repeated until it shows (or the deadline passes).
            let deadline = ContinuousClock.now + .seconds(30)
            var rotations = try await Self.scrape(port).value("laboratory_transport_key_rotations_total")
            while rotations == 0, ContinuousClock.now < deadline {
                try await Task.sleep(for: .milliseconds(100))
                rotations = try await Self.scrape(port).value("laboratory_transport_key_rotations_total")
            }
            #expect(rotations == 1)
        }
    }

    @Test("two servers in one process report to their own registries")
    func separateRegistries() async throws {
        try await Self.withMetricsServer { first, firstPort in
            try await Self.withMetricsServer { second, secondPort in
                let session = try await first.connect()
                await session.close()
                #expect(try await Self.scrape(firstPort).value("laboratory_connections_opened_total") == 1)
                #expect(try await Self.scrape(secondPort).value("laboratory_connections_opened_total") == 0)
                _ = second
            }
        }
    }

    @Test("the strict parser refuses what is not exposition format")
    func parserIsStrict() throws {
        let valid = """
            # HELP a_total Things, with a \\\\ backslash.
            # TYPE a_total counter
            a_total{x="1",y="q\\"uote\\n"} 3
            # TYPE h histogram
            h_bucket{le="0.5"} 1
            h_bucket{le="+Inf"} 2
            h_sum 0.75
            h_count 2

            """
        let parsed = try PrometheusText(parsing: valid)
        #expect(parsed.value("a_total", ["y": "q\"uote\n"]) == 3)
        #expect(parsed.value("h_count") == 2)
        let invalid = [
            "a_total 1\n",  // no TYPE line
            "# TYPE a_total counter\na_total one\n",  // not a number
            "# TYPE a_total counter\na_total{x=\"1\" 1\n",  // unclosed labels
            "# TYPE a_total counter\na_total{1x=\"1\"} 1\n",  // bad label name
            "# TYPE a_total counter\na_total{x=\"\\q\"} 1\n",  // bad escape
            "# TYPE a_total counter\na_total 1\na_total 2\n",  // repeated series
            "# TYPE a_total counter\n# TYPE a_total counter\n",  // repeated TYPE
            "# TYPE a_total countr\n",  // unknown type
            "# a comment\n",  // neither HELP nor TYPE
            "# TYPE a_total counter\n\na_total 1\n",  // empty line
            "# TYPE h histogram\nh_bucket 1\n",  // bucket without le
            "# TYPE a_total counter\na_total 1",  // no final line feed
            "# TYPE 9a counter\n",  // bad metric name
        ]
        for text in invalid {
            #expect(throws: PrometheusText.Invalid.self, "\(text.debugDescription)") {
                try PrometheusText(parsing: text)
            }
        }
    }
}
