import Foundation
import Testing

/// The `laboratory` client, as a real process against a real `laboratory-server`, told why it was
/// refused: a locked-out address for how long, a rejected name why (and on a terminal, asked again).
extension TerminalClientTests {
    @Test("a locked-out address is told for how long, in one line, with EX_TEMPFAIL")
    func lockoutDuration() async throws {
        let (server, address, _) = try await startServer()
        let home = try ClientHome()
        // Wrong passwords (5 s of penalty each, plus the time held) until the address is refused.
        var last: ClientProcess.Result?
        for _ in 0..<8 {
            let result = try await ClientProcess.run(
                ["echo", address, "hi", "--accept-new"], home: home, password: "not the password")
            last = result
            if result.status != 77 { break }
        }
        let refused = try #require(last)
        let lines = refused.stderr.split(separator: "\n")
        #expect(refused.status == 75, "\(refused.stderr)")
        #expect(lines.count == 1, "\(refused.stderr)")
        #expect(
            refused.stderr.hasPrefix(
                "laboratory: the server at \(address) refused the connection: this address is locked out for "),
            "\(refused.stderr)")
        server.interrupt()
        #expect(await server.waitForExit().status == 0)
    }

    @Test("piped, a rejected name is one line with EX_DATAERR; on a terminal the client asks for another")
    func nameRetry() async throws {
        let (server, address, _) = try await startServer()
        let home = try ClientHome()
        let piped = try await ClientProcess.run(
            ["connect", address, "--name", " ada", "--accept-new"], home: home, password: Self.password,
            input: "/quit\n")
        #expect(piped.status == 65, "\(piped.stderr)")
        #expect(
            piped.stderr
                == "laboratory: the server at \(address) rejected the name: display name starts or ends with "
                + "whitespace; choose another with --name\n")

        guard let executable = TmuxServer.locate() else {
            Issue.record("tmux is not installed; this test drives the client on a real terminal and needs it")
            return
        }
        let tmux = TmuxServer(executable: executable)
        defer { tmux.kill() }
        try await tmux.start(
            "ada", arguments: ["connect", address, "--name", " ada"],
            environment: home.environment.merging(["LABORATORY_PASSWORD": Self.password]) { $1 })
        try #require(await tmux.waitFor("ada", "Another name (2 more tries; empty to give up):"))
        #expect(try tmux.screen("ada").contains { $0.contains("starts or ends with whitespace") })
        try tmux.type("ada", "ada")
        try #require(await tmux.waitFor("ada", "Connected to Terminal Test at \(address) as ada (#"))
        try tmux.type("ada", "/quit")
        #expect(try await tmux.waitForExit("ada") == 0)
        // The accepted name is the one remembered.
        let settings = try String(contentsOfFile: home.configDirectory + "/last.json", encoding: .utf8)
        #expect(settings.contains("\"ada\"") && !settings.contains("\" ada\""))
        server.interrupt()
        #expect(await server.waitForExit().status == 0)
    }
}
