import Foundation
import LaboratoryClient
import Testing

/// The `laboratory` terminal client, run as a real process against a real `laboratory-server`.
@Suite("laboratory terminal client", .timeLimit(.minutes(2)))
struct TerminalClientTests {
    static let password = "terminal client password"

    /// A server on a free port; returns it with its address and key fingerprint.
    func startServer(arguments: [String] = []) async throws -> (
        server: ServerProcess, address: String, fingerprint: String
    ) {
        let server = try ServerProcess(
            arguments: ["--name", "Terminal Test"] + arguments, environment: ["LABORATORY_PASSWORD": Self.password])
        let fingerprint = try #require(await server.value(after: "Host key fingerprint: "))
        let port = try #require(await server.value(after: "Listening on 127.0.0.1:").flatMap { Int($0) })
        return (server, "127.0.0.1:\(port)", fingerprint)
    }

    @Test("an IPv6 server is written [::1]:PORT in the known-hosts file, which the Swift library reads back")
    func ipv6KnownHosts() async throws {
        let server = try ServerProcess(
            arguments: ["--host", "::1"], environment: ["LABORATORY_PASSWORD": Self.password])
        let fingerprint = try #require(await server.value(after: "Host key fingerprint: "))
        let port = try #require(await server.value(after: "Listening on ::1:").flatMap { Int($0) })
        let home = try ClientHome()
        let run = try await ClientProcess.run(
            ["echo", "[::1]:\(port)", "over six", "--accept-new"], home: home, password: Self.password)
        #expect(run.status == 0, "\(run.stderr)")
        #expect(run.stdout == "over six\n")
        let knownHosts = try String(contentsOfFile: home.knownHostsPath, encoding: .utf8)
        #expect(knownHosts == "[::1]:\(port) \(fingerprint)\n")
        #expect(try KnownHostsFile(path: home.knownHostsPath).fingerprint(for: "[::1]:\(port)") == fingerprint)
        // The second run finds the entry: no question, no notice, no new line.
        let again = try await ClientProcess.run(
            ["echo", "[::1]:\(port)", "again"], home: home, password: Self.password)
        #expect(again.status == 0 && again.stdout == "again\n" && again.stderr.isEmpty, "\(again.stderr)")
        #expect(try String(contentsOfFile: home.knownHostsPath, encoding: .utf8) == knownHosts)
        server.interrupt()
        _ = await server.waitForExit()
    }

    @Test("echo prints the reply; the key is recorded, then required; pins, changed keys and passwords are checked")
    func echo() async throws {
        let (server, address, fingerprint) = try await startServer()
        let home = try ClientHome()

        // A key never seen, no --accept-new and no terminal to ask on: refused, nothing recorded.
        let unknown = try await ClientProcess.run(["echo", address, "hello"], home: home, password: Self.password)
        #expect(unknown.status == 65)
        #expect(unknown.stderr.hasPrefix("laboratory: unknown server key \(fingerprint)"))
        #expect(!FileManager.default.fileExists(atPath: home.knownHostsPath))

        let first = try await ClientProcess.run(
            ["echo", address, "hello", "--accept-new"], home: home, password: Self.password)
        #expect(first.status == 0)
        #expect(first.stdout == "hello\n")
        #expect(first.stderr.contains("Recorded the new server key \(fingerprint)"))
        let knownHosts = try String(contentsOfFile: home.knownHostsPath, encoding: .utf8)
        #expect(knownHosts.contains("\(address) \(fingerprint)"))

        // The second run finds the key in the file: no question, no notice.
        let second = try await ClientProcess.run(
            ["echo", address, "hello", "again"], home: home, password: Self.password)
        #expect(second.status == 0)
        #expect(second.stdout == "hello again\n")
        #expect(second.stderr.isEmpty)

        let wrongPin = "SHA256:" + String(repeating: "A", count: 43)
        let pinned = try await ClientProcess.run(
            ["echo", address, "x", "--fingerprint", wrongPin], home: home, password: Self.password)
        #expect(pinned.status == 65)
        #expect(pinned.stderr.hasPrefix("laboratory: server key mismatch for \(address): "))
        #expect(pinned.stderr.contains(wrongPin))
        #expect(pinned.stdout.isEmpty)

        let pinnedRight = try await ClientProcess.run(
            ["echo", address, "pinned", "--fingerprint", fingerprint], home: home, password: Self.password)
        #expect(pinnedRight.status == 0)
        #expect(pinnedRight.stdout == "pinned\n")

        // A known-hosts file that records another key for this address: refused, naming the file.
        let changedFile = home.path + "/changed_hosts"
        try "\(address) SHA256:someOtherKey\n".write(toFile: changedFile, atomically: true, encoding: .utf8)
        let changed = try await ClientProcess.run(
            ["echo", address, "x", "--known-hosts", changedFile], home: home, password: Self.password)
        #expect(changed.status == 65)
        #expect(changed.stderr.hasPrefix("laboratory: server key mismatch for \(address): "))
        #expect(changed.stderr.contains(changedFile))

        let wrong = try await ClientProcess.run(["echo", address, "x"], home: home, password: "not the password")
        #expect(wrong.status == 77)
        #expect(
            wrong.stderr == "laboratory: wrong password for \(address); check --password-file or LABORATORY_PASSWORD\n")

