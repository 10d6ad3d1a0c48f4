import Foundation
import Laboratory
import LaboratoryClient
import LaboratoryTestSupport
import NIOConcurrencyHelpers
import NIOCore
import NIOPosix
import Synchronization
import Testing

/// The adversarial scenarios against the `laboratory-server` executable. They run one at a time
/// (each floods a server, and two floods at once on a small machine would measure each other),
/// while the rest of the suite runs beside them. Those with the server in the test process are in
/// `LaboratoryTests`, in a suite of the same name.
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

    /// Ends a scenario: stops the honest clients, prints `summary` with the server's memory and
    /// their report, requires that they kept succeeding and that the server's memory (`after`)
    /// stayed within ``memoryBound`` of `before`, then stops the server.
    func finish(
        _ summary: String, honest: HonestTraffic, memoryBefore before: ProcessMemory, after: ProcessMemory,
        sourceLocation: SourceLocation = #_sourceLocation
    ) async {
        let report = await honest.stop()
        print("\(summary); server memory before \(before), after \(after); honest: \(report)")
        report.expectHealthy(longestGap: .seconds(3), sourceLocation: sourceLocation)
        ProcessMemory.expectGrowth(from: before, to: after, below: Self.memoryBound, sourceLocation: sourceLocation)
        await stop()
    }

    /// Stops the server with SIGINT and requires a clean exit: an attack must not have left it
    /// unable to shut down.
    func stop() async {
        process.interrupt()
        let exit = await process.waitForExit()
        #expect(exit.status == 0, "the server did not exit cleanly: \(exit.stderr.suffix(2000))")
    }
}
