import Foundation
import LaboratoryTestSupport
import NIOCore
import NIOPosix
import Testing

#if canImport(Glibc)
    import Glibc
#elseif canImport(Darwin)
    import Darwin
#endif

/// The rows of README.md's "Exit statuses" table that `ExitStatusTests` leaves out, each provoked
/// for real against the real executables: an unexpected error, a state directory that cannot be
/// created or is forbidden, files that cannot be read for another reason, an address not on this
/// machine, a privileged port; for the client a known-hosts file that cannot be written or read,
/// a handshake that times out, a server that breaks the protocol.
@Suite("Exit statuses of the rarer failures", .serialized, .timeLimit(.minutes(3)))
struct ExitStatusRareFailureTests {
    static let password = ExitStatusTests.password

    /// Runs the server to its exit (after `--port 0 --state-dir <fresh>`, which later options
    /// replace) and returns its status and its only line on standard error.
    private func serverExit(_ arguments: [String]) async throws -> (status: Int32, line: String) {
        let server = try ServerProcess(arguments: arguments, environment: ["LABORATORY_PASSWORD": Self.password])
        return Self.oneLine(await server.waitForExit())
    }

    private static func oneLine(_ exit: (status: Int32, stderr: String)) -> (status: Int32, line: String) {
        let lines = exit.stderr.split(separator: "\n")
        #expect(lines.count == 1, "\(exit.stderr)")
        #expect(!exit.stderr.contains("NSCocoaErrorDomain") && !exit.stderr.contains("Error Domain"), "\(exit.stderr)")
        return (exit.status, lines.first.map(String.init) ?? "")
    }

    @Test("an error nothing else covers is EX_SOFTWARE (70) with one line: a link-local address without its interface")
    func unexpectedError() async throws {
        // bind() refuses an IPv6 link-local address without a scope (EINVAL), an errno the
        // report does not name: the catch-all row.
        let exit = try await serverExit(["--host", "fe80::1"])
        #expect(exit.status == 70)
        #expect(exit.line.hasPrefix("laboratory-server: stopped by an unexpected error: "), "\(exit.line)")
    }

