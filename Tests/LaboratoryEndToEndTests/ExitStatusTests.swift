import Foundation
import Laboratory
import NIOCore
import NIOPosix
import Testing

#if canImport(Glibc)
    import Glibc
#elseif canImport(Darwin)
    import Darwin
#endif

/// Each failure an operator meets, run through the real executables: the exit status README.md's
/// "Exit statuses" table gives it, and one line on standard error naming the thing concerned.
@Suite("Exit statuses of the executables", .serialized, .timeLimit(.minutes(2)))
struct ExitStatusTests {
    static let password = "exit status password"

    /// A scratch folder, removed at the end of the test.
    final class Scratch {
        let path = FileManager.default.temporaryDirectory.appendingPathComponent("exit-\(UUID().uuidString)").path
        init() throws { try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true) }
        func file(_ name: String, _ text: String, mode: Int) throws -> String {
            let file = path + "/" + name
            try text.write(toFile: file, atomically: false, encoding: .utf8)
            try FileManager.default.setAttributes([.posixPermissions: mode], ofItemAtPath: file)
            return file
        }
        deinit { try? FileManager.default.removeItem(atPath: path) }
    }

    /// Runs the server to its exit; `--port 0` comes first, so a later `--port` replaces it.
    private func serverExit(_ arguments: [String], password: String? = Self.password) async throws -> (
        status: Int32, line: String
    ) {
        let server = try ServerProcess(
            arguments: arguments, environment: password.map { ["LABORATORY_PASSWORD": $0] } ?? [:])
        let exit = await server.waitForExit()
        let lines = exit.stderr.split(separator: "\n")
        #expect(lines.count == 1, "\(exit.stderr)")
        #expect(!exit.stderr.contains("NSCocoaErrorDomain") && !exit.stderr.contains("errno"), "\(exit.stderr)")
        return (exit.status, lines.first.map(String.init) ?? "")
    }

    /// A port that nothing listens on: bound, then closed.
    private func closedPort() async throws -> Int {
        let channel = try await ServerBootstrap(group: MultiThreadedEventLoopGroup.singleton)
            .bind(host: "127.0.0.1", port: 0).get()
        let port = try #require(channel.localAddress?.port)
        try await channel.close()
        return port
    }

    @Test(
        "out-of-range numbers are usage errors naming the option and its range",
        arguments: [
            (["--port", "99999"], "--port must be from 0 to 65535"),
            (["--legacy-port", "70000"], "--legacy-port must be from 0 to 65535"),
            (["--max-frame-size", "0"], "--max-frame-size must be from 1 to"),
            (["--handshake-timeout", "inf"], "--handshake-timeout must be more than 0 up to 86400 seconds"),
            (["--idle-timeout=-1"], "--idle-timeout must be from 0 up to 86400 seconds"),
            (["--http-port", "70000"], "--http-port must be from 0 to 65535"),
            // Needs another setting, which may come from the environment or the file: checked with them.
            (["--websocket"], "laboratory-server: --websocket needs --http-port"),
            (
                ["--http-port", "0", "--websocket-origin", "https://a.example"],
                "laboratory-server: --websocket-origin needs --websocket"
            ),
            (
                ["--http-port", "0", "--websocket", "--websocket-origin", "a.example"],
                "--websocket-origin a.example is not"
            ),
        ])
    func serverRanges(arguments: [String], message: String) async throws {
        let server = try ServerProcess(arguments: arguments, environment: ["LABORATORY_PASSWORD": Self.password])
        let exit = await server.waitForExit()
        #expect(exit.status == 64)
        let expected = message.hasPrefix("laboratory-server: ") ? message : "Error: " + message
        #expect(exit.stderr.hasPrefix(expected), "\(exit.stderr)")
    }

    @Test("a port in use: EX_UNAVAILABLE, naming the address and the option")
    func portInUse() async throws {
        let holder = try await ServerBootstrap(group: MultiThreadedEventLoopGroup.singleton)
            .bind(host: "127.0.0.1", port: 0).get()
        let port = try #require(holder.localAddress?.port)
        let main = try await serverExit(["--port", "\(port)"])
        #expect(main.status == 69)
        #expect(
            main.line == "laboratory-server: cannot listen on 127.0.0.1:\(port): the address is already in use by "
                + "another program; stop that program or choose another --port")
        let legacy = try await serverExit(["--legacy-port", "\(port)"])
        #expect(legacy.status == 69)
        #expect(legacy.line.contains("127.0.0.1:\(port)") && legacy.line.hasSuffix("choose another --legacy-port"))
        let http = try await serverExit(["--http-port", "\(port)", "--websocket"])
        #expect(http.status == 69)
        #expect(
            http.line.contains("127.0.0.1:\(port)") && http.line.hasSuffix("choose another --http-port"), "\(http.line)"
        )
        try await holder.close()
    }

    @Test("a missing or unreadable password file, a state directory that is a file, an unknown host")
    func serverFiles() async throws {
        let scratch = try Scratch()
        let missing = try await serverExit(["--password-file", scratch.path + "/absent"])
        #expect(missing.status == 66)
        #expect(missing.line.contains(scratch.path + "/absent does not exist"))

        // Root reads any file whatever its mode; a /proc/sys file that is write-only is refused even to root.
        let unreadable =
            geteuid() == 0 ? "/proc/sys/vm/drop_caches" : try scratch.file("locked", Self.password, mode: 0o000)
        let denied = try await serverExit(["--password-file", unreadable])
        #expect(denied.status == 77)
        #expect(denied.line.contains(unreadable) && denied.line.contains("Permission denied"))

        let file = try scratch.file("state", "", mode: 0o600)
        let notDirectory = try await serverExit(["--state-dir", file])
        #expect(notDirectory.status == 73)
        #expect(
            notDirectory.line == "laboratory-server: the state directory \(file) is not a directory; remove it or "
                + "choose another --state-dir")

        let unknownHost = try await serverExit(["--host", "nohost.invalid"])
        #expect(unknownHost.status == 68)
        #expect(unknownHost.line.contains("nohost.invalid:0") && unknownHost.line.contains("does not resolve"))
    }

    @Test("a password file others may read gets a one-line warning naming it; the server still starts")
    func exposedPasswordFile() async throws {
        let scratch = try Scratch()
        let file = try scratch.file("password", Self.password, mode: 0o644)
        let server = try ServerProcess(arguments: ["--password-file", file])
        _ = try #require(await server.value(after: "Listening on 127.0.0.1:"))
        server.interrupt()
        let exit = await server.waitForExit()
        #expect(exit.status == 0)
        #expect(exit.stderr.contains("the password file \(file) has mode 644, readable by all users; run chmod 600"))
    }

    @Test("a host key others may read gets a one-line warning naming it; the server still starts")
    func exposedHostKey() async throws {
        let scratch = try Scratch()
        let state = StateDirectory(path: scratch.path + "/state")
        _ = try state.loadOrCreateHostKey()
        try FileManager.default.setAttributes([.posixPermissions: 0o640], ofItemAtPath: state.hostKeyPath)
        let server = try ServerProcess(
            arguments: [], environment: ["LABORATORY_PASSWORD": Self.password], stateDirectory: state.path)
        _ = try #require(await server.value(after: "Listening on 127.0.0.1:"))
        server.interrupt()
        let exit = await server.waitForExit()
        #expect(exit.status == 0)
        #expect(
            exit.stderr.contains(
                "the host key \(state.hostKeyPath) has mode 640, readable by its group; run chmod 600"),
            "\(exit.stderr)")
    }

    @Test("--version and --help on every executable; --help names the built-in services")
    func versionAndHelp() throws {
        let directory = ServerProcess.executableURL.deletingLastPathComponent()
        for name in ["laboratory-server", "laboratory", "EchoHost"] {
            let path = directory.appendingPathComponent(name).path
            let version = try runTool([path, "--version"])
            #expect(version.status == 0 && version.text == LaboratoryVersion.current + "\n", "\(name)")
            let help = try runTool([path, "--help"])
            #expect(help.status == 0 && help.text.contains("USAGE:"), "\(name)")
            if name != "laboratory" {  // the client takes its port in HOST:PORT, checked in clientFailures
                let outOfRange = try runTool([path, "--port", "70000"])
                #expect(outOfRange.status == 64, "\(name)")
                #expect(outOfRange.standardError.hasPrefix("Error: --port must be from "), "\(name)")
            }
            if name != "EchoHost" {
                // Help is wrapped to the terminal's width: compare with the line breaks as spaces.
                let words = help.text.split(whereSeparator: \.isWhitespace).joined(separator: " ")
                #expect(words.contains("echo (") && words.contains("chat ("), "\(name): \(help.text)")
            }
        }
    }

    @Test("the client: refused, unknown host, malformed fingerprint, missing password file, bad address")
    func clientFailures() async throws {
        let home = try ClientHome()
        let port = try await closedPort()
        let refused = try await ClientProcess.run(
            ["connect", "127.0.0.1:\(port)", "--name", "n"], home: home, password: Self.password)
        #expect(refused.status == 69)
        #expect(
            refused.stderr == "laboratory: cannot connect to 127.0.0.1:\(port): connection refused; check that the "
                + "server is running and listening on that port\n")

        let unknown = try await ClientProcess.run(
            ["echo", "nohost.invalid:12800", "x"], home: home, password: Self.password)
        #expect(unknown.status == 68)
        #expect(
            unknown.stderr == "laboratory: cannot connect to nohost.invalid:12800: the host name nohost.invalid "
                + "does not resolve; check its spelling\n")

        let malformed = try await ClientProcess.run(
            ["echo", "127.0.0.1:\(port)", "x", "--fingerprint", "SHA256:abc"], home: home, password: Self.password)
        #expect(malformed.status == 64)
        #expect(malformed.stderr.hasPrefix("laboratory: --fingerprint \"SHA256:abc\" is not a key fingerprint"))
        #expect(malformed.stderr.split(separator: "\n").count == 1)

        let missing = try await ClientProcess.run(
            ["echo", "127.0.0.1:\(port)", "x", "--password-file", home.path + "/absent", "--accept-new"], home: home,
            password: nil)
        #expect(missing.status == 66)
        #expect(missing.stderr.hasPrefix("laboratory: the password file \(home.path)/absent does not exist"))

        // As for the server: root reads any file whatever its mode, but not a write-only /proc/sys file.
        let scratch = try Scratch()
        let unreadable =
            geteuid() == 0 ? "/proc/sys/vm/drop_caches" : try scratch.file("locked", Self.password, mode: 0o000)
        let denied = try await ClientProcess.run(
            ["echo", "127.0.0.1:\(port)", "x", "--password-file", unreadable, "--accept-new"], home: home,
            password: nil)
        #expect(denied.status == 77)
        #expect(
            denied.stderr == "laboratory: cannot read the password file \(unreadable): permission denied; check its "
                + "owner and mode\n")

        let badAddress = try await ClientProcess.run(["echo", "127.0.0.1:99999", "x"], home: home, password: nil)
        #expect(badAddress.status == 64)
        #expect(badAddress.stderr.contains("port from 1 to 65535"))
    }

    @Test("the client's password: --password-file beats LABORATORY_PASSWORD; a file others may read is warned of")
    func clientPasswordPrecedence() async throws {
        let server = try ServerProcess(arguments: [], environment: ["LABORATORY_PASSWORD": Self.password])
        let port = try #require(await server.value(after: "Listening on 127.0.0.1:"))
        let home = try ClientHome()
        let scratch = try Scratch()
        let right = try scratch.file("right", Self.password + "\n", mode: 0o600)
        let flagWins = try await ClientProcess.run(
            ["echo", "127.0.0.1:\(port)", "hi", "--password-file", right, "--accept-new"], home: home,
            password: "not the password")
        #expect(flagWins.status == 0, "\(flagWins.stderr)")
        #expect(flagWins.stdout == "hi\n")

        let wrong = try scratch.file("wrong", "not the password\n", mode: 0o640)
        let flagStillWins = try await ClientProcess.run(
            ["echo", "127.0.0.1:\(port)", "hi", "--password-file", wrong], home: home, password: Self.password)
        #expect(flagStillWins.status == 77)
        let lines = flagStillWins.stderr.split(separator: "\n")
        #expect(
            lines.first
                == "laboratory: warning: the password file \(wrong) has mode 640, readable by its group; run chmod 600 on it so only its owner can read it"
        )
        #expect(
            lines.last
                == "laboratory: wrong password for 127.0.0.1:\(port); check --password-file or LABORATORY_PASSWORD")
        server.interrupt()
        #expect(await server.waitForExit().status == 0)
    }

    @Test("piped connect exits EX_TEMPFAIL with one line when the server closes the session with an error code")
    func pipedSessionClosed() async throws {
        let server = try ServerProcess(
            arguments: ["--idle-timeout", "1", "--keepalive-interval", "0"],
            environment: ["LABORATORY_PASSWORD": Self.password])
        let port = try #require(await server.value(after: "Listening on 127.0.0.1:"))
        let home = try ClientHome()
        let run = try await ClientProcess.run(
            ["connect", "127.0.0.1:\(port)", "--name", "idle", "--accept-new"], home: home, password: Self.password,
            keepInputOpen: true)
        #expect(run.status == 75, "\(run.stderr)")
        let errorLines = run.stderr.split(separator: "\n").filter { !$0.contains("Recorded the new server key") }
        #expect(errorLines.count == 1, "\(run.stderr)")
        #expect(errorLines.first?.hasPrefix("laboratory: the server closed the session: ") == true, "\(run.stderr)")
        server.interrupt()
        #expect(await server.waitForExit().status == 0)
    }
}
