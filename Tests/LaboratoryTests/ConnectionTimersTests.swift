@_spi(Benchmarks) import LaboratoryCrypto
@_spi(Benchmarks) import LaboratoryProtocol
import LaboratoryTestSupport
import LaboratoryTransport
import NIOConcurrencyHelpers
import NIOCore
import NIOEmbedded
import Testing

@testable import Laboratory

/// A connection's deadlines and timers on a test clock: each test advances the clock and looks at
/// what the connection sent (through its real ``Outbound``, on an in-memory channel), so nothing
/// sleeps and every boundary is exact.
@Suite("Connection timers")
struct ConnectionTimersTests {
    final class Harness: Sendable {
        let clock = TestClock()
        let timeline: AnyTimerClock
        let channel = EmbeddedChannel()
        let outbound: Outbound
        let timers: ConnectionTimers
        private let deadlines = NIOLockedValueBox(0)

        init(keepalive: Duration? = .seconds(30), idle: Duration? = .seconds(90)) throws {
            timeline = AnyTimerClock(clock)
            try channel.connect(to: SocketAddress(ipAddress: "127.0.0.1", port: 1)).wait()
            var limits = OutboundLimits()
            limits.closeTimeout = .seconds(2)
            outbound = Outbound(channel: channel, limits: limits, clock: timeline)
            let deadlines = self.deadlines
            timers = ConnectionTimers(
                outbound: outbound, clock: timeline, keepaliveInterval: keepalive, idleTimeout: idle,
                shutdownGracePeriod: .seconds(5), handshakeDeadlinePassed: { deadlines.withLockedValue { $0 += 1 } })
        }

        /// How often the handshake's deadline has passed.
        var deadlinesPassed: Int { deadlines.withLockedValue { $0 } }

        /// Moves the clock, then runs what fell due on the channel's event loop.
        func advance(by duration: Duration) {
            clock.advance(by: duration)
            channel.embeddedEventLoop.run()
        }

        func deadline(in duration: Duration) -> AnyTimerClock.Instant { timeline.now.advanced(by: duration) }

