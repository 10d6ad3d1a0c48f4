import Foundation
import LaboratoryClient
import Testing

/// `laboratory admin …` run as a real process against a real `laboratory-server --http-port 0`.
@Suite("laboratory admin against laboratory-server", .timeLimit(.minutes(2)))
struct AdminCommandTests {
    static let password = "admin command test password"

    @Test(
        "sessions and rooms print tables and JSON; kick reaches the session; errors are one line and a status; drain stops the server"
    )
    func adminCommands() async throws {
        let server = try ServerProcess(
            arguments: ["--http-port", "0"], environment: ["LABORATORY_PASSWORD": Self.password])
        let fingerprint = try #require(await server.value(after: "Host key fingerprint: "))
        let httpPort = try #require(await server.value(after: "HTTP listening on 127.0.0.1:").flatMap { Int($0) })
        let port = try #require(await server.value(after: "Listening on 127.0.0.1:").flatMap { Int($0) })
        let tokenFile = server.stateDirectory + "/admin_token"
        let mode = try FileManager.default.attributesOfItem(atPath: tokenFile)[.posixPermissions] as? Int
        #expect(mode == 0o600)
        let url = "http://127.0.0.1:\(httpPort)"
        let home = try ClientHome()
        func admin(_ arguments: [String], token: String? = tokenFile) async throws -> ClientProcess.Result {
            let tokenArguments = token.map { ["--token-file", $0] } ?? []
            return try await ClientProcess.run(
                ["admin"] + arguments + ["--url", url] + tokenArguments, home: home, password: nil)
        }

        let ada = try await ClientSession.connect(
            host: "127.0.0.1", port: port, password: Self.password, name: "ada",
            trust: .pinned(fingerprint: fingerprint))
        _ = try await ada.request(service: "chat", body: Array(#"{"op":"join","room":"lobby"}"#.utf8))

        let table = try await admin(["sessions"])
        #expect(table.status == 0, "\(table.stderr)")
        let lines = table.stdout.split(separator: "\n")
        #expect(lines.first?.hasPrefix("ID  NAME  ADDRESS") == true, "\(table.stdout)")
        #expect(lines.count == 2)
        #expect(lines.last?.contains(" ada ") == true && lines.last?.contains("lobby") == true, "\(table.stdout)")

        let json = try await admin(["sessions", "--json"])
        #expect(json.status == 0)
        let object = try #require(try JSONSerialization.jsonObject(with: Data(json.stdout.utf8)) as? [String: Any])
        let sessions = try #require(object["sessions"] as? [[String: Any]])
        #expect(sessions.map { $0["name"] as? String } == ["ada"])
        #expect(sessions.first?["id"] as? Int == Int(ada.acceptance.connectionID))

        let rooms = try await admin(["rooms"])
        #expect(rooms.status == 0)
        #expect(rooms.stdout.contains("lobby") && rooms.stdout.contains("ada (\(ada.acceptance.connectionID))"))

        // Errors: one line on stderr and README's statuses.
        let wrongToken = try await admin(["sessions"], token: try writeTemporary("wrong-token-that-is-long-enough"))
        #expect(wrongToken.status == 77)
        #expect(wrongToken.stderr.hasPrefix("laboratory: \(url): wrong token"))
        #expect(wrongToken.stderr.split(separator: "\n").count == 1)
        // The token's precedence, the password's: --token-file beats LABORATORY_ADMIN_TOKEN.
        let token = try String(contentsOfFile: tokenFile, encoding: .utf8)
            .trimmingCharacters(in: .whitespacesAndNewlines)
        let fromEnvironment = try await ClientProcess.run(
            ["admin", "rooms", "--url", url], home: home, password: nil, environment: ["LABORATORY_ADMIN_TOKEN": token])
        #expect(fromEnvironment.status == 0, "\(fromEnvironment.stderr)")
        let flagWins = try await ClientProcess.run(
            ["admin", "rooms", "--url", url, "--token-file", tokenFile], home: home, password: nil,
            environment: ["LABORATORY_ADMIN_TOKEN": "a-wrong-token-in-the-environment"])
        #expect(flagWins.status == 0, "\(flagWins.stderr)")
        let missingFile = try await admin(["sessions"], token: "/nonexistent/admin_token")
        #expect(missingFile.status == 66)
        let unknown = try await admin(["kick", "999999", "--reason", "no one"])
        #expect(unknown.status == 66)
        #expect(unknown.stderr == "laboratory: \(url): no session 999999\n")
        let badBan = try await admin(["ban", "not-an-address", "--for", "10m"])
        #expect(badBan.status == 65)
        let badDuration = try await admin(["ban", "192.0.2.1", "--for", "forever"])
        #expect(badDuration.status == 64)
        let ban = try await admin(["ban", "192.0.2.0/24", "--for", "2h"])
        #expect(ban.status == 0)
        #expect(ban.stdout == "Banned 192.0.2.0/24 for 2h\n")
        let bans = try await admin(["bans"])
        #expect(bans.status == 0)
        #expect(bans.stdout.hasPrefix("ADDRESS        LEFT\n192.0.2.0/24  7"), "\(bans.stdout)")
        let reload = try await admin(["reload"])
        // What SIGHUP does: the configuration is reread, the session stays (the kick below reaches it).
        #expect(reload.status == 0, "\(reload.stderr)")
        #expect(reload.stdout.contains("reloaded"), "\(reload.stdout)")

        let kick = try await admin(["kick", "\(ada.acceptance.connectionID)", "--reason", "closing time"])
        #expect(kick.status == 0, "\(kick.stderr)")
        var reason: CloseReason?
        for await event in ada.events {
            if case .closed(let closed) = event { reason = closed }
        }
        #expect(reason == CloseReason(.kicked, "closing time"))

        let drain = try await admin(["drain"])
        #expect(drain.status == 0)
        let exit = await server.waitForExit()
        #expect(exit.status == 0)

        let gone = try await admin(["sessions"])
        #expect(gone.status == 69)
        #expect(gone.stderr.contains("refused the connection"))
    }

    private func writeTemporary(_ text: String) throws -> String {
        let path = FileManager.default.temporaryDirectory.appendingPathComponent("token-\(UUID().uuidString)").path
        try Data((text + "\n").utf8).write(to: URL(fileURLWithPath: path))
        chmod(path, 0o600)
        return path
    }
}
