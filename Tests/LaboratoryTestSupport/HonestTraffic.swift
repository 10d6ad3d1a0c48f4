import Foundation
import Laboratory
import LaboratoryClient
import NIOConcurrencyHelpers
import NIOCore
import NIOPosix
import Synchronization
import Testing

/// Honest accepted clients calling Echo in a loop for the length of an attack, recording every
/// round trip. Each client pauses briefly between calls so that they measure the server's
/// responsiveness rather than saturate a small machine themselves.
package final class HonestTraffic: Sendable {
    /// What the honest clients saw.
    package struct Report: CustomStringConvertible {
        /// Successful round trips, per client.
        package var roundTrips: [Int]
        /// The longest time any client waited between two successful round trips (or from its
        /// last one to the end).
        package var longestGap: Duration
        /// What went wrong, if anything: failed calls, wrong echoes, calls that never returned.
        package var failures: [String]

        package var description: String {
            "\(roundTrips.reduce(0, +)) round trips \(roundTrips), longest gap \(longestGap), "
                + "\(failures.count) failures \(failures.prefix(3))"
        }

        /// Every client kept succeeding: no failure, progress from each, no long stall.
        package func expectHealthy(longestGap bound: Duration, sourceLocation: SourceLocation = #_sourceLocation) {
            let bound = Sanitizer.slack(bound)
            #expect(failures.isEmpty, "honest clients failed: \(failures)", sourceLocation: sourceLocation)
            #expect(
                roundTrips.allSatisfy { $0 > 0 }, "an honest client made no progress", sourceLocation: sourceLocation)
            #expect(
                longestGap < bound, "an honest client waited \(longestGap) for a round trip",
                sourceLocation: sourceLocation)
        }
    }

    private struct ClientState {
        var roundTrips = 0
        var lastSuccess = ContinuousClock.now
        var longestGap = Duration.zero
        var failures: [String] = []
    }

    package static let pause = Duration.milliseconds(20)

    private let sessions: [ClientSession]
    private let states: NIOLockedValueBox<[ClientState]>
    private let running = Atomic<Bool>(true)
    private let loops = NIOLockedValueBox<[Task<Void, Never>]>([])

    private init(sessions: [ClientSession]) {
        self.sessions = sessions
        self.states = NIOLockedValueBox(Array(repeating: ClientState(), count: sessions.count))
    }

    /// Connects `count` clients with `connect` and starts their loops.
    package static func start(
        count: Int = 4, connect: (_ name: String) async throws -> ClientSession
    ) async throws -> HonestTraffic {
        var sessions: [ClientSession] = []
        for index in 0..<count { sessions.append(try await connect("honest\(index)")) }
        let traffic = HonestTraffic(sessions: sessions)
        traffic.loops.withLockedValue { loops in
            for index in sessions.indices {
                loops.append(Task { await traffic.loop(index) })
            }
        }
        return traffic
    }

    /// Waits (at most `bound`) until every client has made `count` more round trips; returns
    /// whether they did.
    package func waitForProgress(_ count: Int = 5, within bound: Duration = .seconds(10)) async -> Bool {
        let start = states.withLockedValue { $0.map(\.roundTrips) }
        let deadline = ContinuousClock.now + bound
        while ContinuousClock.now < deadline {
            let now = states.withLockedValue { $0.map(\.roundTrips) }
            if zip(now, start).allSatisfy({ $0 - $1 >= count }) { return true }
            try? await Task.sleep(for: .milliseconds(20))
        }
        return false
    }

    /// Stops the loops (waiting at most ten seconds for calls in flight), closes the sessions and
    /// reports.
    package func stop() async -> Report {
        running.store(false, ordering: .relaxed)
        let loops = self.loops.withLockedValue { $0 }
        let finished = await withTaskGroup(of: Bool.self) { group in
            group.addTask {
                for loop in loops { await loop.value }
                return true
            }
            group.addTask {
                try? await Task.sleep(for: .seconds(10))
                return false
            }
            let first = await group.next() ?? false
            group.cancelAll()
            return first
        }
        let end = ContinuousClock.now
        var report = states.withLockedValue { states in
            Report(
                roundTrips: states.map(\.roundTrips),
                longestGap: states.map { max($0.longestGap, end - $0.lastSuccess) }.max() ?? .zero,
                failures: states.flatMap(\.failures))
        }
        if !finished { report.failures.append("a round trip did not return within 10 s of the end") }
        for session in sessions { await session.close() }
        return report
    }

    private func loop(_ index: Int) async {
        let session = sessions[index]
        var sequence: UInt32 = 0
        while running.load(ordering: .relaxed) {
            sequence += 1
            let body = withUnsafeBytes(of: sequence.bigEndian, Array.init) + [UInt8](repeating: UInt8(index), count: 28)
            do {
                let reply = try await session.request(service: "echo", body: body)
                let now = ContinuousClock.now
                states.withLockedValue { states in
                    if reply == body {
                        states[index].roundTrips += 1
                        states[index].longestGap = max(states[index].longestGap, now - states[index].lastSuccess)
                        states[index].lastSuccess = now
                    } else {
                        states[index].failures.append("client \(index): echo returned other bytes")
                    }
                }
            } catch {
                states.withLockedValue { $0[index].failures.append("client \(index): \(error)") }
                return
            }
            try? await Task.sleep(for: Self.pause)
        }
    }
}
