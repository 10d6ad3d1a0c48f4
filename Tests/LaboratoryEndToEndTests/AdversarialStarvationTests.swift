import Laboratory
import LaboratoryProtocol
@_spi(Benchmarks) import LaboratoryProtocol
import LaboratoryTestSupport
import NIOCore
import Synchronization
import Testing

extension Adversarial {
    /// Attacks that try to keep every unfinished-handshake slot taken so that nobody else can
    /// start a handshake, against the `laboratory-server` process with its default admission
    /// limits and shortened handshake deadlines. An honest client from an address of its own
    /// (no penalty, nothing else open) runs full handshakes throughout and must complete at
    /// least 99% of them, 99% within 2 s.
    @Suite("Pre-authentication starvation", .timeLimit(.minutes(1)))
    struct StarvationTests {
        /// The handshake deadlines the target runs with (step and total alike), so that each
        /// attack cycles in seconds rather than the default 30.
        static let deadline = Duration.seconds(Sanitizer.isActive ? 9 : 3)
        static let honestSource = "127.250.0.1"

        static func startTarget(_ arguments: [String] = []) async throws -> TargetProcess {
            let seconds = deadline.wholeSeconds
            return try await TargetProcess.start(
                ["--handshake-step-timeout", "\(seconds)", "--handshake-timeout", "\(seconds)"] + arguments)
        }

        /// The attackers' addresses, 127.20.0.0/16 for the cycling attack and 127.21.0.0/16 for
        /// the flood, each in a /24 of its own.
        static func attackers(_ block: Int, _ count: Int) -> [String] {
            (0..<count).map { AttackSource.network(block: block, $0) }
        }

        /// With `penalised` false the attackers' block is exempt from penalties: with deadlines
        /// shortened to seconds, the 1 s each closed connection earns would otherwise add up
        /// and stop the attack, while with the default 30 s deadline it drains between rounds
        /// ("the penalty each source earns does not slow it"). Fair shares and eviction alone
        /// must then keep the honest client served. With penalties on, the attackers' sources are
        /// also locked out after their first round or two.
        @Test(
            "40 sources × 7 silent connections, each closed just before the deadline and reopened at once",
            arguments: [false, true])
        func cyclingHolders(penalised: Bool) async throws {
            let target = try await Self.startTarget(penalised ? [] : ["--penalty-exempt", "127.20.0.0/16"])
            let attack = SlotHolders(
                port: target.port, sources: Self.attackers(20, 40), perSource: 7,
                holdFor: Self.deadline - Duration.milliseconds(300))
            let attackers = Task { await attack.run() }
            // The attack has the table (256 slots) in hand before the honest client starts.
            #expect(await attack.waitForAdmitted(256, within: .seconds(10)))
            let honest = await HonestHandshakes.run(port: target.port, from: Self.honestSource, count: 120)
            attack.stop()
            await attackers.value
            print(
                "starvation, cycling holders (penalties \(penalised ? "on" : "exempt")): attackers \(attack.summary); honest: \(honest)"
            )
            honest.expectGoal()
            // Unslowed by penalties, the attack fills the table (256 slots) at some point: either a
            // newcomer got in by evicting one of its connections, or it held nearly every slot at
            // once. (A check of the attack's strength, not of the server: under a sanitizer the
            // attacking clients are slowed as much as the server, and may not fill the table.)
            if !penalised, !Sanitizer.isActive {
                #expect(attack.evictions > 0 || attack.mostHeld >= 250, "\(attack.summary)")
            }
            await target.stop()
        }

