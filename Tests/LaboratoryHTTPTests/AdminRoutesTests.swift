import Foundation
import Laboratory
import LaboratoryClient
import LaboratoryHTTP
@_spi(Benchmarks) import LaboratoryProtocol
import LaboratoryTestSupport
import NIOConcurrencyHelpers
import Testing

/// The admin API over a real socket, against a real server with real TCP sessions.
@Suite("HTTP admin API", .timeLimit(.minutes(2)))
struct AdminRoutesTests {
    static let token = "test-admin-token-0123456789abcdef"
    static let bearer = [("Authorization", "Bearer \(token)")]

    /// Runs `body` with a live server whose HTTP listener serves the admin API with `admin`'s hooks.
    static func withAdmin<T: Sendable>(
        _ tweak: Tweak = Tweak { _ in },
        onReload: (@Sendable () async throws -> Void)? = nil, onDrain: (@Sendable () async -> Void)? = nil,
        run body: (LiveServer, Int) async throws -> T
    ) async throws -> T {
        var configuration = HTTPConfiguration(port: 0)
        configuration.admin = AdminConfiguration(token: token, onReload: onReload, onDrain: onDrain)
        let http = HTTPListener(configuration: configuration)
        return try await LiveServer.with(tweak, listeners: [http]) { live in
            try await body(live, try #require(http.localAddress?.port))
        }
    }

    static func json(_ response: PlainHTTPResponse) throws -> [String: Any] {
        try #require(JSONSerialization.jsonObject(with: Data(response.body.utf8)) as? [String: Any])
    }

    static func join(_ session: ClientSession, _ room: String) async throws {
        _ = try await session.request(service: "chat", body: Array(#"{"op":"join","room":"\#(room)"}"#.utf8))
    }

    @Test("sessions and rooms list the real sessions: ids, names, addresses, rooms, byte counts")
    func listing() async throws {
        try await Self.withAdmin { live, port in
            let ada = try await live.connect(name: "ada")
            let bob = try await live.connect(name: "bob")
            try await Self.join(ada, "lobby")
            try await Self.join(bob, "lobby")
            try await Self.join(bob, "kitchen")

            let response = try await plainHTTPRequest("/admin/sessions", port: port, headers: Self.bearer)
            #expect(response.status == 200)
            #expect(response.header("content-type") == "application/json")
            let sessions = try #require(try Self.json(response)["sessions"] as? [[String: Any]])
            #expect(sessions.count == 2)
            let byName = Dictionary(uniqueKeysWithValues: sessions.map { ($0["name"] as? String ?? "", $0) })
            let adaEntry = try #require(byName["ada"])
            let bobEntry = try #require(byName["bob"])
            #expect(adaEntry["id"] as? Int == Int(ada.acceptance.connectionID))
            #expect(bobEntry["id"] as? Int == Int(bob.acceptance.connectionID))
            #expect(adaEntry["rooms"] as? [String] == ["lobby"])
            #expect(bobEntry["rooms"] as? [String] == ["kitchen", "lobby"])
            #expect((adaEntry["address"] as? String)?.hasPrefix("127.0.0.1:") == true)
            // The handshake and the join went both ways: both counters are well past zero.
            #expect((adaEntry["bytes_in"] as? Int ?? 0) > 300)
            #expect((adaEntry["bytes_out"] as? Int ?? 0) > 300)
            let since = try #require(adaEntry["since"] as? String)
            let accepted = try #require(try? Date(since, strategy: .iso8601))
            #expect(abs(accepted.timeIntervalSinceNow) < 120)

            let rooms = try await plainHTTPRequest("/admin/rooms", port: port, headers: Self.bearer)
            #expect(rooms.status == 200)
            let list = try #require(try Self.json(rooms)["rooms"] as? [[String: Any]])
            #expect(list.map { $0["name"] as? String } == ["kitchen", "lobby"])
            let lobby = try #require(list.last?["members"] as? [[String: Any]])
            #expect(Set(lobby.compactMap { $0["name"] as? String }) == ["ada", "bob"])

            // A session that leaves leaves the list.
            await ada.close()
            var remaining: [[String: Any]] = []
            for _ in 0..<100 {
                let again = try await plainHTTPRequest("/admin/sessions", port: port, headers: Self.bearer)
                remaining = try #require(try Self.json(again)["sessions"] as? [[String: Any]])
                if remaining.count == 1 { break }
                try await Task.sleep(for: .milliseconds(20))
            }
            #expect(remaining.map { $0["name"] as? String } == ["bob"])
            await bob.close()
        }
    }

    @Test("kick closes exactly that session with code 17 and the operator's reason; others go on")
    func kick() async throws {
        try await Self.withAdmin { live, port in
            let target = try await live.connect(name: "target")
            let bystander = try await live.connect(name: "bystander")
            let id = target.acceptance.connectionID
            let response = try await plainHTTPRequest(
                "/admin/sessions/\(id)/kick", method: "POST", port: port, headers: Self.bearer,
                body: #"{"reason":"spamming the lobby"}"#)
            #expect(response.status == 200)
            #expect(try Self.json(response)["kicked"] as? Int == Int(id))

            var closeReason: CloseReason?
            for await event in target.events {
                if case .closed(let reason) = event { closeReason = reason }
            }
            #expect(closeReason == CloseReason(.kicked, "spamming the lobby"))
            #expect(CloseReason.Code.kicked.rawValue == 17)
            #expect(try await bystander.request(service: "echo", body: [7]) == [7])

            let unknown = try await plainHTTPRequest(
                "/admin/sessions/\(id + 1000)/kick", method: "POST", port: port, headers: Self.bearer, body: "{}")
            #expect(unknown.status == 404)
            #expect(try Self.json(unknown)["error"] as? String == "no session \(id + 1000)")
            await bystander.close()
        }
    }

    @Test("malformed bodies are 400 with a JSON error; nothing is changed")
    func malformed() async throws {
        try await Self.withAdmin { live, port in
            for body in [
                "{", #"{"address": 7, "seconds": 10}"#, #"{"address":"not-an-address","seconds":10}"#,
                #"{"address":"127.0.0.9","seconds":-1}"#, "", #"{"address":"","seconds":10}"#,
            ] {
                let response = try await plainHTTPRequest(
                    "/admin/bans", method: "POST", port: port, headers: Self.bearer, body: body)
                #expect(response.status == 400, "\(body)")
                #expect(try Self.json(response)["error"] is String)
            }
            let bans = try await plainHTTPRequest("/admin/bans", port: port, headers: Self.bearer)
            #expect(try Self.json(bans)["bans"] as? [Any] != nil)
            #expect((try Self.json(bans)["bans"] as? [Any])?.isEmpty == true)
            let kick = try await plainHTTPRequest(
                "/admin/sessions/abc/kick", method: "POST", port: port, headers: Self.bearer, body: "{}")
            #expect(kick.status == 400)
            _ = live
        }
    }

    @Test("a ban refuses new TCP connections from that address and its block, not others', and expires")
    func ban() async throws {
        try await Self.withAdmin { live, port in
            let banned = AttackSource.network(block: 21, 0)  // 127.21.0.2
            let sameBlock = "127.21.0.77"
            let elsewhere = AttackSource.network(block: 22, 0)
            let before = try await live.connect(name: "before")
            let response = try await plainHTTPRequest(
                "/admin/bans", method: "POST", port: port, headers: Self.bearer,
                body: #"{"address":"127.21.0.0/24","seconds":2}"#)
            #expect(response.status == 201)

            for source in [banned, sameBlock] {
                var raw = try await RawClient.connect(port: live.port, from: source)
                let reason = try await raw.closeReason()
                #expect(reason?.code == .refused)
                #expect(reason?.message.contains("banned") == true)
            }
            var other = try await RawClient.connect(port: live.port, from: elsewhere)
            #expect(try await other.handshake(name: "elsewhere").connectionID > 0)
            await other.close()
            // Sessions already open are not touched by a ban.
            #expect(try await before.request(service: "echo", body: [1]) == [1])

            let list = try await plainHTTPRequest("/admin/bans", port: port, headers: Self.bearer)
            let bans = try #require(try Self.json(list)["bans"] as? [[String: Any]])
            #expect(bans.first?["address"] as? String == "127.21.0.0/24")

            // It expires: within a few seconds of its end the address is let in again.
            let deadline = ContinuousClock.now + .seconds(20)
            var admitted = false
            while !admitted, ContinuousClock.now < deadline {
                var raw = try await RawClient.connect(port: live.port, from: banned)
                if (try? await raw.handshake(name: "after")) != nil { admitted = true }
                await raw.close()
                if !admitted { try await Task.sleep(for: .milliseconds(250)) }
            }
            #expect(admitted)
            await before.close()
        }
    }

    @Test("no token or a wrong one is 401; repeated wrong tokens lock the source out (429, Retry-After)")
    func tokenGuessing() async throws {
        try await Self.withAdmin { live, port in
            let missing = try await plainHTTPRequest("/admin/sessions", port: port)
            #expect(missing.status == 401)
            #expect(missing.header("www-authenticate")?.hasPrefix("Bearer") == true)
            #expect(try Self.json(missing)["error"] is String)
            let guesser = AttackSource.network(block: 23, 0)
            var lockedAfter: Int?
            for attempt in 1...8 {
                let response = try await plainHTTPRequest(
                    "/admin/sessions", port: port, headers: [("Authorization", "Bearer guess-\(attempt)")],
                    from: guesser)
                if response.status == 429 {
                    lockedAfter = attempt - 1
                    let retryAfter = try #require(response.header("retry-after").flatMap(Int.init))
                    #expect((1...600).contains(retryAfter))
                    break
                }
                #expect(response.status == 401)
                #expect(try Self.json(response)["error"] as? String == "wrong token")
            }
            // 5 s of penalty each against a 15 s threshold, decaying meanwhile: the fourth guess
            // or a little later.
            let failures = try #require(lockedAfter)
            #expect((3...7).contains(failures))
            // Now even the right token is refused from there, and TCP is refused from there too.
            let right = try await plainHTTPRequest("/admin/sessions", port: port, headers: Self.bearer, from: guesser)
            #expect(right.status == 429)
            var raw = try await RawClient.connect(port: live.port, from: guesser)
            #expect(try await raw.closeReason()?.code == .refused)
            // Others are unaffected.
            let honest = try await plainHTTPRequest("/admin/sessions", port: port, headers: Self.bearer)
            #expect(honest.status == 200)
            // A banned address gets 403, with Retry-After.
            let banned = AttackSource.network(block: 24, 0)
            _ = try await plainHTTPRequest(
                "/admin/bans", method: "POST", port: port, headers: Self.bearer,
                body: #"{"address":"\#(banned)","seconds":60}"#)
            let refused = try await plainHTTPRequest("/admin/sessions", port: port, headers: Self.bearer, from: banned)
            #expect(refused.status == 403)
            #expect(refused.header("retry-after").flatMap(Int.init).map { (55...60).contains($0) } == true)
        }
    }

    @Test("the token is compared in constant time: hashed first, so neither content nor length shows")
    func constantTimeComparison() async throws {
        // The gate compares SHA-256 digests with LaboratoryCrypto's constant-time compare; this
        // checks the behaviour that relies on (equal only for the exact token), and the timing
        // itself is LaboratoryCryptoTests' (RandomAndCompareTests).
        try await Self.withAdmin(Tweak { $0.admission.penalties.isEnabled = false }) { _, port in
            for wrong in [String(Self.token.dropLast()), Self.token + "x", Self.token.uppercased(), "", "Bearer"] {
                let response = try await plainHTTPRequest(
                    "/admin/rooms", port: port, headers: [("Authorization", "Bearer \(wrong)")])
                #expect(response.status == 401, "\(wrong)")
            }
            let basicScheme = try await plainHTTPRequest(
                "/admin/rooms", port: port, headers: [("Authorization", "Basic \(Self.token)")])
            #expect(basicScheme.status == 401)
            let schemeInLowerCase = try await plainHTTPRequest(
                "/admin/rooms", port: port, headers: [("Authorization", "bearer \(Self.token)")])
            #expect(schemeInLowerCase.status == 200)
        }
    }

    @Test("reload and drain call the embedder's hooks; without hooks they are 501")
    func hooks() async throws {
        let reloads = NIOLockedValueBox(0)
        let (drained, drain) = AsyncStream.makeStream(of: Void.self)
        try await Self.withAdmin(
            onReload: { reloads.withLockedValue { $0 += 1 } },
            onDrain: {
                drain.yield()
                drain.finish()
            },
            run: { _, port in
                let reload = try await plainHTTPRequest(
                    "/admin/reload", method: "POST", port: port, headers: Self.bearer)
                #expect(reload.status == 200)
                #expect(reloads.withLockedValue { $0 } == 1)
                let response = try await plainHTTPRequest(
                    "/admin/drain", method: "POST", port: port, headers: Self.bearer)
                #expect(response.status == 202)
                var iterator = drained.makeAsyncIterator()
                #expect(await iterator.next() != nil)
                // Unauthenticated, nothing is called.
                let guess = try await plainHTTPRequest("/admin/reload", method: "POST", port: port)
                #expect(guess.status == 401)
                #expect(reloads.withLockedValue { $0 } == 1)
            })
        struct Failing: Error, CustomStringConvertible { var description: String { "bad line 3" } }
        try await Self.withAdmin(
            onReload: { throw Failing() },
            run: { _, port in
                let reload = try await plainHTTPRequest(
                    "/admin/reload", method: "POST", port: port, headers: Self.bearer)
                #expect(reload.status == 500)
                #expect(try Self.json(reload)["error"] as? String == "the reload failed: bad line 3")
                let drain = try await plainHTTPRequest("/admin/drain", method: "POST", port: port, headers: Self.bearer)
                #expect(drain.status == 501)
            })
    }

    @Test("without an admin configuration nothing answers under /admin")
    func offByDefault() async throws {
        let http = HTTPListener(configuration: HTTPConfiguration(port: 0))
        try await LiveServer.with(listeners: [http]) { _ in
            let port = try #require(http.localAddress?.port)
            #expect(try await plainHTTPRequest("/admin/sessions", port: port, headers: Self.bearer).status == 404)
        }
    }

    @Test("the token file is created with mode 0600, kept across starts, and strong")
    func tokenFile() throws {
        let path = FileManager.default.temporaryDirectory.appendingPathComponent("admin-token-\(UUID().uuidString)")
            .path
        defer { try? FileManager.default.removeItem(atPath: path) }
        let state = StateDirectory(path: path)
        let (token, created) = try state.loadOrCreateAdminToken()
        #expect(created)
        #expect(token.count == 43)  // 32 random bytes, base64url without padding
        #expect(token.allSatisfy { $0.isLetter || $0.isNumber || $0 == "-" || $0 == "_" })
        let attributes = try FileManager.default.attributesOfItem(atPath: state.adminTokenPath)
        #expect((attributes[.posixPermissions] as? Int) == 0o600)
        let again = try state.loadOrCreateAdminToken()
        #expect(again.token == token)
        #expect(!again.created)
        // A weak token written by hand is refused with the file's name, not used.
        try Data("short\n".utf8).write(to: URL(fileURLWithPath: state.adminTokenPath))
        let error = try #require(throws: StateFileError.self) { try state.loadOrCreateAdminToken() }
        #expect(error.description.contains("shorter than 16 characters"))
        let other = StateDirectory(path: path + "-other")
        defer { try? FileManager.default.removeItem(atPath: path + "-other") }
        #expect(try other.loadOrCreateAdminToken().token != token)
    }
}
