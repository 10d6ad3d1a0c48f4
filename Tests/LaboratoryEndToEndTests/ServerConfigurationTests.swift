import Foundation
import Laboratory
import LaboratoryClient
import NIOCore
import NIOPosix
import Testing

#if canImport(Glibc)
    import Glibc
#elseif canImport(Darwin)
    import Darwin
#endif

/// `laboratory-server`'s configuration, run through the real executable: where each setting comes
/// from (flag > `LABORATORY_…` environment > `--config` file > default, and systemd's
/// directories), the one-line errors for bad values, `--print-config`, and the signals: SIGHUP
/// reloads, every stopping signal stops gracefully.
@Suite("laboratory-server configuration and signals", .serialized, .timeLimit(.minutes(2)))
struct ServerConfigurationTests {
    typealias Scratch = ExitStatusTests.Scratch

    /// `laboratory-server --print-config ARGUMENTS` with only `environment` of the variables it
    /// reads.
    private func printConfig(_ arguments: [String], environment: [String: String] = [:]) throws -> ToolResult {
        let unset = ServerProcess.uninherited.flatMap { ["-u", $0] }
        let assignments = environment.map { "\($0.key)=\($0.value)" }
        return try runTool(unset + assignments + [ServerProcess.executableURL.path, "--print-config"] + arguments)
    }

    /// The `--print-config` line of `key`.
    private func line(_ key: String, in result: ToolResult) -> String? {
        result.text.split(separator: "\n").first { $0.hasPrefix(key + ": ") }.map(String.init)
    }

    /// A port nothing listens on now: bound, then closed.
    private func freePort() async throws -> Int {
        let channel = try await ServerBootstrap(group: MultiThreadedEventLoopGroup.singleton)
            .bind(host: "127.0.0.1", port: 0).get()
        let port = try #require(channel.localAddress?.port)
        try await channel.close()
        return port
    }

    private static func fileText(_ format: String, _ settings: [(String, String)]) -> String {
        format == "json"
            ? "{" + settings.map { "\"\($0.0)\": \($0.1)" }.joined(separator: ", ") + "}"
            : settings.map { "\($0.0): \($0.1)\n" }.joined()
    }

    @Test("flag beats environment beats file beats default, as --print-config shows", arguments: ["json", "yaml"])
    func precedenceShown(format: String) throws {
        let scratch = try Scratch()
        let file = try scratch.file(
            "laboratory.\(format)",
            Self.fileText(
                format,
                [("port", "1111"), ("max-connections", "77"), ("name", "\"from the file\""), ("idle-timeout", "45")]),
            mode: 0o600)

        let fileOnly = try printConfig(["--config", file])
        #expect(fileOnly.status == 0, "\(fileOnly.standardError)")
        #expect(line("config", in: fileOnly) == "config: \"\(file)\"  # flag --config")
        #expect(line("port", in: fileOnly) == "port: 1111  # file \(file)")
        #expect(line("max-connections", in: fileOnly) == "max-connections: 77  # file \(file)")
        #expect(line("name", in: fileOnly) == "name: \"from the file\"  # file \(file)")
        #expect(line("idle-timeout", in: fileOnly) == "idle-timeout: 45.0  # file \(file)")
        #expect(line("host", in: fileOnly) == "host: \"127.0.0.1\"  # default")
        #expect(line("state-dir", in: fileOnly) == "state-dir: \"./.laboratory\"  # default")

        let environment = ["LABORATORY_PORT": "2222", "LABORATORY_MAX_CONNECTIONS": "88"]
        let fileAndEnvironment = try printConfig(["--config", file], environment: environment)
        #expect(line("port", in: fileAndEnvironment) == "port: 2222  # environment LABORATORY_PORT")
        #expect(
            line("max-connections", in: fileAndEnvironment)
                == "max-connections: 88  # environment LABORATORY_MAX_CONNECTIONS")
        #expect(line("name", in: fileAndEnvironment) == "name: \"from the file\"  # file \(file)")

        let all = try printConfig(["--config", file, "--port", "3333"], environment: environment)
        #expect(line("port", in: all) == "port: 3333  # flag --port")
        #expect(line("max-connections", in: all) == "max-connections: 88  # environment LABORATORY_MAX_CONNECTIONS")

