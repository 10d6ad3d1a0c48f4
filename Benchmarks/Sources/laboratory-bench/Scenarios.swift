import Foundation
import NIOCore
import NIOPosix
import Synchronization

/// A server to drive and how to speak to it.
struct Target: Sendable {
    var name: String
    var server: ServerProcess
    var wire: Wire
}

/// Runs the scenarios against already started servers. Every measurement is bounded in time.
struct Scenarios {
    let group: any EventLoopGroup
    let board: StatsBoard
    let warmup: Duration
    let duration: Duration
    let log: @Sendable (String) -> Void
    /// Shell commands run as each measurement window opens and closes (profiling hooks).
    var hooks: (start: String?, end: String?) = (nil, nil)
    /// A shell command run once the sessions scenario's idle sessions are open (a heap snapshot).
    var sessionsOpenHook: String?

    func hook(_ command: String?) {
        guard let command else { return }
        _ = try? runCommand("/bin/sh", ["-c", command])
    }

    func connector(_ target: Target) -> Connector {
        Connector(group: group, host: "127.0.0.1", port: target.server.port, wire: target.wire)
    }

    // MARK: Echo and bulk

    /// Non-pipelined request/response at `connections` connections with `size`-byte bodies.
    func requestResponse(_ target: Target, connections: Int, size: Int) async throws -> Measurement {
        let control = RunControl()
        let board = self.board
        let connections = try await connector(target).connect(count: connections) { _, loop in
            EchoDriver(control: control, stats: board.stats(for: loop), size: size)
        }
        do {
            try await board.reset()
            control.set(.warmup)
            for connection in connections {
                let driver = connection.driver as! EchoDriver
                connection.eventLoop.execute { driver.start(connection) }
            }
            try await Task.sleep(for: warmup)
            let measurement = try await measure(target, control) { try await Task.sleep(for: duration) }
            await closeAll(connections)
            return measurement
        } catch {
            await closeAll(connections)
            throw error
        }
    }

    /// Measures one window: CPU of both processes, wall time, and every loop's stats.
    private func measure(
        _ target: Target, _ control: RunControl, lost: Int = 0, _ window: () async throws -> Void
    ) async throws -> Measurement {
        hook(hooks.start)
        let serverCPU0 = target.server.cpuTimes()
        let ownCPU0 = ownCPUSeconds()
        let start = ContinuousClock.now
        control.set(.measuring)
        try await window()
        control.set(.stopping)
        let elapsed = ContinuousClock.now - start
        hook(hooks.end)
        let serverCPU1 = target.server.cpuTimes()
        let ownCPU = ownCPUSeconds() - ownCPU0
        if !(await control.drain(timeout: .seconds(20))) { log("  warning: requests still in flight after 20 s") }
        let collected = try await board.collect()
        var measurement = Measurement(
            operations: collected.operations, seconds: elapsed.seconds, bytes: collected.bytes,
            latencies: collected.latencies,
            serverCPU: serverCPU1.user + serverCPU1.system - serverCPU0.user - serverCPU0.system,
            generatorCPU: ownCPU, errors: control.errors.load(ordering: .relaxed), lost: lost)
        measurement.serverSystemCPUSeconds = serverCPU1.system - serverCPU0.system
        return measurement
    }

    // MARK: Handshake

    /// Full handshakes at `concurrency`: each slot connects, is accepted, says bye, waits for the
    /// server to close, and starts again, on the generator's event loops (see `HandshakeSlot`).
    /// Against a plaintext baseline (started with `--handshake-shaped`) the same exchange without
    /// cryptography (``PlainHandshakeDriver``), from the same kind of slot.
    func handshakes(_ target: Target, concurrency: Int) async throws -> Measurement {
        let control = RunControl()
        let board = self.board
        let connector = connector(target)
        try await board.reset()
        control.set(.warmup)
        var slots: [HandshakeSlot] = []
        for _ in 0..<concurrency {
            let loop = group.next()
            let slot = HandshakeSlot(
                connector: connector, control: control, stats: board.stats(for: loop), loop: loop)
            slots.append(slot)
            slot.start()
        }
        do {
            try await Task.sleep(for: warmup)
            let result = try await measure(target, control) { try await Task.sleep(for: duration) }
            for slot in slots { try await slot.stopped.futureResult.get() }
            return result
        } catch {
            control.set(.stopping)
            for slot in slots { try? await slot.stopped.futureResult.get() }
            throw error
        }
    }

    // MARK: Fan-out