        @Test("2,000 silent connections from 49 addresses", arguments: [false, true])
        func silentFlood(penalised: Bool) async throws {
            let target = try await Self.startTarget(penalised ? [] : ["--penalty-exempt", "127.21.0.0/16"])
            // 49 addresses, each in a /24 of its own, open 2,000 connections in about 4 s and
            // never send a byte: the server closes what it admits at the handshake deadline.
            let attack = SlotHolders(
                port: target.port, sources: Self.attackers(21, 49), perSource: 0,
                holdFor: Self.deadline + Duration.seconds(5))
            let attackers = Task { await attack.flood(count: 2000, every: .milliseconds(2)) }
            #expect(await attack.waitForAdmitted(200, within: .seconds(10)))
            let honest = await HonestHandshakes.run(port: target.port, from: Self.honestSource, count: 120)
            let stillRunning = !attack.isFinished
            await attackers.value
            print(
                "starvation, silent flood (penalties \(penalised ? "on" : "exempt")): attackers \(attack.summary); honest: \(honest)"
            )
            #expect(
                stillRunning || attack.finishedAfter(honest.started), "the flood ended before the honest client began")
            honest.expectGoal()
            // Unslowed by penalties, the attack fills the table (256 slots) at some point: either a
            // newcomer got in by evicting one of its connections, or it held nearly every slot at
            // once. (A check of the attack's strength, not of the server: under a sanitizer the
            // attacking clients are slowed as much as the server, and may not fill the table.)
            if !penalised, !Sanitizer.isActive {
                #expect(attack.evictions > 0 || attack.mostHeld >= 250, "\(attack.summary)")
            }
            await target.stop()
        }
    }
}

/// Silent connections that take unfinished-handshake slots from many source addresses.
final class SlotHolders: Sendable {
    let port: Int
    let sources: [String]
    let perSource: Int
    /// How long an admitted connection stays open (unless the server closes it first).
    let holdFor: Duration
    private let admitted = Atomic<Int>(0)
    private let refused = Atomic<Int>(0)
    private let closedByServer = Atomic<Int>(0)
    private let evicted = Atomic<Int>(0)
    /// Connections admitted and not yet closed, now and at most.
    private let held = Atomic<Int>(0)
    private let mostHeldAtOnce = Atomic<Int>(0)
    private let failed = Atomic<Int>(0)
    private let running = Atomic<Bool>(true)
    private let finishedAt = Moment()

    init(port: Int, sources: [String], perSource: Int, holdFor: Duration) {
        self.port = port
        self.sources = sources
        self.perSource = perSource
        self.holdFor = holdFor
    }

    /// `perSource` loops per source, each holding one connection until just before the deadline,
    /// then reconnecting at once, until ``stop()``. A refused loop tries again after 1 s, as a
    /// client told to try again would: retrying at once would measure how fast this machine opens
    /// sockets rather than admission, and would starve the tests that run beside this one.
    func run() async {
        await withTaskGroup(of: Void.self) { group in
            for source in sources {
                for _ in 0..<perSource {
                    group.addTask {
                        while self.running.load(ordering: .relaxed) {
                            if await !self.hold(from: source) { try? await Task.sleep(for: .seconds(1)) }
                        }
                    }
                }
            }
        }
        finishedAt.mark()
    }

    /// `count` connections, one every `every`, from the sources in turn; each is held until the
    /// server closes it (or `holdFor` passes).
    func flood(count: Int, every interval: Duration) async {
        await withTaskGroup(of: Void.self) { group in
            for index in 0..<count {
                group.addTask {
                    try? await Task.sleep(for: interval * index)
                    _ = await self.hold(from: self.sources[index % self.sources.count])
                }
            }
        }
        finishedAt.mark()
    }

    /// One connection: returns whether the server admitted it (sent the hello).
    private func hold(from source: String) async -> Bool {
        let start = ContinuousClock.now
        var raw: RawClient
        do {
            raw = try await RawClient.connect(port: port, from: source)
        } catch {
            failed.add(1, ordering: .relaxed)
            return false
        }
        guard let first = await raw.nextFrame(), (try? ServerHello(decoding: first)) != nil else {
            refused.add(1, ordering: .relaxed)
            await raw.close()
            return false
        }
        admitted.add(1, ordering: .relaxed)
        let holding = held.add(1, ordering: .relaxed).newValue
        mostHeldAtOnce.max(holding, ordering: .relaxed)
        defer { held.subtract(1, ordering: .relaxed) }
        let remaining = holdFor - (ContinuousClock.now - start)
        let close = await raw.waitForClose(within: max(remaining, .milliseconds(1)))
        if close.closedByServer { closedByServer.add(1, ordering: .relaxed) }
        if close.reason?.message.hasPrefix("evicted") == true { evicted.add(1, ordering: .relaxed) }
        return true
    }

    func stop() { running.store(false, ordering: .relaxed) }

    var isFinished: Bool { finishedAt.instant != nil }

    /// Held connections the server closed with an eviction.
    var evictions: Int { evicted.load(ordering: .relaxed) }

