import Foundation
import Laboratory
import LaboratoryPostgres
import LaboratoryProtocol
import Logging
import Testing

/// The backplane's append rate into one room across two nodes, and the latency from an append on
/// one node to its delivery on the other, measured (not asserted) against a server you start
/// yourself, the one `pgbench` measures too (Docs/CHAT_STORE.md, "Figures"):
///
///     LABORATORY_POSTGRES_RATE_PORT=55432 swift test --skip-build --filter PostgresChatBackplaneRateTests
///
/// Skipped without the variable.
@Suite(
    "PostgreSQL chat backplane rate", .timeLimit(.minutes(5)),
    .enabled(if: ProcessInfo.processInfo.environment["LABORATORY_POSTGRES_RATE_PORT"] != nil))
struct PostgresChatBackplaneRateTests {
    @Test("Appends per second into one room from two nodes (1, 4 and 8 appenders per node); append-to-delivery latency")
    func twoNodeRate() async throws {
        let environment = ProcessInfo.processInfo.environment
        let port = try #require(Int(environment["LABORATORY_POSTGRES_RATE_PORT"] ?? ""))
        let count = Int(environment["LABORATORY_POSTGRES_RATE_COUNT"] ?? "") ?? 8000
        var configuration = ChatStoreConfiguration(
            host: "127.0.0.1", port: port, username: "postgres", database: "postgres")
        configuration.historySize = count
        configuration.maximumConnections = 16
        let first = try await ChatNode.start(configuration, label: "rate-a")
        let second = try await ChatNode.start(configuration, label: "rate-b")
        for perNode in [1, 4, 8] {
            let room = "rate-\(perNode)-\(UUID().uuidString.prefix(8))"
            let watching = try await second.backplane.subscribe(to: room)
            let sent = ManagedTimes()
            let start = ContinuousClock.now
            // The other node's subscription: when each number arrived.
            let received = Task {
                var arrivals: [UInt64: ContinuousClock.Instant] = [:]
                for await entry in watching.events {
                    arrivals[entry.sequence] = .now
                    if arrivals.count == count { break }
                }
                return arrivals
            }
            try await withThrowingTaskGroup(of: Void.self) { group in
                for appender in 0..<(2 * perNode) {
                    let node = appender % 2 == 0 ? first : second
                    group.addTask {
                        for index in 0..<(count / (2 * perNode)) {
                            let before = ContinuousClock.now
                            let entry = try await node.backplane.append(
                                ChatEvent(
                                    kind: .message, room: nil, sequence: nil, from: UInt64(appender), name: "bench",
                                    text: "hello \(index)", time: 0), to: room)
                            sent.record(entry.sequence, before)
                        }
                    }
                }
                try await group.waitForAll()
            }
            let elapsed = ContinuousClock.now - start
            let arrivals = await received.value
            watching.cancel()
            let latencies = sent.all.compactMap { sequence, before in arrivals[sequence].map { $0 - before } }.sorted()
            let seconds = Double(elapsed.components.seconds) + Double(elapsed.components.attoseconds) / 1e18
            func percentile(_ p: Double) -> String {
                guard !latencies.isEmpty else { return "-" }
                let value = latencies[min(latencies.count - 1, Int(Double(latencies.count) * p))]
                return String(
                    format: "%.2f ms",
                    Double(value.components.attoseconds) / 1e15 + Double(value.components.seconds) * 1000)
            }
            print(
                "two nodes, \(2 * perNode) appenders: \(Int(Double(count) / seconds)) appends/s (\(count) in "
                    + String(format: "%.2f", seconds)
                    + " s); append-to-delivery on the other node p50 \(percentile(0.5)), "
                    + "p99 \(percentile(0.99)) (\(latencies.count) delivered)")
            #expect(latencies.count == count)
            #expect(
                try await first.backplane.history(of: room, after: 0).entries.map(\.sequence)
                    == Array(1...UInt64(count)))
        }
        // The same appenders, each into a room of its own: rooms do not wait for each other.
        for appenders in [2, 8, 16] {
            let prefix = "rate-rooms-\(UUID().uuidString.prefix(8))"
            let start = ContinuousClock.now
            try await withThrowingTaskGroup(of: Void.self) { group in
                for appender in 0..<appenders {
                    let node = appender % 2 == 0 ? first : second
                    group.addTask {
                        for index in 0..<(count / appenders) {
                            _ = try await node.backplane.append(
                                ChatEvent(
                                    kind: .message, room: nil, sequence: nil, from: UInt64(appender), name: "bench",
                                    text: "hello \(index)", time: 0), to: "\(prefix)-\(appender)")
                        }
                    }
                }
                try await group.waitForAll()
            }
            let elapsed = ContinuousClock.now - start
            let seconds = Double(elapsed.components.seconds) + Double(elapsed.components.attoseconds) / 1e18
            print("two nodes, \(appenders) appenders, a room each: \(Int(Double(count) / seconds)) appends/s")
        }
        await first.stop()
        await second.stop()
    }
}

/// Send instants by sequence number, from several tasks.
private final class ManagedTimes: @unchecked Sendable {
    private let lock = NSLock()
    private var times: [(UInt64, ContinuousClock.Instant)] = []

    func record(_ sequence: UInt64, _ instant: ContinuousClock.Instant) {
        lock.lock()
        times.append((sequence, instant))
        lock.unlock()
    }

    var all: [(UInt64, ContinuousClock.Instant)] {
        lock.lock()
        defer { lock.unlock() }
        return times
    }
}
