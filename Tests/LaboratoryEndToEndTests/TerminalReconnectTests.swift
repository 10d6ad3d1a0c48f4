import Foundation
import LaboratoryClient
import LaboratoryTestSupport
import Testing

/// The `laboratory` terminal client on a real terminal (tmux) reconnects after a network cut and
/// after a server restart, shows what it missed once, keeps the line being typed, and ends with
/// the README's exit status when it gives up (PROTOCOL.md §17, *Reconnecting and resuming*).
@Suite("laboratory terminal client reconnects", .timeLimit(.minutes(2)))
struct TerminalReconnectTests {
    static let password = "terminal reconnect password"

    /// A server process on `port` (0: a free one) with state in `stateDirectory`: the same
    /// directory gives the same host key after a restart.
    static func startServer(port: Int, stateDirectory: String, password: String = password) async throws -> (
        ServerProcess, Int
    ) {
        let server = try ServerProcess(
            arguments: ["--port", "\(port)", "--state-dir", stateDirectory, "--name", "Reconnect Test"],
            environment: ["LABORATORY_PASSWORD": password], stateDirectory: stateDirectory, portAndState: false)
        let bound = try #require(await server.value(after: "Listening on 127.0.0.1:").flatMap { Int($0) })
        return (server, bound)
    }

    static func bob(port: Int) async throws -> ClientSession {
        let session = try await ClientSession.connect(
            host: "127.0.0.1", port: port, password: password, name: "bob", trust: .acceptAnyKey)
        _ = try await session.chat(.join(room: "lobby", after: nil))
        return session
    }

    @Test(
        "a cut and a restart: one line each, the missed messages once, the typed line kept; a changed password exits 77"
    )
    func reconnects() async throws {
        guard let executable = TmuxServer.locate() else {
            Issue.record("tmux is not installed; this test drives the client on a real terminal and needs it")
            return
        }
        let state = FileManager.default.temporaryDirectory.appendingPathComponent("laboratory-test-\(UUID())").path
        defer { try? FileManager.default.removeItem(atPath: state) }
        var (server, port) = try await Self.startServer(port: 0, stateDirectory: state)
        // A stopped server's object removes the state directory when it goes: keep them all.
        var servers = [server]
        let proxy = try await CuttableProxy(upstreamPort: port)
        let tmux = TmuxServer(executable: executable)
        defer { tmux.kill() }
        let home = try ClientHome()
        try await tmux.start(
            "ada", arguments: ["connect", "127.0.0.1:\(proxy.port)", "--name", "ada", "--accept-new"],
            environment: home.environment.merging(["LABORATORY_PASSWORD": Self.password]) { $1 })
        try #require(await tmux.waitFor("ada", "Connected to Reconnect Test"))
        try tmux.type("ada", "/join lobby")
        try #require(await tmux.waitFor("ada", "joined lobby; members: ada"))
        var bob = try await Self.bob(port: port)
        _ = try await bob.chat(.say(room: "lobby", text: "before the cut"))
        try #require(await tmux.waitFor("ada", "[lobby] bob: before the cut"))
        try tmux.type("ada", "half typed", enter: false)

        // The network fails and stays down while bob talks.
        proxy.refusesConnections = true
        proxy.cutAll()
        try #require(await tmux.waitFor("ada", "connection lost; reconnecting in "))
        for number in 1...3 { _ = try await bob.chat(.say(room: "lobby", text: "during \(number)")) }
        try #require(await tmux.waitFor("ada", "could not reconnect ("))
        proxy.refusesConnections = false
        try #require(await tmux.waitFor("ada", "reconnected; 3 missed messages"))
        var screen = try tmux.screen("ada")
        for number in 1...3 {
            #expect(screen.filter { $0 == "[lobby] bob: during \(number)" }.count == 1, "\(screen)")
        }
        #expect(screen.filter { $0 == "[lobby] bob: before the cut" }.count == 1)
        // The missed lines come before the notice, and the line being typed is still there.
        let notice = try #require(screen.firstIndex { $0.hasPrefix("reconnected; ") })
        #expect(try #require(screen.firstIndex { $0 == "[lobby] bob: during 3" }) < notice)
        #expect(screen.last == "lobby> half typed")
        try tmux.press("ada", "C-u")
        try tmux.type("ada", "back again")
        try #require(await tmux.waitFor("ada", "[lobby] ada: back again"))
        await bob.close()

        // The server restarts on the same port with the same state (so the same key).
        server.interrupt()
        #expect(await server.waitForExit().status == 0)
        try #require(await tmux.waitFor("ada", "connection lost (the server is shutting down"))
        (server, _) = try await Self.startServer(port: port, stateDirectory: state)
        servers.append(server)
        try #require(
            await tmux.waitFor("ada", "the server restarted: what was said in lobby while you were away may be missing")
        )
        try #require(await tmux.waitFor("ada", "reconnected; "))
        bob = try await Self.bob(port: port)
        _ = try await bob.chat(.say(room: "lobby", text: "second run"))
        try #require(await tmux.waitFor("ada", "[lobby] bob: second run"))
        await bob.close()

        // Restarted with another password: reconnecting cannot succeed; the client says so and
        // exits as the README says for a wrong password.
        server.interrupt()
        #expect(await server.waitForExit().status == 0)
        (server, _) = try await Self.startServer(
            port: port, stateDirectory: state, password: "another password entirely")
        servers.append(server)
        let status = try await tmux.waitForExit("ada", seconds: 60)
        screen = try tmux.screen("ada")
        #expect(status == 77, "\(screen)")
        #expect(screen.contains { $0.hasPrefix("laboratory: wrong password for 127.0.0.1:\(proxy.port)") }, "\(screen)")
        server.interrupt()
        _ = await server.waitForExit()
        await proxy.stop()
        #expect(servers.count == 3)
    }

    @Test("--no-reconnect: a cut ends the session with status 75, as before")
    func noReconnect() async throws {
        guard let executable = TmuxServer.locate() else {
            Issue.record("tmux is not installed; this test drives the client on a real terminal and needs it")
            return
        }
        let state = FileManager.default.temporaryDirectory.appendingPathComponent("laboratory-test-\(UUID())").path
        defer { try? FileManager.default.removeItem(atPath: state) }
        let (server, port) = try await Self.startServer(port: 0, stateDirectory: state)
        let proxy = try await CuttableProxy(upstreamPort: port)
        let tmux = TmuxServer(executable: executable)
        defer { tmux.kill() }
        let home = try ClientHome()
        try await tmux.start(
            "ada",
            arguments: ["connect", "127.0.0.1:\(proxy.port)", "--name", "ada", "--accept-new", "--no-reconnect"],
            environment: home.environment.merging(["LABORATORY_PASSWORD": Self.password]) { $1 })
        try #require(await tmux.waitFor("ada", "Connected to Reconnect Test"))
        proxy.cutAll()
        let status = try await tmux.waitForExit("ada")
        let screen = try tmux.screen("ada")
        #expect(status == 75, "\(screen)")
        #expect(screen.contains("laboratory: the connection closed"), "\(screen)")
        #expect(!screen.contains { $0.contains("reconnecting") })
        #expect(proxy.acceptedConnections == 1)
        server.interrupt()
        _ = await server.waitForExit()
        await proxy.stop()
    }
}
