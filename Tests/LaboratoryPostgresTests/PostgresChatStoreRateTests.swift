import Foundation
import LaboratoryPostgres
import Logging
import Testing

/// The store's append rate, measured (not asserted) against a server you start yourself, the same
/// one `pgbench` measures, so that both figures come from one server and one machine:
///
///     LABORATORY_POSTGRES_RATE_PORT=55432 swift test --skip-build --filter 'PostgreSQL chat store rate'
///
/// Skipped without the variable (it would only measure the throwaway cluster's start-up noise).
@Suite(
    "PostgreSQL chat store rate", .timeLimit(.minutes(3)),
    .enabled(if: ProcessInfo.processInfo.environment["LABORATORY_POSTGRES_RATE_PORT"] != nil))
struct PostgresChatStoreRateTests {
    @Test("Appends per second into one room, 1 and 4 concurrent appenders")
    func appendRate() async throws {
        let environment = ProcessInfo.processInfo.environment
        let port = try #require(Int(environment["LABORATORY_POSTGRES_RATE_PORT"] ?? ""))
        let count = Int(environment["LABORATORY_POSTGRES_RATE_COUNT"] ?? "") ?? 4000
        let configuration = ChatStoreConfiguration(
            host: "127.0.0.1", port: port, username: "postgres", database: "postgres")
        try await PostgresChatStore.withStore(configuration: configuration, logger: Logger(label: "rate")) { store in
            for appenders in [1, 4] {
                let room = "rate-\(appenders)-\(UUID().uuidString)"
                let start = ContinuousClock.now
                try await withThrowingTaskGroup(of: Void.self) { group in
                    for appender in 0..<appenders {
                        group.addTask {
                            for index in 0..<(count / appenders) {
                                _ = try await store.append(
                                    room: room, sender: "bench", connectionID: "node/\(appender)",
                                    text: "hello \(index)")
                            }
                        }
                    }
                    try await group.waitForAll()
                }
                let elapsed = ContinuousClock.now - start
                let seconds = Double(elapsed.components.seconds) + Double(elapsed.components.attoseconds) / 1e18
                print(
                    "append rate, \(appenders) appender(s): \(Int(Double(count) / seconds)) messages/s (\(count) in \(seconds) s)"
                )
                #expect(try await store.lastSequence(room: room) == Int64(count))
                #expect(
                    try await store.history(room: room, after: 0, limit: count).map(\.sequence)
                        == Array(1...Int64(count)))
            }
        }
    }
}
