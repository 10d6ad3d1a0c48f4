@_spi(Benchmarks) import LaboratoryProtocol
import NIOCore
import Synchronization

/// Shared counters of the chat-store scenario.
final class RelayCounters: Sendable {
    let joined = Atomic<Int>(0)
    let joinsFailed = Atomic<Int>(0)
    let saysFailed = Atomic<Int>(0)
    let connectionsLost = Atomic<Int>(0)
}

/// A member of the chat-store scenario's room. A sender (on node 1) keeps `window` `say`
/// requests outstanding while the run is not stopping, each text carrying its send time; a
/// receiver (on node 2) records, for every message event, the time from that send to its
/// arrival: the end-to-end latency through the store, from one node to the other.
final class RelayDriver: ConnectionDriver, @unchecked Sendable {
    // Safety: its vars are used only by its connection's handler, on that channel's event loop.
    enum Role {
        case sender(window: Int)
        case receiver
    }

    private let role: Role
    private let room: String
    private let control: RunControl
    private let stats: LoopStats
    private let counters: RelayCounters
    private var joinID: UInt64 = 0
    private var outstanding = 0

    init(role: Role, room: String, control: RunControl, stats: LoopStats, counters: RelayCounters) {
        self.role = role
        self.room = room
        self.control = control
        self.stats = stats
        self.counters = counters
    }

    func ready(_ connection: BenchConnection) {
        joinID = connection.request(service: "chat", body: Array(#"{"op":"join","room":"\#(room)"}"#.utf8))
    }

    /// Sender only: fills the window (on the connection's event loop).
    func startSaying(_ connection: BenchConnection) {
        guard case .sender(let window) = role else { return }
        while outstanding < window && control.phase != .stopping { say(connection) }
    }

    private func say(_ connection: BenchConnection) {
        outstanding += 1
        control.inFlight.add(1, ordering: .relaxed)
        connection.request(
            service: "chat",
            body: Array(#"{"op":"say","room":"\#(room)","text":"T\#(monotonicNanoseconds())"}"#.utf8))
    }

    func received(_ connection: BenchConnection, message: ServerMessage) {
        switch message {
        case .event(let event):
            guard case .receiver = role, let sentAt = MemberDriver.marker(in: event.body) else { return }
            if control.phase == .measuring { stats.record(nanoseconds: monotonicNanoseconds() &- sentAt) }
            stats.deliveriesTotal += 1
        case .response(let response) where response.requestID == joinID:
            if response.status == .ok {
                counters.joined.add(1, ordering: .relaxed)
            } else {
                counters.joinsFailed.add(1, ordering: .relaxed)
            }
        case .response(let response):
            outstanding -= 1
            control.inFlight.subtract(1, ordering: .relaxed)
            if response.status != .ok { counters.saysFailed.add(1, ordering: .relaxed) }
            if control.phase != .stopping { say(connection) }
        default:
            break
        }
    }

    func closed(_ connection: BenchConnection) {
        if control.phase != .stopping { counters.connectionsLost.add(1, ordering: .relaxed) }
        if outstanding > 0 {
            control.inFlight.subtract(outstanding, ordering: .relaxed)
            outstanding = 0
        }
    }
}

extension Scenarios {
    /// One room across two nodes on one PostgreSQL database: `clients` senders on `first`, each
    /// with one `say` outstanding (as each pgbench client has one transaction), and one receiver
    /// on `second`. Messages/s are the messages the receiver got in the window; latency is from
    /// a sender's `say` to the receiver's event. Server CPU is both nodes'.
    func chatStore(first: Target, second: Target, clients: Int, room: String) async throws -> Measurement {
        let control = RunControl()
        let counters = RelayCounters()
        let board = self.board
        control.set(.stopping)
        let receiver = try await connector(second).connect { loop in
            RelayDriver(
                role: .receiver, room: room, control: control, stats: board.stats(for: loop), counters: counters)
        }
        let senders = try await connector(first).connect(count: clients, parallel: 8) { _, loop in
            RelayDriver(
                role: .sender(window: 1), room: room, control: control, stats: board.stats(for: loop),
                counters: counters)
        }
        let all = [receiver] + senders
        let deadline = ContinuousClock.now + .seconds(60)
        while counters.joined.load(ordering: .relaxed) + counters.joinsFailed.load(ordering: .relaxed) < all.count {
            guard ContinuousClock.now < deadline else { throw ConnectionFailed(description: "joins never answered") }
            try await Task.sleep(for: .milliseconds(20))
        }
        guard counters.joinsFailed.load(ordering: .relaxed) == 0 else {
            await closeAll(all)
            throw ConnectionFailed(description: "a join in the chat-store scenario failed")
        }
        try await board.reset()
        control.set(.warmup)
        for sender in senders {
            let driver = sender.driver as! RelayDriver
            sender.eventLoop.execute { driver.startSaying(sender) }
        }
        try await Task.sleep(for: warmup)
        let cpu0 = first.server.cpuSeconds() + second.server.cpuSeconds()
        let ownCPU0 = ownCPUSeconds()
        let start = ContinuousClock.now
        control.set(.measuring)
        try await Task.sleep(for: duration)
        control.set(.stopping)
        let elapsed = ContinuousClock.now - start
        let cpu = first.server.cpuSeconds() + second.server.cpuSeconds() - cpu0
        let ownCPU = ownCPUSeconds() - ownCPU0
        if !(await control.drain(timeout: .seconds(20))) { log("  warning: says still in flight after 20 s") }
        let collected = try await board.collect()
        await closeAll(all)
        let errors =
            control.errors.load(ordering: .relaxed) + counters.saysFailed.load(ordering: .relaxed)
            + counters.connectionsLost.load(ordering: .relaxed)
        return Measurement(
            operations: collected.operations, seconds: elapsed.seconds, bytes: 0, latencies: collected.latencies,
            serverCPU: cpu, generatorCPU: ownCPU, errors: errors)
    }
}
