import Foundation
import Laboratory
import LaboratoryClient
@_spi(Benchmarks) import LaboratoryProtocol
import NIOConcurrencyHelpers
import NIOCore
import NIOPosix
import Synchronization
import Testing

/// The adversarial scenarios. They run one at a time (each floods a server, and two floods at once
/// on a small machine would measure each other), while the rest of the suite runs beside them.
@Suite("Adversarial", .serialized)
enum Adversarial {}

/// The real `laboratory-server` executable under attack, in its own process so that its memory can
/// be read from `/proc` without the test process's own allocations in the figure.
struct TargetProcess {
    static let password = "adversarial suite password"

    /// How much an attack may grow the server's resident memory: its peak against the baseline
    /// taken with the honest clients already running. What the attacks can make the server hold
    /// is bounded by its limits: about a hundred unfinished handshakes at most (admission), each a
    /// socket, a connection actor and its 1 KiB hello; a partial frame of at most the maximum
    /// frame size per connection; one slow consumer's queue of at most 1 MiB. That is under
    /// 10 MiB even in a debug build (the figures the scenarios print show 1 to 3 MiB). 32 MiB
    /// leaves room for allocator slack and NIO's per-thread buffer caches; a server that kept
    /// state for every connection it ever saw, or buffered what attackers send without bound,
    /// would exceed it.
    static let memoryBound = 32 << 20

    let process: ServerProcess
    let port: Int
    let fingerprint: String

    /// Starts the executable with `arguments` (limits and deadlines) and waits until it listens.
    static func start(_ arguments: [String]) async throws -> TargetProcess {
        let process = try ServerProcess(
            arguments: ["--log-level", "error"] + arguments, environment: ["LABORATORY_PASSWORD": password])
        let fingerprint = try #require(await process.value(after: "Host key fingerprint: "))
        let listening = try #require(await process.value(after: "Listening on 127.0.0.1:"))
        let port = try #require(Int(listening))
        return TargetProcess(process: process, port: port, fingerprint: fingerprint)
    }

    /// Connects an honest client from 127.0.0.1.
    func connect(name: String) async throws -> ClientSession {
        try await ClientSession.connect(
            host: "127.0.0.1", port: port, password: Self.password, name: name,
            trust: .pinned(fingerprint: fingerprint))
    }

    /// The server's resident memory now and at its peak.
    func memory() throws -> ProcessMemory { try ProcessMemory(pid: process.pid) }

    /// Stops the server with SIGINT and requires a clean exit: an attack must not have left it
    /// unable to shut down.
    func stop() async {
        process.interrupt()
        let exit = await process.waitForExit()
        #expect(exit.status == 0, "the server did not exit cleanly: \(exit.stderr.suffix(2000))")
    }
}

/// Resident memory of a process, from `/proc/<pid>/status`.
struct ProcessMemory: CustomStringConvertible {
    /// Resident set size now, in bytes.
    let resident: Int
    /// The largest resident set size the process has had (VmHWM), in bytes.
    let peak: Int

    init(pid: Int32) throws {
        let status = try String(contentsOfFile: "/proc/\(pid)/status", encoding: .utf8)
        func kilobytes(_ field: String) throws -> Int {
            let line = try #require(status.split(separator: "\n").first { $0.hasPrefix(field + ":") })
            let number = try #require(line.split(separator: " ", omittingEmptySubsequences: true).dropFirst().first)
            return try #require(Int(number)) * 1024
        }
        resident = try kilobytes("VmRSS")
        peak = try kilobytes("VmHWM")
    }

    /// This process.
    static func current() throws -> ProcessMemory { try ProcessMemory(pid: getpid()) }

    var description: String { "RSS \(Self.mebibytes(resident)), peak \(Self.mebibytes(peak))" }

    /// Requires `after` (its peak, or with `measure: \.resident` its resident set now, for this
    /// process, whose peak may predate the test) to exceed `before`'s resident set by less than
    /// `bound` bytes. Not asserted under a sanitizer, whose shadow memory and quarantine of freed
    /// blocks make resident memory no measure of what the code keeps.
    static func expectGrowth(
        from before: ProcessMemory, to after: ProcessMemory, below bound: Int,
        measure: KeyPath<ProcessMemory, Int> = \.peak, sourceLocation: SourceLocation = #_sourceLocation
    ) {
        guard !Sanitizer.isActive else { return }
        #expect(
            after[keyPath: measure] - before.resident < bound,
            "memory grew from \(before) to \(after), more than \(mebibytes(bound))", sourceLocation: sourceLocation)
    }

    static func mebibytes(_ bytes: Int) -> String {
        String(format: "%.1f MiB", Double(bytes) / 1_048_576)
    }
}

/// Whether this build runs under AddressSanitizer or ThreadSanitizer (`swift test --sanitize=...`
/// builds the server executable the same way).
enum Sanitizer {
    static let isActive: Bool = {
        let handle = dlopen(nil, RTLD_NOW)
        defer { if let handle { dlclose(handle) } }
        return dlsym(handle, "__asan_init") != nil || dlsym(handle, "__tsan_init") != nil
    }()