        let passwordFile = home.path + "/password"
        try "\(Self.password)\n".write(toFile: passwordFile, atomically: true, encoding: .utf8)
        let fromFile = try await ClientProcess.run(
            ["echo", address, "from", "a", "file", "--password-file", passwordFile], home: home, password: nil)
        #expect(fromFile.status == 0)
        #expect(fromFile.stdout == "from a file\n")

        let noPassword = try await ClientProcess.run(["echo", address, "x"], home: home, password: nil)
        #expect(noPassword.status == 78)
        #expect(noPassword.stderr.hasPrefix("laboratory: no password"))

        server.interrupt()
        #expect(await server.waitForExit().status == 0)

        // Nothing listens any more.
        let refused = try await ClientProcess.run(["echo", address, "x"], home: home, password: Self.password)
        #expect(refused.status == 69)
        #expect(refused.stderr.hasPrefix("laboratory: cannot connect to \(address): connection refused"))
    }

    @Test("piped commands run in order; the client says bye at end of input; the server and name are remembered")
    func piped() async throws {
        let (server, address, fingerprint) = try await startServer()
        let home = try ClientHome()

        let result = try await ClientProcess.run(
            ["connect", address, "--name", "ada", "--accept-new"], home: home, password: Self.password,
            input: "/join room\nhello\n/who\n/rooms\n/rooms room\n/msg 999999 psst\n/quit\nnot run\n")
        #expect(result.status == 0)
        let lines = result.stdout.split(separator: "\n").map(String.init)
        #expect(lines.contains { $0.hasPrefix("Connected to Terminal Test at \(address) as ada (#") })
        #expect(lines.contains { $0.hasSuffix("Server key \(fingerprint)") })
        #expect(lines.contains { $0.hasPrefix("joined room; members: ada (#") })
        #expect(lines.contains { $0.hasPrefix("* ada (#") && $0.hasSuffix(") joined room") })
        #expect(lines.contains("[room] ada: hello"))
        #expect(lines.contains { $0.hasPrefix("members of room: ada (#") && $0.hasSuffix(", you)") })
        // /rooms lists a page; /rooms AFTER the page after that name (here, none).
        #expect(lines.contains("rooms: room (1)"))
        #expect(lines.contains("no rooms"))
        #expect(lines.last == "bye")
        #expect(!result.stdout.contains("not run"))
        #expect(result.stderr.contains("error: service error: connection 999999 is not on chat"))

        let settings = try String(contentsOfFile: home.configDirectory + "/last.json", encoding: .utf8)
        #expect(settings.contains(address))
        #expect(settings.contains("\"ada\""))

        // No arguments: the remembered server and name. A plain line outside any room is echoed;
        // end of input quits.
        let again = try await ClientProcess.run(
            ["connect"], home: home, password: Self.password, input: "/server-name\nplain words\n/rename bea\n")
        #expect(again.status == 0)
        #expect(again.stdout.contains("Connected to Terminal Test at \(address) as ada (#"))
        #expect(again.stdout.contains("server name: Terminal Test\n"))
        #expect(again.stdout.contains("echo: plain words\n"))
        #expect(again.stdout.contains("you are now bea\n"))
        #expect(again.stdout.hasSuffix("bye\n"))
        // A plain /rename is for this session only: the next connect is ada again.
        let kept = try String(contentsOfFile: home.configDirectory + "/last.json", encoding: .utf8)
        #expect(kept.contains("\"ada\"") && !kept.contains("\"bea\""))

        // /rename --save is remembered for the next connect.
        let saved = try await ClientProcess.run(
            ["connect"], home: home, password: Self.password, input: "/rename --save cy\n")
        #expect(saved.status == 0)
        #expect(saved.stdout.contains("Connected to Terminal Test at \(address) as ada (#"))
        #expect(saved.stdout.contains("you are now cy (saved for the next connect)\n"))
        let renamed = try String(contentsOfFile: home.configDirectory + "/last.json", encoding: .utf8)
        #expect(renamed.contains("\"cy\""))
        let third = try await ClientProcess.run(["connect"], home: home, password: Self.password, input: "")
        #expect(third.stdout.contains("Connected to Terminal Test at \(address) as cy (#"))

        server.interrupt()
        #expect(await server.waitForExit().status == 0)
    }

    @Test(
        "two interactive clients in tmux: confirm the key (no penalty), type the password, edit, recall, chat, rename, who, quit"
    )
    func interactive() async throws {
        guard let executable = TmuxServer.locate() else {
            Issue.record("tmux is not installed; this test drives the client on a real terminal and needs it")
            return
        }
        // Debug logs: every penalty the server adds is logged, so the test can see that none was.
        let (server, address, fingerprint) = try await startServer(arguments: ["--log-level", "debug"])
        let tmux = TmuxServer(executable: executable)
        defer { tmux.kill() }
        let adaHome = try ClientHome()
        let bobHome = try ClientHome()

        // ada: the password from the environment; the new key is shown and confirmed.
        try await tmux.start(
            "ada", arguments: ["connect", address, "--name", "ada"],
            environment: adaHome.environment.merging(["LABORATORY_PASSWORD": Self.password]) { $1 })
        try #require(await tmux.waitFor("ada", "[yes/no]"))
        #expect(try tmux.screen("ada").contains { $0.contains(fingerprint) })
        try tmux.type("ada", "yes")
        try #require(await tmux.waitFor("ada", "Connected to Terminal Test"))
        let recorded = try String(contentsOfFile: adaHome.knownHostsPath, encoding: .utf8)
        #expect(recorded.contains("\(address) \(fingerprint)"))

        // bob: --accept-new, and the password typed at a prompt that does not echo it.
        try await tmux.start(
            "bob", arguments: ["connect", address, "--name", "bob", "--accept-new"], environment: bobHome.environment)
        try #require(await tmux.waitFor("bob", "Password for \(address):"))
        try tmux.type("bob", Self.password)
        try #require(await tmux.waitFor("bob", "Connected to Terminal Test"))
        #expect(try !tmux.screen("bob").contains { $0.contains(Self.password) })

        try tmux.type("ada", "/join lobby")
        try #require(await tmux.waitFor("ada", "joined lobby; members: ada"))
        try tmux.type("bob", "/join lobby")
        try #require(await tmux.waitFor("bob", "joined lobby; members: ada"))
        try #require(await tmux.waitFor("ada", ") joined lobby"))

        // A line arrives while ada is typing: it prints above, and her input is still there.
        try tmux.type("ada", "half typed", enter: false)
        try #require(await tmux.waitFor("ada", "lobby> half typed"))
        try tmux.type("bob", "hello from bob")
        try #require(await tmux.waitFor("ada", "[lobby] bob: hello from bob"))
        #expect(try tmux.screen("ada").last == "lobby> half typed")

        try tmux.press("ada", "C-u")
        try tmux.type("ada", "hello from ada")
        try #require(await tmux.waitFor("bob", "[lobby] ada: hello from ada"))

        // The status line above the prompt: name, id, room, members and a measured round trip.
        try #require(await tmux.waitFor("ada", " · lobby · 2 members · "))
        let status = try #require(try tmux.screen("ada").dropLast().last)
        #expect(status.hasPrefix("ada #") && status.hasSuffix(" ms"), "\(status)")

        // Line editing: fix a typo at the start, add at the end, delete a word, move by word,
        // cut to the end. What bob receives is the edited line.
        try tmux.type("ada", "hllo wrld", enter: false)
        try tmux.press("ada", "Home")
        try tmux.press("ada", "Right")
        try tmux.type("ada", "e", enter: false)
        try tmux.press("ada", "End")
        try tmux.press("ada", "C-w")
        try tmux.type("ada", "there friend", enter: false)
        try tmux.press("ada", "M-b")
        try tmux.press("ada", "C-k")
        try tmux.type("ada", "all", enter: false)
        try #require(await tmux.waitFor("ada", "lobby> hello there all"))
        try tmux.press("ada", "Left")
        try tmux.press("ada", "BSpace")
        try tmux.press("ada", "DC")
        try tmux.type("ada", "L", enter: false)
        try #require(await tmux.waitFor("ada", "lobby> hello there aL"))
        try tmux.press("ada", "C-e")
        try tmux.press("ada", "BSpace")
        try tmux.press("ada", "BSpace")
        try tmux.type("ada", "all")
        try #require(await tmux.waitFor("bob", "[lobby] ada: hello there all"))
        // History: Up recalls the line just sent, Enter sends it again.
        try tmux.press("ada", "Up")
        try #require(await tmux.waitFor("ada", "lobby> hello there all"))
        #expect(try tmux.screen("ada").last == "lobby> hello there all")
        try tmux.press("ada", "Enter")
        try #require(
            await poll { try tmux.screen("bob").filter { $0 == "[lobby] ada: hello there all" }.count == 2 })

        try tmux.type("ada", "/help")
        try #require(await tmux.waitFor("ada", "/rename --save NAME"))

        try tmux.type("bob", "/rename robert")
        try #require(await tmux.waitFor("bob", "you are now robert"))
        try #require(await tmux.waitFor("ada", "* bob (#"))
        #expect(
            try tmux.screen("ada").contains { $0.hasPrefix("* bob (#") && $0.hasSuffix("renamed to robert in lobby") })

        try tmux.type("ada", "/who")
        try #require(await tmux.waitFor("ada", "members of lobby: "))
        let who = try #require(try tmux.screen("ada").first { $0.hasPrefix("members of lobby: ") })
        #expect(who.contains("ada (#") && who.contains(", you)") && who.contains("robert (#"))

        // Two members called ada: their lines show their ids, and only while the names are shared.
        let adaID = try #require(who.firstMatch(of: /ada \(#(\d+), you\)/).map { String($0.1) })
        let bobID = try #require(who.firstMatch(of: /robert \(#(\d+)\)/).map { String($0.1) })
        try tmux.type("bob", "/rename ada")
        try #require(await tmux.waitFor("ada", "renamed to ada in lobby"))
        try tmux.type("bob", "same name")
        try #require(await tmux.waitFor("ada", "[lobby] ada (#\(bobID)): same name"))
        try tmux.type("ada", "me too")
        try #require(await tmux.waitFor("bob", "[lobby] ada (#\(adaID)): me too"))
        try tmux.type("bob", "/rename bob")
        try #require(await tmux.waitFor("ada", "renamed to bob in lobby"))
        try tmux.type("bob", "apart again")
        try #require(await tmux.waitFor("ada", "[lobby] bob: apart again"))

        try tmux.type("ada", "/quit")
        try tmux.type("bob", "/quit")
        for name in ["ada", "bob"] {
            let status = try await tmux.waitForExit(name)
            let screen = try tmux.screen(name).joined(separator: "\n")
            #expect(status == 0, "\(name)'s screen:\n\(screen)")
        }
        #expect(try tmux.screen("ada").contains("bye"))
        // The renames were for the session only: bob's next connect is bob, not ada.
        let bobSettings = try String(contentsOfFile: bobHome.configDirectory + "/last.json", encoding: .utf8)
        #expect(bobSettings.contains("\"bob\""))
        // ada's lines are kept for her next session, readable by her only.
        let historyPath = adaHome.configDirectory + "/history"
        let history = try String(contentsOfFile: historyPath, encoding: .utf8)
        #expect(history.hasSuffix("me too\n/quit\n"), "\(history)")
        #expect(history.split(separator: "\n").filter { $0 == "hello there all" }.count == 1, "\(history)")
        let mode = try FileManager.default.attributesOfItem(atPath: historyPath)[.posixPermissions] as? Int
        #expect(mode == 0o600)

        server.interrupt()
        let (serverStatus, log) = await server.waitForExit()
        #expect(serverStatus == 0)
        // ada's first use (the look at the key, the question, the real connection) earned no
        // penalty, nor did anything else here.
        let lines = log.split(separator: "\n")
        #expect(!lines.contains { $0.hasSuffix(" penalty") }, "\(log)")
        #expect(lines.contains { $0.hasSuffix("closed at the hello: a look at the key") }, "\(log)")
    }

    /// Polls `condition` every 100 ms for at most 30 s.
    private func poll(_ condition: () throws -> Bool) async throws -> Bool {
        let deadline = ContinuousClock.now + .seconds(30)
        while ContinuousClock.now < deadline {
            if try condition() { return true }
            try await Task.sleep(for: .milliseconds(100))
        }
        return false
    }
}