    /// One room of `members` members, the first `senders` of which also send; for each of
    /// `senderRates`, `repetitions` windows (interleaved with the other rates' on the same room) in
    /// which each sender keeps up to `window` `say` requests outstanding and paces its `say`s so
    /// that they cause at most that many deliveries a second (under the server's per-session
    /// delivery rate, which would refuse the rest). Every delivery is counted; a window ends when
    /// the last delivery of the last message accepted in it has arrived. A refused `say` is an
    /// error and is expected to deliver nothing; the wait for deliveries ends early if a member's
    /// connection ends (what it would have received can never arrive). Returns the windows of each
    /// rate, in the order of `senderRates`.
    func fanout(
        _ target: Target, members: Int, senders: Int, senderRates: [Int], window: Int, repetitions: Int
    ) async throws -> [[Measurement]] {
        let control = RunControl()
        let counters = FanoutCounters()
        let board = self.board
        control.set(.stopping)
        let senders = max(1, min(senders, members))
        let saysPerSecond = senderRates.map { Double($0) / Double(members) }
        log(
            "  fan-out: \(members) members joining; \(senders) senders, "
                + saysPerSecond.map { String(format: "%.2f", $0) }.joined(separator: " or ")
                + " says/s each, window \(window)")
        let joinStart = ContinuousClock.now
        let connections = try await connector(target).connect(count: members, parallel: 32) { index, loop in
            MemberDriver(
                index: index, control: control, stats: board.stats(for: loop), counters: counters, window: window)
        }
        // Every join is announced to everyone already in the room: N(N+1)/2 events in all.
        let joinEvents = members * (members + 1) / 2
        let settled = try await waitUntil(timeout: .seconds(120)) {
            counters.joined.load(ordering: .relaxed) == members
                && counters.eventsSeen.load(ordering: .relaxed) >= joinEvents
        }
        log(
            "  fan-out: joined in \(String(format: "%.1f", (ContinuousClock.now - joinStart).seconds)) s"
                + (settled ? "" : " (not all join events arrived)"))
        var results = [[Measurement]](repeating: [], count: senderRates.count)
        for repetition in 1...repetitions {
            for (rateIndex, pace) in saysPerSecond.enumerated() {
                results[rateIndex].append(
                    try await fanoutWindow(
                        target, members: members, senders: senders, saysPerSecond: pace,
                        connections: connections, control: control, counters: counters,
                        label: "#\(repetition)"
                            + (senderRates.count > 1 ? " at \(senderRates[rateIndex] * senders)/s offered" : "")))
            }
        }
        await closeAll(connections)
        return results
    }

    /// One measured window of the fan-out scenario, each sender pacing its `say`s at `saysPerSecond`.
    private func fanoutWindow(
        _ target: Target, members: Int, senders: Int, saysPerSecond: Double, connections: [BenchConnection],
        control: RunControl, counters: FanoutCounters, label: String
    ) async throws -> Measurement {
        try await board.reset()
        let sent0 = counters.saysSent.load(ordering: .relaxed)
        let accepted0 = counters.saysAccepted.load(ordering: .relaxed)
        let refused0 = counters.saysFailed.load(ordering: .relaxed)
        let lost0 = counters.membersLost.load(ordering: .relaxed)
        hook(hooks.start)
        let serverCPU0 = target.server.cpuTimes()
        let ownCPU0 = ownCPUSeconds()
        let start = monotonicNanoseconds()
        control.set(.measuring)
        for sender in connections.prefix(senders) {
            let driver = sender.driver as! MemberDriver
            sender.eventLoop.execute { driver.startSaying(sender, saysPerSecond: saysPerSecond) }
        }
        try await Task.sleep(for: duration)
        control.set(.stopping)
        _ = await control.drain(timeout: .seconds(30))
        let says = counters.saysSent.load(ordering: .relaxed) - sent0
        let accepted = counters.saysAccepted.load(ordering: .relaxed) - accepted0
        let refused = counters.saysFailed.load(ordering: .relaxed) - refused0
        // Only accepted messages are delivered; a refused one never will be.
        let expected = accepted * members
        var collected = try await board.collect()
        let deadline = ContinuousClock.now + .seconds(30)
        while collected.deliveriesTotal < expected && ContinuousClock.now < deadline
            && counters.membersLost.load(ordering: .relaxed) == lost0
        {
            try await Task.sleep(for: .milliseconds(20))
            collected = try await board.collect()
        }
        let end = counters.lastDelivery.load(ordering: .relaxed)
        hook(hooks.end)
        let serverCPU1 = target.server.cpuTimes()
        let serverCPU = serverCPU1.user + serverCPU1.system - serverCPU0.user - serverCPU0.system
        let ownCPU = ownCPUSeconds() - ownCPU0
        let lost = max(0, expected - collected.deliveriesTotal)
        var measurement = Measurement(
            operations: collected.deliveriesTotal, seconds: Double(end &- start) / 1e9, bytes: 0,
            latencies: collected.latencies, serverCPU: serverCPU, generatorCPU: ownCPU,
            errors: control.errors.load(ordering: .relaxed) + refused
                + counters.membersLost.load(ordering: .relaxed) - lost0, lost: lost)
        measurement.serverSystemCPUSeconds = serverCPU1.system - serverCPU0.system
        log(
            "  fan-out \(label): \(says) messages (\(refused) refused), "
                + "\(collected.deliveriesTotal)/\(expected) deliveries, "
                + "\(Int(measurement.operationsPerSecond))/s, p99 \(Int(measurement.p99Microseconds)) µs")
        return measurement
    }

