@_spi(Benchmarks) import LaboratoryProtocol
import NIOCore
import Synchronization

/// Non-pipelined request/response: one request in flight per connection, the next sent as soon as
/// the answer arrives. Used for echo (64 B) and bulk (64 KiB) against every server.
final class EchoDriver: ConnectionDriver, @unchecked Sendable {
    // Safety: its vars are used only by its connection's handler, on that channel's event loop.
    private let control: RunControl
    private let stats: LoopStats
    private let body: [UInt8]
    private let plainBody: ByteBuffer
    private var sentAt: UInt64 = 0
    private var outstanding = false

    init(control: RunControl, stats: LoopStats, size: Int) {
        self.control = control
        self.stats = stats
        self.body = (0..<size).map { UInt8(truncatingIfNeeded: $0 &* 31) }
        self.plainBody = ByteBuffer(bytes: body)
    }

    func ready(_ connection: BenchConnection) {}

    /// Starts the request loop (call on the connection's event loop).
    func start(_ connection: BenchConnection) { sendNext(connection) }

    private func sendNext(_ connection: BenchConnection) {
        guard control.phase != .stopping else { return }
        control.inFlight.add(1, ordering: .relaxed)
        outstanding = true
        sentAt = monotonicNanoseconds()
        switch connection.wire {
        case .plain: connection.writeFrame(plainBody)
        case .laboratory: connection.request(service: "echo", body: body)
        }
    }

    func received(_ connection: BenchConnection, payload: ByteBuffer) {
        if payload.readableBytes != body.count { control.errors.add(1, ordering: .relaxed) }
        complete(connection)
    }

    func received(_ connection: BenchConnection, response: ResponseHead, body: UnsafeRawBufferPointer) {
        if response.status != .ok || body.count != self.body.count { control.errors.add(1, ordering: .relaxed) }
        complete(connection)
    }

    private func complete(_ connection: BenchConnection) {
        let elapsed = monotonicNanoseconds() &- sentAt
        if control.phase == .measuring { stats.record(nanoseconds: elapsed, bytes: body.count) }
        outstanding = false
        control.inFlight.subtract(1, ordering: .relaxed)
        sendNext(connection)
    }

    func closed(_ connection: BenchConnection) {
        guard outstanding else { return }
        outstanding = false
        control.errors.add(1, ordering: .relaxed)
        control.inFlight.subtract(1, ordering: .relaxed)
    }
}

/// One handshake per connection: records the time from `connect()` to `accepted`, then says bye.
final class HandshakeDriver: ConnectionDriver, Sendable {
    private let control: RunControl
    private let stats: LoopStats
    private let startedAt: UInt64

    init(control: RunControl, stats: LoopStats, startedAt: UInt64) {
        self.control = control
        self.stats = stats
        self.startedAt = startedAt
    }

    func ready(_ connection: BenchConnection) {
        let elapsed = monotonicNanoseconds() &- startedAt
        if control.phase == .measuring { stats.record(nanoseconds: elapsed) }
        // The server answers bye with `closing` and closes the connection.
        connection.send(.bye)
    }
}

/// An accepted session that only waits (the sessions scenario).
final class IdleDriver: ConnectionDriver, Sendable {
    func ready(_ connection: BenchConnection) {}
}

/// Shared counters of the fan-out scenario.
final class FanoutCounters: Sendable {
    let joined = Atomic<Int>(0)
    let eventsSeen = Atomic<Int>(0)
    let saysSent = Atomic<Int>(0)
    /// `say`s answered `ok`: each is delivered to every member.
    let saysAccepted = Atomic<Int>(0)
    /// `say`s refused (a rate limit, an error): errors, delivered to no one.
    let saysFailed = Atomic<Int>(0)
    let membersLost = Atomic<Int>(0)
    /// The latest delivery's time (monotonic ns), to end the window at the last delivery.
    let lastDelivery = Atomic<UInt64>(0)
}

/// A chat room member. It joins on acceptance, counts every message event (the marker in the text
/// carries the sender's monotonic send time, so latency needs no shared table), and the first few
/// members also send: each keeps up to `window` `say` requests outstanding while the run is
/// measuring, paced to `saysPerSecond` (say number k of a window goes no earlier than k / rate after
/// the window's start), so that it stays within the server's delivery rate per session.
final class MemberDriver: ConnectionDriver, @unchecked Sendable {
    // Safety: its vars are used only by its connection's handler, on that channel's event loop.
    static let room = "fanout"
    private let control: RunControl
    private let stats: LoopStats
    private let counters: FanoutCounters
    private let name: String
    private let window: Int
    /// Nanoseconds between two `say`s of this sender (set by `startSaying`).
    private var interval: UInt64 = 1_000_000_000
    private var joinID: UInt64 = 0
    private var saysOutstanding = 0
    /// When the next `say` may go (monotonic ns).
    private var nextSayAt: UInt64 = 0
    private var timerScheduled = false