    /// `duration`, or four times it under a sanitizer, which slows the code that much or more.
    /// For the slack on time the tests allow; scenarios whose honest clients or attackers need
    /// longer server deadlines under a sanitizer set those explicitly.
    static func slack(_ duration: Duration) -> Duration { isActive ? duration * 4 : duration }
}

/// Honest accepted clients calling Echo in a loop for the length of an attack, recording every
/// round trip. Each client pauses briefly between calls so that they measure the server's
/// responsiveness rather than saturate a small machine themselves.
final class HonestTraffic: Sendable {
    /// What the honest clients saw.
    struct Report: CustomStringConvertible {
        /// Successful round trips, per client.
        var roundTrips: [Int]
        /// The longest time any client waited between two successful round trips (or from its
        /// last one to the end).
        var longestGap: Duration
        /// What went wrong, if anything: failed calls, wrong echoes, calls that never returned.
        var failures: [String]

        var description: String {
            "\(roundTrips.reduce(0, +)) round trips \(roundTrips), longest gap \(longestGap), "
                + "\(failures.count) failures \(failures.prefix(3))"
        }

        /// Every client kept succeeding: no failure, progress from each, no long stall.
        func expectHealthy(longestGap bound: Duration, sourceLocation: SourceLocation = #_sourceLocation) {
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

    static let pause = Duration.milliseconds(20)

    private let sessions: [ClientSession]
    private let states: NIOLockedValueBox<[ClientState]>
    private let running = Atomic<Bool>(true)
    private let loops = NIOLockedValueBox<[Task<Void, Never>]>([])

    private init(sessions: [ClientSession]) {
        self.sessions = sessions
        self.states = NIOLockedValueBox(Array(repeating: ClientState(), count: sessions.count))
    }

    /// Connects `count` clients with `connect` and starts their loops.
    static func start(
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
    func waitForProgress(_ count: Int = 5, within bound: Duration = .seconds(10)) async -> Bool {
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
    func stop() async -> Report {
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

/// Source addresses for attackers: 127.0.0.0/8 is all loopback on Linux, so every attacker can
/// have an address of its own (penalties are per address). Honest clients use 127.0.0.1.
enum AttackSource {
    /// The `index`th address of block `block` (1...250): `127.<block>.<index / 250>.<index % 250 + 2>`.
    /// Up to 250 of them share one /24, and admission caps unfinished handshakes per /24 (32 by
    /// default): attackers meant to act as independent clients use ``network(block:_:)``.
    static func address(block: Int, _ index: Int) -> String {
        precondition((1...250).contains(block) && index >= 0 && index < 250 * 250, "attack address out of range")
        return "127.\(block).\(index / 250).\(index % 250 + 2)"
    }

    /// An address in the `index`th /24 of block `block` (1...250): `127.<block>.<index>.2`.
    static func network(block: Int, _ index: Int) -> String {
        precondition((1...250).contains(block) && (0..<256).contains(index), "attack network out of range")
        return "127.\(block).\(index).2"
    }
}

/// How a connection under attack ended.
struct ServerClose: Sendable {
    /// The server's reason, from its `closing` message (sealed or not), if it sent one we can read.
    var reason: CloseReason?
    /// Whether the server closed the connection (rather than our timer).
    var closedByServer: Bool
    /// The sizes of the frames the server sent until it closed.
    var frameSizes: [Int]
}

extension RawClient {
    /// Reads until the server closes the connection or `bound` passes (then closes it from this
    /// side), and says how it ended.
    mutating func waitForClose(within bound: Duration) async -> ServerClose {
        let channel = self.channel
        let timedOut = Flag()
        let timer = channel.eventLoop.scheduleTask(in: .milliseconds(Int64(bound / .milliseconds(1)))) {
            timedOut.set()
            channel.close(promise: nil)
        }
        var close = ServerClose(reason: nil, closedByServer: false, frameSizes: [])
        while let frame = await nextFrame() {
            close.frameSizes.append(frame.count)
            let plain = (try? opener?.open(frame)) ?? frame
            if case .closing(let given)? = try? ServerMessage(decoding: plain) { close.reason = given }
        }
        timer.cancel()
        close.closedByServer = !timedOut.isSet
        return close
    }
}

/// A flag set once, from any thread.
final class Flag: Sendable {
    private let value = Atomic<Bool>(false)

    func set() { value.store(true, ordering: .relaxed) }

    var isSet: Bool { value.load(ordering: .relaxed) }
}

/// A socket closed with SO_LINGER 0, so the peer sees a reset instead of an orderly FIN.
func reset(_ channel: any Channel) async {
    if let options = channel as? any SocketOptionProvider {
        try? await options.setSoLinger(linger(l_onoff: 1, l_linger: 0)).get()
    }
    try? await channel.close()
}