    // MARK: Sessions

    /// Opens `count` idle accepted sessions on `target` and reports resident memory per session,
    /// plus a new client's handshake and echo latency before and with them.
    func sessions(_ target: Target, count: Int, fileLimit: Int) async throws -> SessionsResult {
        let before = try await probe(target)
        // Let the allocator settle after the probe's connections closed.
        try await Task.sleep(for: .milliseconds(500))
        let rssBefore = target.server.residentBytes()
        log("  sessions: opening \(count) (server RSS \(rssBefore / 1024) KiB)")
        let start = ContinuousClock.now
        // Go on past a few failures (a refusal at the server's connection cap ends the attempt).
        let (opened, failures) = try await connector(target).connect(
            count: count, parallel: 48, toleratingFailures: 20
        ) { _, _ in IdleDriver() }
        if let failure = failures.last {
            log("  sessions: \(failures.count) connections failed; the last: \(failure)")
        }
        let openSeconds = (ContinuousClock.now - start).seconds
        try await Task.sleep(for: .seconds(1))
        hook(sessionsOpenHook)
        let rssAfter = target.server.residentBytes()
        let alive = opened.filter { $0.channel?.isActive ?? false }.count
        log(
            "  sessions: \(alive) open after \(String(format: "%.1f", openSeconds)) s (server RSS \(rssAfter / 1024) KiB)"
        )
        let with = try await probe(target)
        await closeAll(opened)
        return SessionsResult(
            fileLimit: fileLimit, requested: count, opened: alive, openSeconds: openSeconds,
            residentBytesBefore: rssBefore, residentBytesAfter: rssAfter,
            residentBytesPerSession: alive > 0 ? Double(rssAfter - rssBefore) / Double(alive) : 0,
            probeBefore: before, probeWith: with)
    }

    /// 20 sequential handshakes, then one connection echoing 64 bytes for a second.
    private func probe(_ target: Target) async throws -> Probe {
        let handshake = try await limitedHandshakes(target, count: 20)
        let echo = try await Scenarios(
            group: group, board: board, warmup: .milliseconds(200), duration: .seconds(1), log: log
        ).requestResponse(target, connections: 1, size: 64)
        return Probe(
            handshakeP50Microseconds: handshake.p50Microseconds, handshakeP99Microseconds: handshake.p99Microseconds,
            echoP50Microseconds: echo.p50Microseconds, echoP99Microseconds: echo.p99Microseconds,
            echoErrors: echo.errors)
    }

    /// `count` handshakes one after another.
    private func limitedHandshakes(_ target: Target, count: Int) async throws -> Measurement {
        let control = RunControl()
        let board = self.board
        let connector = connector(target)
        try await board.reset()
        return try await measure(target, control) {
            for _ in 0..<count {
                let startedAt = monotonicNanoseconds()
                let connection = try await connector.connect { loop in
                    HandshakeDriver(control: control, stats: board.stats(for: loop), startedAt: startedAt)
                }
                try await connection.channel?.closeFuture.get()
            }
        }
    }

    private func waitUntil(timeout: Duration, _ condition: () -> Bool) async throws -> Bool {
        let deadline = ContinuousClock.now + timeout
        while !condition() {
            if ContinuousClock.now >= deadline { return false }
            try await Task.sleep(for: .milliseconds(20))
        }
        return true
    }
}

extension Duration {
    var seconds: Double {
        Double(components.seconds) + Double(components.attoseconds) / 1e18
    }
}
