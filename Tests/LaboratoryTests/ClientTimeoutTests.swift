import Foundation
import LaboratoryClient
import LaboratoryProtocol
import LaboratoryTestSupport
import LaboratoryTransport
import NIOCore
import NIOPosix
import Testing

/// Client timeouts below a second: they were once computed from whole seconds only, so 500 ms
/// became 0.
@Suite("Client timeouts", .timeLimit(.minutes(1)))
struct ClientTimeoutTests {
    @Test(
        "durations convert without losing their fractions, and clamp",
        arguments: [
            (Duration.milliseconds(500), Int64(500_000_000), UInt64(500)),
            (.seconds(2) + .microseconds(1500), 2_001_500_000, 2001),
            (.nanoseconds(999_999), 999_999, 0),
            (.seconds(-3), 0, 0),
            (.zero, 0, 0),
            (.seconds(Int64.max), Int64.max, UInt64.max),
        ])
    func conversions(duration: Duration, nanoseconds: Int64, milliseconds: UInt64) {
        #expect(duration.clampedNanoseconds == nanoseconds)
        #expect(duration.wholeMilliseconds == milliseconds)
    }

    @Test("the wall clock in milliseconds since 1970 agrees with Foundation's")
    func wallClock() {
        let before = UInt64(Date().timeIntervalSince1970 * 1000)
        let now = Duration.sinceUnixEpoch.wholeMilliseconds
        let after = UInt64(Date().timeIntervalSince1970 * 1000)
        #expect(before <= now && now <= after + 1)
    }

    @Test("the connect timeout reaches NIO's bootstrap with its fraction of a second")
    func connectTimeAmount() {
        var configuration = ClientConfiguration()
        configuration.connectTimeout = .milliseconds(500)
        #expect(ClientSession.connectTimeAmount(configuration) == .milliseconds(500))
        configuration.connectTimeout = .seconds(2) + .microseconds(1)
        #expect(ClientSession.connectTimeAmount(configuration) == .nanoseconds(2_000_001_000))
    }

    @Test("the handshake timeout fails a server that never sends its hello when the clock reaches it (test clock)")
    func handshakeTimeout() async throws {
        let clock = TestClock()
        var configuration = ClientConfiguration()
        configuration.handshakeTimeout = .seconds(30)
        configuration.clock = AnyTimerClock(clock)
        let error = try await handshakeTimeoutError(after: .seconds(30), on: clock) { [configuration] port in
            try await ClientSession.connect(
                host: "127.0.0.1", port: port, password: "x", name: "ada",
                trust: .pinned(fingerprint: "SHA256:none"), configuration: configuration)
        }
        #expect(error?.code == .handshakeTimeout)
    }

    @Test("a 500 ms connect timeout connects to a live server")
    func subSecondTimeoutConnects() async throws {
        try await LiveServer.with { live in
            var configuration = ClientConfiguration()
            configuration.connectTimeout = .milliseconds(500)
            configuration.handshakeTimeout = .seconds(10)
            let session = try await live.connect(configuration: configuration)
            #expect(try await session.request(service: "echo", body: [1]) == [1])
            await session.close()
        }
    }

    @Test("a 500 ms connect timeout gives up after about 500 ms on a listener that never answers")
    func subSecondTimeoutExpires() async throws {
        let listener = try StalledListener()
        defer { listener.close() }
        var configuration = ClientConfiguration()
        configuration.connectTimeout = .milliseconds(500)
        let start = ContinuousClock.now
        let error = await #expect(throws: ClientError.self) {
            try await ClientSession.connect(
                host: "127.0.0.1", port: listener.port, password: "x", name: "ada",
                trust: .pinned(fingerprint: "SHA256:none"), configuration: configuration)
        }
        let elapsed = ContinuousClock.now - start
        #expect(error?.code == .connectionFailed)
        #expect(elapsed >= .milliseconds(400), "gave up after \(elapsed)")
        #expect(elapsed < .seconds(5), "gave up after \(elapsed)")
    }
}

/// A loopback listener whose accept queue is full, so a new connection's SYN goes unanswered and
/// `connect` hangs until the client's own timeout.
final class StalledListener: Sendable {
    let port: Int
    private let descriptors: [Int32]

    init() throws {
        let server = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        address.sin_port = 0
        var length = socklen_t(MemoryLayout<sockaddr_in>.size)
        let bound = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(server, $0, length) }
        }
        guard bound == 0, listen(server, 0) == 0 else { throw POSIXErrorCode.EADDRINUSE.error }
        _ = withUnsafeMutablePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { getsockname(server, $0, &length) }
        }
        let port = Int(UInt16(bigEndian: address.sin_port))
        // Fill the accept queue (backlog 0 holds one; a few more make sure) without accepting.
        var fillers: [Int32] = []
        for _ in 0..<3 {
            let client = socket(AF_INET, Int32(SOCK_STREAM.rawValue) | Int32(SOCK_NONBLOCK.rawValue), 0)
            _ = withUnsafePointer(to: &address) {
                $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                    connect(client, $0, socklen_t(MemoryLayout<sockaddr_in>.size))
                }
            }
            fillers.append(client)
        }
        // Give the kernel a moment to complete the queued handshakes.
        usleep(100_000)
        self.port = port
        self.descriptors = [server] + fillers
    }

    func close() {
        for descriptor in descriptors { _ = Glibc.close(descriptor) }
    }
}

extension POSIXErrorCode {
    fileprivate var error: POSIXError { POSIXError(self) }
}