    /// The most attacking connections the server held at once.
    var mostHeld: Int { mostHeldAtOnce.load(ordering: .relaxed) }

    func finishedAfter(_ instant: ContinuousClock.Instant) -> Bool { (finishedAt.instant ?? .now) > instant }

    /// Waits (at most `bound`) until `count` connections have been admitted.
    func waitForAdmitted(_ count: Int, within bound: Duration) async -> Bool {
        let deadline = ContinuousClock.now + bound
        while admitted.load(ordering: .relaxed) < count, ContinuousClock.now < deadline {
            try? await Task.sleep(for: .milliseconds(20))
        }
        return admitted.load(ordering: .relaxed) >= count
    }

    var summary: String {
        "\(admitted.load(ordering: .relaxed)) admitted, \(refused.load(ordering: .relaxed)) refused, "
            + "\(closedByServer.load(ordering: .relaxed)) closed by the server while held "
            + "(\(evicted.load(ordering: .relaxed)) of them evicted), at most \(mostHeld) held at once, "
            + "\(failed.load(ordering: .relaxed)) could not connect"
    }
}

/// An honest client running full handshakes one after another from one address.
struct HonestHandshakes: CustomStringConvertible {
    /// When the first attempt began.
    var started: ContinuousClock.Instant
    /// How long each successful handshake took, from connect to `accepted`.
    var durations: [Duration] = []
    /// Why each failed attempt failed.
    var failures: [String] = []

    var attempts: Int { durations.count + failures.count }
    var successRate: Double { Double(durations.count) / Double(max(attempts, 1)) }

    /// The 99th percentile of all attempts' times, counting a failed attempt as infinitely slow.
    var p99: Duration? {
        let sorted = durations.sorted()
        let rank = Int((Double(attempts) * 0.99).rounded(.up)) - 1
        return rank < sorted.count ? sorted[max(rank, 0)] : nil
    }

    var description: String {
        let median = durations.sorted().dropFirst(durations.count / 2).first
        let completedP99 = durations.sorted().dropFirst(Int(Double(durations.count) * 0.99)).first
        return "\(durations.count)/\(attempts) handshakes completed "
            + "(\(String(format: "%.1f", successRate * 100))%), p99 \(p99.map { "\($0)" } ?? "none (over 1% failed)"), "
            + "p99 of those completed \(completedP99.map { "\($0)" } ?? "none"), "
            + "median \(median.map { "\($0)" } ?? "none"), failures \(failures.prefix(3))"
    }

    /// The issue's goal: at least 99% complete, and 99% of attempts within 2 s.
    func expectGoal(sourceLocation: SourceLocation = #_sourceLocation) {
        #expect(successRate >= 0.99, "\(self)", sourceLocation: sourceLocation)
        #expect((p99 ?? .seconds(3600)) < Sanitizer.slack(.seconds(2)), "\(self)", sourceLocation: sourceLocation)
    }

    /// `count` full handshakes from `source`, 50 ms apart; each closes politely once accepted. An
    /// attempt that is not accepted within 5 s fails.
    static func run(port: Int, from source: String, count: Int) async -> HonestHandshakes {
        var result = HonestHandshakes(started: .now)
        for _ in 0..<count {
            let start = ContinuousClock.now
            do {
                try await handshake(port: port, from: source, within: Sanitizer.slack(.seconds(5)))
                result.durations.append(.now - start)
            } catch {
                result.failures.append("\(error)")
            }
            try? await Task.sleep(for: .milliseconds(50))
        }
        return result
    }

    private static func handshake(port: Int, from source: String, within bound: Duration) async throws {
        var raw = try await RawClient.connect(port: port, from: source)
        let channel = raw.channel
        let timer = channel.eventLoop.scheduleTask(in: .milliseconds(Int64(bound / .milliseconds(1)))) {
            channel.close(promise: nil)
        }
        defer { timer.cancel() }
        guard let hello = await raw.nextFrame() else { throw RawClientError("closed before the hello") }
        if case .closing(let reason)? = try? ServerMessage(decoding: hello) {
            await raw.close()
            throw RawClientError("refused: \(reason.message)")
        }
        do {
            _ = try await raw.handshakeAfterHello(hello, password: TargetProcess.password, name: "honest")
        } catch {
            await raw.close()
            throw error
        }
        _ = try? await raw.send(.bye)
        await raw.close()
    }
}