    init(index: Int, control: RunControl, stats: LoopStats, counters: FanoutCounters, window: Int) {
        self.control = control
        self.stats = stats
        self.counters = counters
        self.name = "m\(index)"
        self.window = window
    }

    func ready(_ connection: BenchConnection) {
        joinID = connection.request(service: "chat", body: Array(#"{"op":"join","room":"\#(Self.room)"}"#.utf8))
    }

    /// Sender only: starts a window of `say`s, `saysPerSecond` of them at most (on the
    /// connection's event loop).
    func startSaying(_ connection: BenchConnection, saysPerSecond: Double) {
        interval = UInt64(1e9 / max(saysPerSecond, 0.001))
        nextSayAt = monotonicNanoseconds()
        sayWhileAllowed(connection)
    }

    /// Sends `say`s while the window has room and the pace allows; otherwise waits for an answer
    /// or for the time of the next one.
    private func sayWhileAllowed(_ connection: BenchConnection) {
        while control.phase == .measuring, saysOutstanding < window {
            let now = monotonicNanoseconds()
            guard now >= nextSayAt else {
                guard !timerScheduled else { return }
                timerScheduled = true
                connection.eventLoop.scheduleTask(in: .nanoseconds(Int64(nextSayAt - now))) {
                    self.timerScheduled = false
                    self.sayWhileAllowed(connection)
                }
                return
            }
            nextSayAt += interval
            say(connection)
        }
    }

    private func say(_ connection: BenchConnection) {
        saysOutstanding += 1
        control.inFlight.add(1, ordering: .relaxed)
        counters.saysSent.add(1, ordering: .relaxed)
        let text = "T\(monotonicNanoseconds())"
        connection.request(
            service: "chat", body: Array(#"{"op":"say","room":"\#(Self.room)","text":"\#(text)"}"#.utf8))
    }

    var readsEventsInPlace: Bool { true }

    /// A chat event, read where it lies in the opened frame (no `ServerMessage`, no copies).
    func received(_ connection: BenchConnection, eventBody body: UnsafeRawBufferPointer) {
        counters.eventsSeen.add(1, ordering: .relaxed)
        guard let sentAt = Self.marker(in: body) else { return }
        let now = monotonicNanoseconds()
        stats.record(nanoseconds: now &- sentAt)
        stats.deliveriesTotal += 1
        _ = counters.lastDelivery.max(now, ordering: .relaxed)
    }

    func received(_ connection: BenchConnection, message: ServerMessage) {
        switch message {
        case .event(let event):
            event.body.withUnsafeBytes { received(connection, eventBody: $0) }
        case .response(let response) where response.requestID == joinID:
            if response.status == .ok {
                counters.joined.add(1, ordering: .relaxed)
            } else {
                control.errors.add(1, ordering: .relaxed)
            }
        case .response(let response):
            saysOutstanding -= 1
            control.inFlight.subtract(1, ordering: .relaxed)
            if response.status == .ok {
                counters.saysAccepted.add(1, ordering: .relaxed)
            } else {
                counters.saysFailed.add(1, ordering: .relaxed)
            }
            sayWhileAllowed(connection)
        default:
            break
        }
    }

    func closed(_ connection: BenchConnection) {
        counters.membersLost.add(1, ordering: .relaxed)
        if saysOutstanding > 0 {
            control.inFlight.subtract(saysOutstanding, ordering: .relaxed)
            saysOutstanding = 0
        }
    }

    /// The number after `:"T` in a chat event's JSON (the `text` field this generator wrote).
    static func marker(in body: [UInt8]) -> UInt64? {
        body.withUnsafeBytes { marker(in: $0) }
    }

    /// The number after `:"T` in a chat event's JSON (the `text` field this generator wrote).
    static func marker(in body: UnsafeRawBufferPointer) -> UInt64? {
        let count = body.count
        var index = 0
        while index + 3 < count {
            if body[index] == UInt8(ascii: ":") && body[index + 1] == UInt8(ascii: "\"")
                && body[index + 2] == UInt8(ascii: "T")
            {
                var value: UInt64 = 0
                var cursor = index + 3
                var digits = 0
                while cursor < count, body[cursor] >= 0x30, body[cursor] <= 0x39 {
                    value = value &* 10 &+ UInt64(body[cursor] - 0x30)
                    cursor += 1
                    digits += 1
                }
                if digits > 0, cursor < count, body[cursor] == UInt8(ascii: "\"") { return value }
            }
            index += 1
        }
        return nil
    }
}