        // The file can be named by the environment too.
        let named = try printConfig([], environment: ["LABORATORY_CONFIG": file])
        #expect(line("config", in: named) == "config: \"\(file)\"  # environment LABORATORY_CONFIG")
        #expect(line("port", in: named) == "port: 1111  # file \(file)")
    }

    @Test("the port the server binds follows the same precedence")
    func precedenceBound() async throws {
        let scratch = try Scratch()
        let (filePort, environmentPort) = (try await freePort(), try await freePort())
        let file = try scratch.file("laboratory.yaml", "port: \(filePort)\n", mode: 0o600)
        let password = ["LABORATORY_PASSWORD": "precedence password"]

        func boundPort(_ arguments: [String], _ environment: [String: String]) async throws -> Int {
            let server = try ServerProcess(
                arguments: ["--state-dir", scratch.path + "/state", "--config", file] + arguments,
                environment: password.merging(environment) { $1 }, portAndState: false)
            let listening = try #require(await server.value(after: "Listening on 127.0.0.1:"))
            server.interrupt()
            #expect(await server.waitForExit().status == 0)
            return try #require(Int(listening))
        }
        #expect(try await boundPort([], [:]) == filePort)
        #expect(try await boundPort([], ["LABORATORY_PORT": "\(environmentPort)"]) == environmentPort)
        let flagged = try await boundPort(["--port", "0"], ["LABORATORY_PORT": "\(environmentPort)"])
        #expect(flagged != filePort && flagged != environmentPort)
    }

    @Test(
        "a bad value in the file or the environment: one line naming the key and its source, and its status",
        arguments: [
            ("json", "{\"port\": 70000}", [:], 64, "port in FILE must be from 0 to 65535, not 70000"),
            (
                "yaml", "idle-timeout: -1\n", [:], 64,
                "idle-timeout in FILE must be from 0 up to 86400 seconds, not -1.0"
            ),
            ("yaml", "max-connections: lots\n", [:], 64, "max-connections in FILE must be a whole number"),
            (
                "yaml", "max-startups: \"1:2\"\n", [:], 64,
                "max-startups in FILE must be start:rate:full with start <= full and rate 0 to 100, not \"1:2\""
            ),
            (
                "yaml", "penalty-exempt: [\"10.0.0.0/99\"]\n", [:], 64,
                "penalty-exempt in FILE: 10.0.0.0/99 is neither an address nor a CIDR block"
            ),
            (
                "yaml", "log-level: loud\n", [:], 64,
                "log-level in FILE must be trace, debug, info, notice, warning, error or critical, not \"loud\""
            ),
            (
                "yaml", "name: fine\n", ["LABORATORY_PORT": "abc"], 64,
                "LABORATORY_PORT in the environment must be a whole number"
            ),
            (
                "yaml", "max-connections: 5\n", ["LABORATORY_MAX_CONNECTIONS": "0"], 64,
                "LABORATORY_MAX_CONNECTIONS in the environment must be from 1 to 1000000, not 0"
            ),
            (
                "json", "{\"port\": ", [:], 65,
                "the configuration file FILE is not a valid JSON object of settings (Unexpected end of file during JSON parse.); fix it"
            ),
            ("yaml", "- a list\n", [:], 65, "the configuration file FILE is not a valid YAML object of settings"),
            (
                "yaml", "port: 0\nmax-conections: 5\n", [:], 64,
                "\"max-conections\" in FILE is not a setting; the settings are host, port, name,"
            ),
            ("json", "{\"Port\": 1}", [:], 64, "\"Port\" in FILE is not a setting;"),
            (
                "yaml", "name: fine\n", ["LABORATORY_HTTP_PORT": "70000"], 64,
                "LABORATORY_HTTP_PORT in the environment must be from 0 to 65535, not 70000"
            ),
            (
                "yaml", "name: fine\n", ["LABORATORY_HTTP_PORT": "web"], 64,
                "LABORATORY_HTTP_PORT in the environment must be a whole number"
            ),
            ("json", "{\"http-port\": 65536}", [:], 64, "http-port in FILE must be from 0 to 65535, not 65536"),
            ("yaml", "websocket: true\n", [:], 64, "websocket in FILE needs http-port"),
            (
                "yaml", "http-port: 0\nwebsocket-origin: [\"https://a.example\"]\n", [:], 64,
                "websocket-origin in FILE needs websocket"
            ),
            (
                "yaml", "http-port: 0\nwebsocket: true\n",
                ["LABORATORY_WEBSOCKET_ORIGIN": "https://a.example,b.example"],
                64, "LABORATORY_WEBSOCKET_ORIGIN in the environment: b.example is not an origin"
            ),
            ("yaml", "web-root: /\n", [:], 64, "web-root in FILE needs http-port"),
            ("yaml", "http-port: 0\nweb-root: /\n", [:], 64, "web-root in FILE /: no index.html there"),
        ] as [(String, String, [String: String], Int32, String)])
    func badValues(format: String, text: String, environment: [String: String], status: Int32, message: String)
        async throws
    {
        let scratch = try Scratch()
        let file = try scratch.file("laboratory.\(format)", text, mode: 0o600)
        let server = try ServerProcess(
            arguments: ["--state-dir", scratch.path + "/state", "--config", file],
            environment: environment.merging(["LABORATORY_PASSWORD": "bad values password"]) { old, _ in old },
            portAndState: false)
        let exit = await server.waitForExit()
        let lines = exit.stderr.split(separator: "\n")
        #expect(exit.status == status, "\(exit.stderr)")
        #expect(lines.count == 1, "\(exit.stderr)")
        #expect(
            lines.first?.hasPrefix("laboratory-server: " + message.replacingOccurrences(of: "FILE", with: file))
                == true,
            "\(exit.stderr)")
        #expect(!FileManager.default.fileExists(atPath: scratch.path + "/state"), "nothing is created on an error")
    }

    @Test("a missing configuration file: EX_NOINPUT naming it")
    func missingFile() async throws {
        let scratch = try Scratch()
        let exit = try runTool(
            ServerProcess.uninherited.flatMap { ["-u", $0] } + [
                ServerProcess.executableURL.path, "--config", scratch.path + "/nope.yaml", "--print-config",
            ])
        #expect(exit.status == 66)
        #expect(
            exit.standardError
                == "laboratory-server: the configuration file \(scratch.path)/nope.yaml does not exist; check the path given to --config\n"
        )
    }

    @Test("--print-config never shows the password, wherever it comes from")
    func printConfigRedacts() throws {
        let scratch = try Scratch()
        let fromEnvironment = try printConfig([], environment: ["LABORATORY_PASSWORD": "environment secret 123"])
        #expect(fromEnvironment.status == 0)
        #expect(line("password", in: fromEnvironment) == "password: <redacted>  # environment LABORATORY_PASSWORD")
        #expect(!fromEnvironment.text.contains("environment secret 123"))
        #expect(!fromEnvironment.standardError.contains("environment secret 123"))

        let file = try scratch.file("laboratory.yaml", "password: \"file secret 456\"\n", mode: 0o600)
        let fromFile = try printConfig(["--config", file])
        #expect(line("password", in: fromFile) == "password: <redacted>  # file \(file)")
        #expect(!fromFile.text.contains("file secret 456"))

        // An explicit --password-file wins, and only its path is shown.
        let passwordFile = try scratch.file("password", "flag secret 789\n", mode: 0o600)
        let fromFlag = try printConfig(
            ["--config", file, "--password-file", passwordFile],
            environment: ["LABORATORY_PASSWORD": "environment secret 123"])
        #expect(line("password-file", in: fromFlag) == "password-file: \"\(passwordFile)\"  # flag --password-file")
        #expect(line("password", in: fromFlag) == nil)
        #expect(!fromFlag.text.contains("secret 123") && !fromFlag.text.contains("secret 789"))
    }

    @Test("systemd: $STATE_DIRECTORY is the default state directory, $CREDENTIALS_DIRECTORY/password the password")
    func systemdDirectories() async throws {
        let scratch = try Scratch()
        let state = scratch.path + "/state"
        let credentials = scratch.path + "/credentials"
        try FileManager.default.createDirectory(atPath: credentials, withIntermediateDirectories: true)
        _ = try scratch.file("credentials/password", "credential password\n", mode: 0o400)
        let systemd = ["STATE_DIRECTORY": state, "CREDENTIALS_DIRECTORY": credentials]

        let shown = try printConfig([], environment: systemd)
        #expect(line("state-dir", in: shown) == "state-dir: \"\(state)\"  # systemd $STATE_DIRECTORY")
        #expect(
            line("password-file", in: shown)
                == "password-file: \"\(credentials)/password\"  # systemd $CREDENTIALS_DIRECTORY")
        // Explicit settings beat what systemd passes.
        let explicit = try printConfig(
            ["--state-dir", scratch.path + "/other"],
            environment: systemd.merging(["LABORATORY_PASSWORD": "p w"]) { $1 })
        #expect(line("state-dir", in: explicit) == "state-dir: \"\(scratch.path)/other\"  # flag --state-dir")
        #expect(line("password", in: explicit) == "password: <redacted>  # environment LABORATORY_PASSWORD")

        let server = try ServerProcess(arguments: ["--port", "0"], environment: systemd, portAndState: false)
        let fingerprint = try #require(await server.value(after: "Host key fingerprint: "))
        let port = try #require(await server.value(after: "Listening on 127.0.0.1:").flatMap { Int($0) })
        #expect(FileManager.default.fileExists(atPath: state + "/host_key.pem"))
        let session = try await ClientSession.connect(
            host: "127.0.0.1", port: port, password: "credential password", name: "unit",
            trust: .pinned(fingerprint: fingerprint))
        #expect(try await session.request(service: "echo", body: [1]) == [1])
        await session.close()
        server.interrupt()
        let exit = await server.waitForExit()
        #expect(exit.status == 0)
        // The credential was used: no password was generated in the state directory.
        #expect(!FileManager.default.fileExists(atPath: state + "/password"))
    }

    @Test(
        "SIGHUP with a new password: the open session goes on, new connections need the new one; a bad reload is refused"
    )
    func sighupReloadsPassword() async throws {
        let scratch = try Scratch()
        let passwordFile = try scratch.file("password", "the old password\n", mode: 0o600)
        let config = try scratch.file("laboratory.yaml", "max-connections: 100\n", mode: 0o600)
        let server = try ServerProcess(arguments: ["--password-file", passwordFile, "--config", config])
        let fingerprint = try #require(await server.value(after: "Host key fingerprint: "))
        let port = try #require(await server.value(after: "Listening on 127.0.0.1:").flatMap { Int($0) })
        func connect(_ password: String, _ name: String) async throws -> ClientSession {
            try await ClientSession.connect(
                host: "127.0.0.1", port: port, password: password, name: name,
                trust: .pinned(fingerprint: fingerprint))
        }
        let open = try await connect("the old password", "open")

        try "the new password\n".write(toFile: passwordFile, atomically: true, encoding: .utf8)
        try FileManager.default.setAttributes([.posixPermissions: 0o600], ofItemAtPath: passwordFile)
        try "max-connections: 50\n".write(toFile: config, atomically: true, encoding: .utf8)
        server.send(SIGHUP)
        #expect(await server.standardError(containing: "reloaded live settings"), "\(server.standardErrorSoFar)")
        #expect(server.standardErrorSoFar.contains("password; admission.maximumConnections 100 -> 50"))

        #expect(try await open.request(service: "echo", body: [1]) == [1])
        let old = await #expect(throws: ClientError.self) { try await connect("the old password", "old") }
        #expect(old?.code == .wrongPassword)
        let new = try await connect("the new password", "new")
        #expect(try await new.request(service: "echo", body: [2]) == [2])
        await new.close()

        // A malformed file on reload: refused whole (the password file's change with it), one line.
        try "a third password\n".write(toFile: passwordFile, atomically: true, encoding: .utf8)
        try "max-connections: lots\n".write(toFile: config, atomically: true, encoding: .utf8)
        server.send(SIGHUP)
        #expect(await server.standardError(containing: "reload refused"), "\(server.standardErrorSoFar)")
        let refusal = server.standardErrorSoFar.split(separator: "\n").filter { $0.contains("reload refused") }
        #expect(refusal.count == 1)
        #expect(refusal.first?.contains("max-connections in \(config) must be a whole number") == true)
        // A weak password on reload: refused in its own words.
        try "max-connections: 50\n".write(toFile: config, atomically: true, encoding: .utf8)
        try "PASSWORD\n".write(toFile: passwordFile, atomically: true, encoding: .utf8)
        server.send(SIGHUP)
        #expect(await server.standardError(containing: "reload refused", count: 2), "\(server.standardErrorSoFar)")
        #expect(
            server.standardErrorSoFar.contains(
                "reload refused, the configuration in force stays: the server password is the well-known default"))
        // An unreadable password file on reload: refused too.
        try "max-connections: 50\n".write(toFile: config, atomically: true, encoding: .utf8)
        try FileManager.default.removeItem(atPath: passwordFile)
        server.send(SIGHUP)
        #expect(await server.standardError(containing: "reload refused", count: 3), "\(server.standardErrorSoFar)")
        let refusals = server.standardErrorSoFar.split(separator: "\n").filter { $0.contains("reload refused") }
        #expect(refusals.count == 3)
        #expect(refusals.last?.contains(passwordFile) == true, "\(refusals)")

        let still = try await connect("the new password", "still")
        #expect(try await still.request(service: "echo", body: [3]) == [3])
        #expect(try await open.request(service: "echo", body: [4]) == [4])
        await still.close()

        var events = open.events.makeAsyncIterator()
        server.send(SIGTERM)
        guard case .serverStopping? = await events.next() else {
            Issue.record("the open session was not told the server is stopping")
            return
        }
        await open.close()
        let exit = await server.waitForExit()
        #expect(exit.status == 0)
        for secret in ["the old password", "the new password", "a third password"] {
            #expect(!exit.stderr.contains(secret))
        }
    }

    @Test(
        "each stopping signal stops gracefully: clients are told, exit status 0", arguments: [SIGTERM, SIGINT, SIGQUIT])
    func stoppingSignals(signal: Int32) async throws {
        let server = try ServerProcess(arguments: [], environment: ["LABORATORY_PASSWORD": "signal password"])
        let fingerprint = try #require(await server.value(after: "Host key fingerprint: "))
        let port = try #require(await server.value(after: "Listening on 127.0.0.1:").flatMap { Int($0) })
        let session = try await ClientSession.connect(
            host: "127.0.0.1", port: port, password: "signal password", name: "sig",
            trust: .pinned(fingerprint: fingerprint))
        var events = session.events.makeAsyncIterator()
        server.send(signal)
        guard case .serverStopping? = await events.next() else {
            Issue.record("signal \(signal): the client was not told the server is stopping")
            return
        }
        await session.close()
        let exit = await server.waitForExit()
        #expect(exit.status == 0, "signal \(signal): \(exit.stderr)")
    }

    @Test("SIGUSR1 and SIGUSR2 are ignored with a log line, SIGHUP with nothing changed keeps everything")
    func ignoredSignals() async throws {
        let server = try ServerProcess(arguments: [], environment: ["LABORATORY_PASSWORD": "signal password"])
        let fingerprint = try #require(await server.value(after: "Host key fingerprint: "))
        let port = try #require(await server.value(after: "Listening on 127.0.0.1:").flatMap { Int($0) })
        let session = try await ClientSession.connect(
            host: "127.0.0.1", port: port, password: "signal password", name: "sig",
            trust: .pinned(fingerprint: fingerprint))
        server.send(SIGUSR1)
        #expect(await server.standardError(containing: "signal=SIGUSR1"), "\(server.standardErrorSoFar)")
        server.send(SIGUSR2)
        #expect(await server.standardError(containing: "signal=SIGUSR2"), "\(server.standardErrorSoFar)")
        server.send(SIGHUP)
        #expect(
            await server.standardError(containing: "reloaded: no live setting changed"), "\(server.standardErrorSoFar)")
        #expect(try await session.request(service: "echo", body: [5]) == [5])
        await session.close()
        server.send(SIGTERM)
        #expect(await server.waitForExit().status == 0)
    }

    @Test(
        "http-port from a YAML file or from LABORATORY_HTTP_PORT: the server serves /health there",
        arguments: [true, false])
    func httpPortFromFileOrEnvironment(fromFile: Bool) async throws {
        let scratch = try Scratch()
        let file = try scratch.file(
            "laboratory.yaml", fromFile ? "http-port: 0\nwebsocket: true\n" : "name: \"no HTTP here\"\n", mode: 0o600)
        let environment = fromFile ? [:] : ["LABORATORY_HTTP_PORT": "0"]
        let server = try ServerProcess(
            arguments: ["--config", file],
            environment: environment.merging(["LABORATORY_PASSWORD": "http settings password"]) { $1 })
        let rest = try #require(await server.value(after: "HTTP listening on 127.0.0.1:"))
        let port = try #require(rest.split(separator: " ").first.flatMap { Int($0) }, "\(rest)")
        // The file's websocket reached the listener too; the environment's case turned only HTTP on.
        #expect(rest.hasSuffix("(WebSocket gateway on /v1/ws)") == fromFile, "\(rest)")
        #expect(await server.value(after: "Listening on 127.0.0.1:") != nil)
        let health = try runTool(["curl", "-sS", "--max-time", "10", "http://127.0.0.1:\(port)/health"])
        #expect(health.status == 0, "\(health.standardError)")
        #expect(health.text == "ok\n")
        server.interrupt()
        #expect(await server.waitForExit().status == 0)
    }

    @Test("the HTTP settings: flag beats environment beats file, as --print-config shows; off by default")
    func httpPrecedenceShown() throws {
        let none = try printConfig([])
        #expect(none.status == 0, "\(none.standardError)")
        #expect(line("http-port", in: none) == "http-port: off  # default")
        #expect(line("http-host", in: none) == "http-host: \"127.0.0.1\"  # default")
        #expect(line("websocket", in: none) == "websocket: false  # default")
        #expect(line("websocket-origin", in: none) == "websocket-origin: []  # default")
        #expect(line("web-root", in: none) == "web-root: off  # default")

        let scratch = try Scratch()
        try FileManager.default.createDirectory(atPath: scratch.path + "/web", withIntermediateDirectories: true)
        _ = try scratch.file("web/index.html", "<!doctype html>\n", mode: 0o644)
        let file = try scratch.file(
            "laboratory.yaml",
            "http-port: 1111\nhttp-host: \"::1\"\nwebsocket: true\nwebsocket-origin: [\"https://file.example\"]\n"
                + "web-root: \"\(scratch.path)/web\"\n",
            mode: 0o600)
        let fileOnly = try printConfig(["--config", file])
        #expect(fileOnly.status == 0, "\(fileOnly.standardError)")
        #expect(line("http-port", in: fileOnly) == "http-port: 1111  # file \(file)")
        #expect(line("http-host", in: fileOnly) == "http-host: \"::1\"  # file \(file)")
        #expect(line("websocket", in: fileOnly) == "websocket: true  # file \(file)")
        #expect(
            line("websocket-origin", in: fileOnly) == "websocket-origin: [\"https://file.example\"]  # file \(file)")
        #expect(line("web-root", in: fileOnly) == "web-root: \"\(scratch.path)/web\"  # file \(file)")

        let environment = [
            "LABORATORY_HTTP_PORT": "2222",
            "LABORATORY_WEBSOCKET_ORIGIN": "https://a.example,http://b.example:8080",
        ]
        let fileAndEnvironment = try printConfig(["--config", file], environment: environment)
        #expect(line("http-port", in: fileAndEnvironment) == "http-port: 2222  # environment LABORATORY_HTTP_PORT")
        #expect(
            line("websocket-origin", in: fileAndEnvironment)
                == "websocket-origin: [\"https://a.example\", \"http://b.example:8080\"]  # environment LABORATORY_WEBSOCKET_ORIGIN"
        )
        #expect(line("http-host", in: fileAndEnvironment) == "http-host: \"::1\"  # file \(file)")

        let all = try printConfig(
            [
                "--config", file, "--http-port", "3333", "--http-host", "127.0.0.2", "--websocket-origin",
                "https://c.example",
            ],
            environment: environment)
        #expect(all.status == 0, "\(all.standardError)")
        #expect(line("http-port", in: all) == "http-port: 3333  # flag --http-port")
        #expect(line("http-host", in: all) == "http-host: \"127.0.0.2\"  # flag --http-host")
        #expect(
            line("websocket-origin", in: all) == "websocket-origin: [\"https://c.example\"]  # flag --websocket-origin")
        #expect(line("websocket", in: all) == "websocket: true  # file \(file)")
    }

    @Test("SIGHUP with a changed http-port names it as needing a restart; /health stays where it was")
    func sighupHTTPPortNeedsRestart() async throws {
        let scratch = try Scratch()
        let config = try scratch.file("laboratory.yaml", "http-port: 0\n", mode: 0o600)
        let server = try ServerProcess(
            arguments: ["--config", config], environment: ["LABORATORY_PASSWORD": "reload http password"])
        let port = try #require(await server.value(after: "HTTP listening on 127.0.0.1:").flatMap { Int($0) })
        #expect(await server.value(after: "Listening on 127.0.0.1:") != nil)
        try "http-port: \(try await freePort())\nmax-connections: 50\n".write(
            toFile: config, atomically: true, encoding: .utf8)
        server.send(SIGHUP)
        #expect(await server.standardError(containing: "reloaded live settings"), "\(server.standardErrorSoFar)")
        let notice = server.standardErrorSoFar.split(separator: "\n").first { $0.contains("only a restart") }
        #expect(notice?.contains("settings=http-port") == true, "\(server.standardErrorSoFar)")
        let health = try runTool(["curl", "-sS", "--max-time", "10", "http://127.0.0.1:\(port)/health"])
        #expect(health.text == "ok\n", "\(health.standardError)")
        server.interrupt()
        #expect(await server.waitForExit().status == 0)
    }
}