    @Test("a state directory that cannot be created is EX_CANTCREAT (73); one where that is forbidden, EX_NOPERM (77)")
    func stateDirectoryCannotBeCreated() async throws {
        // procfs has no such entry and creates none (mkdir: ENOENT); sysfs refuses (EPERM), even to root.
        let impossible = try await serverExit(["--state-dir", "/proc/laboratory-state"])
        #expect(impossible.status == 73)
        #expect(
            impossible.line
                == "laboratory-server: could not create the state directory /proc/laboratory-state: No such file or "
                + "directory")
        let forbidden = try await serverExit(["--state-dir", "/sys/laboratory-state"])
        #expect(forbidden.status == 77)
        #expect(
            forbidden.line.hasPrefix(
                "laboratory-server: could not create the state directory /sys/laboratory-state: "),
            "\(forbidden.line)")
    }

    @Test("a password file or host key that cannot be read for another reason (a directory) is EX_IOERR (74)")
    func unreadableForAnotherReason() async throws {
        let scratch = try ExitStatusTests.Scratch()
        let passwordFile = try await serverExit(["--password-file", scratch.path])
        #expect(passwordFile.status == 74)
        #expect(passwordFile.line.hasPrefix("laboratory-server: cannot read the password file \(scratch.path): "))
        #expect(passwordFile.line.contains("Is a directory (give the path of a file)"), "\(passwordFile.line)")

        let state = scratch.path + "/state"
        try FileManager.default.createDirectory(atPath: state + "/host_key.pem", withIntermediateDirectories: true)
        try FileManager.default.setAttributes([.posixPermissions: 0o700], ofItemAtPath: state)
        let hostKey = try await serverExit(["--state-dir", state])
        #expect(hostKey.status == 74)
        #expect(hostKey.line.hasPrefix("laboratory-server: cannot read the host key \(state)/host_key.pem: "))
        #expect(hostKey.line.contains("Is a directory (give the path of a file)"), "\(hostKey.line)")
    }

    @Test("--host with an address of another machine is EX_NOHOST (68), naming it")
    func addressOfAnotherMachine() async throws {
        // 192.0.2.1 is TEST-NET-1 (RFC 5737): documentation only, never a local address.
        let exit = try await serverExit(["--host", "192.0.2.1"])
        #expect(exit.status == 68)
        #expect(
            exit.line
                == "laboratory-server: cannot listen on 192.0.2.1:0: 192.0.2.1 is not an address of this machine; "
                + "use one of its addresses with --host, or 0.0.0.0 for all")
    }

    /// How to run the server without the privilege to bind port 80: as root, `setpriv` drops
    /// CAP_NET_BIND_SERVICE from the bounding set; as another user, nothing. `nil` when ports below
    /// 1024 are open to everyone on this machine (`net.ipv4.ip_unprivileged_port_start`), where
    /// the failure cannot happen.
    static let unprivilegedLauncher: [String]? = {
        let start =
            (try? String(contentsOfFile: "/proc/sys/net/ipv4/ip_unprivileged_port_start", encoding: .utf8))
            .flatMap { Int($0.trimmingCharacters(in: .whitespacesAndNewlines)) } ?? 1024
        guard start > 80 else { return nil }
        if geteuid() != 0 { return [] }
        let setpriv = ["/usr/bin/setpriv", "/bin/setpriv"].first { FileManager.default.isExecutableFile(atPath: $0) }
        return setpriv.map { [$0, "--bounding-set", "-net_bind_service"] }
    }()

    @Test(
        "a port below 1024 without the privilege is EX_NOPERM (77), naming the address and what to do",
        .enabled(if: unprivilegedLauncher != nil, "ports below 1024 are not privileged here, or setpriv is missing"))
    func privilegedPort() async throws {
        let launcher = try #require(Self.unprivilegedLauncher)
        let scratch = try ExitStatusTests.Scratch()
        let command = launcher + [ServerProcess.executableURL.path, "--port", "80", "--state-dir", scratch.path + "/s"]
        let server = try ChildProcess(
            executable: URL(fileURLWithPath: command[0]), arguments: Array(command.dropFirst()),
            environment: ["LABORATORY_PASSWORD": Self.password])
        let exit = Self.oneLine(await server.waitForExit())
        #expect(exit.status == 77)
        #expect(
            exit.line
                == "laboratory-server: cannot listen on 127.0.0.1:80: permission denied (ports below 1024 need "
                + "privileges); choose another --port from 1024 up")
    }

    @Test(
        "the client: a known-hosts file that cannot be written is EX_CANTCREAT (73), one that cannot be read EX_IOERR (74)"
    )
    func clientKnownHostsFiles() async throws {
        let server = try ServerProcess(arguments: [], environment: ["LABORATORY_PASSWORD": Self.password])
        let port = try #require(await server.value(after: "Listening on 127.0.0.1:"))
        let home = try ClientHome()
        // sysfs takes no new files, even from root.
        let unwritable = "/sys/laboratory-known-hosts"
        let write = try await ClientProcess.run(
            ["echo", "127.0.0.1:\(port)", "hi", "--accept-new", "--known-hosts", unwritable], home: home,
            password: Self.password)
        #expect(write.status == 73, "\(write.stderr)")
        #expect(write.stdout.isEmpty)
        #expect(write.stderr.split(separator: "\n").count == 1, "\(write.stderr)")
        #expect(
            write.stderr.hasPrefix(
                "laboratory: cannot record the server's key in the known-hosts file \(unwritable): "),
            "\(write.stderr)")
        #expect(write.stderr.hasSuffix("or choose another --known-hosts\n"), "\(write.stderr)")

        let scratch = try ExitStatusTests.Scratch()
        let read = try await ClientProcess.run(
            ["echo", "127.0.0.1:\(port)", "hi", "--known-hosts", scratch.path], home: home, password: Self.password)
        #expect(read.status == 74, "\(read.stderr)")
        #expect(
            read.stderr
                == "laboratory: could not read the known-hosts file \(scratch.path): Is a directory; fix or move it away\n"
        )

        let passwordFile = try await ClientProcess.run(
            ["echo", "127.0.0.1:\(port)", "hi", "--accept-new", "--password-file", scratch.path], home: home,
            password: nil)
        #expect(passwordFile.status == 74, "\(passwordFile.stderr)")
        #expect(
            passwordFile.stderr
                == "laboratory: cannot read the password file \(scratch.path): Is a directory; put the password on its "
                + "first line\n")
        server.interrupt()
        #expect(await server.waitForExit().status == 0)
    }

    @Test("SIGTERM stops the server gracefully with status 0, as SIGINT does")
    func stoppedBySIGTERM() async throws {
        let server = try ServerProcess(arguments: [], environment: ["LABORATORY_PASSWORD": Self.password])
        _ = try #require(await server.value(after: "Listening on 127.0.0.1:"))
        #expect(kill(server.pid, SIGTERM) == 0)
        let exit = await server.waitForExit()
        #expect(exit.status == 0, "\(exit.stderr)")
        #expect(!exit.stderr.contains("laboratory-server:"), "\(exit.stderr)")
    }

    @Test("the client refused for now (the server is full) is EX_TEMPFAIL (75), with the server's reason")
    func clientRefusedForNow() async throws {
        let server = try ServerProcess(
            arguments: ["--max-connections", "1"], environment: ["LABORATORY_PASSWORD": Self.password])
        let port = try #require(await server.value(after: "Listening on 127.0.0.1:"))
        // The one connection the server allows, accepted first (the listen queue is first in, first out).
        let holder = try await ClientBootstrap(group: MultiThreadedEventLoopGroup.singleton)
            .connect(host: "127.0.0.1", port: try #require(Int(port))).get()
        let home = try ClientHome()
        let run = try await ClientProcess.run(
            ["echo", "127.0.0.1:\(port)", "hi", "--accept-new"], home: home, password: Self.password)
        #expect(run.status == 75, "\(run.stderr)")
        #expect(
            run.stderr
                == "laboratory: the server at 127.0.0.1:\(port) closed the connection: the server has too many "
                + "connections (refused)\n")
        try await holder.close()
        server.interrupt()
        #expect(await server.waitForExit().status == 0)
    }

    @Test("the client against a listener that never answers: the handshake times out, EX_TEMPFAIL (75)")
    func clientHandshakeTimeout() async throws {
        // Accepts and never writes a byte. The client's handshake limit is 30 s (ClientSession's default).
        let silent = try await ServerBootstrap(group: MultiThreadedEventLoopGroup.singleton)
            .bind(host: "127.0.0.1", port: 0).get()
        let port = try #require(silent.localAddress?.port)
        let home = try ClientHome()
        let run = try await ClientProcess.run(
            ["echo", "127.0.0.1:\(port)", "hi", "--accept-new"], home: home, password: Self.password, timeout: 100)
        #expect(run.status == 75, "\(run.stderr)")
        #expect(
            run.stderr
                == "laboratory: the handshake with 127.0.0.1:\(port) timed out; try again, or check the server's load\n"
        )
        try await silent.close()
    }

    @Test("the client pointed at a web server: it broke the protocol, EX_PROTOCOL (76)")
    func clientProtocolViolation() async throws {
        let web = try await ServerBootstrap(group: MultiThreadedEventLoopGroup.singleton)
            .childChannelInitializer { channel in
                channel.eventLoop.makeCompletedFuture {
                    try channel.pipeline.syncOperations.addHandler(
                        Greeter("HTTP/1.1 400 Bad Request\r\nContent-Length: 0\r\n\r\n"))
                }
            }
            .bind(host: "127.0.0.1", port: 0).get()
        let port = try #require(web.localAddress?.port)
        let home = try ClientHome()
        let run = try await ClientProcess.run(
            ["echo", "127.0.0.1:\(port)", "hi", "--accept-new"], home: home, password: Self.password)
        #expect(run.status == 76, "\(run.stderr)")
        // "HTTP" read as a frame length is 0x48545450 bytes.
        #expect(
            run.stderr
                == "laboratory: the server at 127.0.0.1:\(port) broke the protocol: frame of 1213486160 bytes exceeds "
                + "the maximum of 1048576 bytes\n")
        try await web.close()
    }
}

/// Writes a fixed greeting to each connection as it opens, then ignores it: a server of another protocol.
private final class Greeter: ChannelInboundHandler, Sendable {
    typealias InboundIn = ByteBuffer
    typealias OutboundOut = ByteBuffer
    let greeting: String

    init(_ greeting: String) { self.greeting = greeting }

    func channelActive(context: ChannelHandlerContext) {
        context.writeAndFlush(wrapOutboundOut(ByteBuffer(string: greeting)), promise: nil)
        context.fireChannelActive()
    }
}