        /// The messages the connection has written since the last call.
        func sent() throws -> [ServerMessage] {
            channel.embeddedEventLoop.run()
            var messages: [ServerMessage] = []
            while var frame = try channel.readOutbound(as: ByteBuffer.self) {
                let length = frame.readInteger(as: UInt32.self)
                let payload = length.flatMap { frame.readBytes(length: Int($0)) }
                messages.append(try ServerMessage(decoding: try #require(payload)))
            }
            return messages
        }
    }

    @Test("the handshake's deadline passes when the clock reaches it; a new one replaces it, nil disarms it")
    func handshakeDeadline() throws {
        let harness = try Harness()
        harness.timers.setHandshakeDeadline(harness.deadline(in: .seconds(10)))
        harness.advance(by: .seconds(10) - .nanoseconds(1))
        #expect(harness.deadlinesPassed == 0)
        // The next step's deadline replaces it: the first one never passes.
        harness.timers.setHandshakeDeadline(harness.deadline(in: .seconds(5)))
        harness.advance(by: .seconds(5) - .nanoseconds(1))
        #expect(harness.deadlinesPassed == 0)
        harness.advance(by: .nanoseconds(1))
        #expect(harness.deadlinesPassed == 1)
        // Accepted: `.setDeadline(nil)`.
        harness.timers.setHandshakeDeadline(harness.deadline(in: .seconds(5)))
        harness.timers.setHandshakeDeadline(nil)
        harness.advance(by: .seconds(3600))
        #expect(harness.deadlinesPassed == 1)
        #expect(try harness.sent().isEmpty)
    }

    @Test("a deadline already past when it is set passes at once")
    func pastDeadline() throws {
        let harness = try Harness()
        let deadline = harness.deadline(in: .seconds(1))
        harness.advance(by: .seconds(2))
        harness.timers.setHandshakeDeadline(deadline)
        harness.channel.embeddedEventLoop.run()
        #expect(harness.deadlinesPassed == 1)
    }

    @Test("keepalive pings after each interval of silence, once per silence; the idle timeout closes the session")
    func keepaliveAndIdle() throws {
        let harness = try Harness(keepalive: .seconds(30), idle: .seconds(90))
        harness.timers.accepted()
        harness.advance(by: .seconds(30) - .nanoseconds(1))
        #expect(try harness.sent().isEmpty)
        harness.advance(by: .nanoseconds(1))
        let first = try harness.sent()
        #expect(first.count == 1)
        guard case .ping? = first.first else {
            Issue.record("expected a ping, got \(first)")
            return
        }
        // The client answers at once (t = 30 s), then falls silent.
        harness.timers.frameReceived()
        harness.advance(by: .seconds(30))
        #expect(try harness.sent().count == 1, "a second ping after another 30 s of silence")
        // The second ping is unanswered: no third one, however long the silence.
        harness.advance(by: .seconds(30))
        #expect(try harness.sent().isEmpty)
        // 90 s after the last frame (t = 120 s): closed as idle.
        harness.advance(by: .seconds(30) - .nanoseconds(1))
        #expect(try harness.sent().isEmpty)
        harness.advance(by: .nanoseconds(1))
        let closing = try harness.sent()
        guard case .closing(let reason)? = closing.first else {
            Issue.record("expected the idle timeout's closing, got \(closing)")
            return
        }
        #expect(reason.code == .idleTimeout)
        #expect(harness.outbound.failure?.code == .idleTimeout)
    }

    @Test("an idle timeout without keepalive is counted from the last frame")
    func idleWithoutKeepalive() throws {
        let harness = try Harness(keepalive: nil, idle: .seconds(60))
        harness.timers.accepted()
        harness.advance(by: .seconds(40))
        harness.timers.frameReceived()
        // Due at 60 s from the start: the frame at 40 s moves it to 100 s.
        harness.advance(by: .seconds(59))
        #expect(try harness.sent().isEmpty)
        harness.advance(by: .seconds(1))
        #expect(harness.outbound.failure?.code == .idleTimeout)
    }

    @Test("a shutdown gives an accepted session its grace period, then closes it")
    func gracePeriodAndCloseTimeout() throws {
        let harness = try Harness(keepalive: nil, idle: nil)
        harness.timers.accepted()
        harness.timers.shutDown()
        #expect(try harness.sent() == [.serverStopping(graceMilliseconds: 5000)])
        harness.advance(by: .seconds(5) - .nanoseconds(1))
        #expect(try harness.sent().isEmpty)
        harness.advance(by: .nanoseconds(1))
        let closing = try harness.sent()
        guard case .closing(let reason)? = closing.first else {
            Issue.record("expected the grace period's closing, got \(closing)")
            return
        }
        #expect(reason.code == .serverStopping)
    }

    @Test("a closing connection whose peer never closes its side is closed at the close timeout")
    func closeTimeout() throws {
        let harness = try Harness()
        harness.outbound.closeAfterTimeout()
        harness.advance(by: .seconds(2) - .nanoseconds(1))
        #expect(harness.channel.isActive)
        harness.advance(by: .nanoseconds(1))
        #expect(!harness.channel.isActive)
    }

    @Test("a shutdown ends an unaccepted connection at once")
    func shutdownBeforeAcceptance() throws {
        let harness = try Harness()
        harness.timers.shutDown()
        #expect(harness.outbound.failure?.code == .serverStopping)
    }

    @Test("once the connection has ended, no timer fires and none starts")
    func cancelAll() throws {
        let harness = try Harness(keepalive: .seconds(1), idle: .seconds(2))
        harness.timers.setHandshakeDeadline(harness.deadline(in: .seconds(1)))
        harness.timers.accepted()
        harness.timers.cancelAll()
        harness.timers.setHandshakeDeadline(harness.deadline(in: .seconds(1)))
        harness.timers.shutDown()
        harness.advance(by: .seconds(3600))
        #expect(harness.deadlinesPassed == 0)
        #expect(try harness.sent().isEmpty)
        #expect(harness.clock.pendingCount == 0, "no timer is left waiting on the clock")
    }
}
