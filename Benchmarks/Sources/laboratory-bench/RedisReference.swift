import ArgumentParser
import Foundation
import Histogram

#if canImport(Glibc)
    import Glibc
#endif

/// Where the Redis reference line's programs are, and how it is driven.
struct RedisOptions: ParsableArguments {
    @Option(help: "Redis reference: the redis-server executable (default: on the PATH); 'none' skips the line.")
    var redisServer = "redis-server"

    @Option(help: "Redis reference: the redis-benchmark executable (default: on the PATH).")
    var redisBenchmark = "redis-benchmark"

    @Option(help: "Redis reference: redis-benchmark's parallel connections (-c).")
    var redisClients = 50

    @Option(
        help: """
            Redis reference: run each repetition after the echo repetition at this many connections \
            (interleaved); without that echo level, the Redis repetitions run on their own after echo.
            """)
    var redisBesideEcho = 100
}

/// The Redis reference line: `redis-benchmark -t ping -c 50` against a throwaway `redis-server`
/// on loopback, started and stopped by the generator, so a reader can compare Laboratory's small
/// request/response figures with a familiar yardstick measured on the same machine in the same
/// run. `-t ping` is two tests, `PING_INLINE` and `PING_MBULK` (a RESP array, what client
/// libraries send); each repetition runs them as two invocations (`-t ping_inline`,
/// `-t ping_mbulk`) so that the server's CPU time is read per test. Redis runs with its defaults
/// (one I/O thread) apart from the port, the loopback bind and no persistence.
///
/// redis-benchmark has no warm-up and no time limit: each invocation sends a fixed number of
/// requests, chosen to take about the scenario's window at 100,000 PINGs/s. Its CSV output gives
/// the rate and the p50 and p99 latencies (no p99.9).
final class RedisReference {
    /// The two halves of `-t ping`, as (test name for `-t`, name in the CSV, cell scenario).
    static let tests = [
        ("ping_inline", "PING_INLINE", "redis-ping-inline"), ("ping_mbulk", "PING_MBULK", "redis-ping"),
    ]

    let version: String
    let clients: Int
    let requests: Int
    private let benchmark: String
    private let server: Child
    private let process: ServerProcess
    private let log: @Sendable (String) -> Void
    private var runs: [String: [Measurement]] = [:]
    /// Repetitions completed.
    private(set) var completed = 0
    /// Why the line stopped short ("not measured: …"), if a repetition failed.
    private(set) var failure: RedisNotMeasured?

    private init(
        version: String, clients: Int, requests: Int, benchmark: String, server: Child, port: Int,
        log: @escaping @Sendable (String) -> Void
    ) {
        self.version = version
        self.clients = clients
        self.requests = requests
        self.benchmark = benchmark
        self.server = server
        self.process = .attach(name: "redis", pid: server.pid, port: port)
        self.log = log
    }

    /// Starts a throwaway `redis-server` on a loopback port of its own. Returns it, or why the line
    /// is not measured ("not measured: …"). Redis takes no port 0, so the port is a
    /// ``RandomLoopbackPort``: drawn at random below the kernel's ephemeral range, and drawn again
    /// when Redis finds it taken as it binds.
    static func start(
        options: RedisOptions, windowSeconds: Double, work: String, log: @escaping @Sendable (String) -> Void
    ) async -> Result<RedisReference, RedisNotMeasured> {
        guard options.redisServer != "none" else { return .failure(RedisNotMeasured("skipped (--redis-server none)")) }
        func find(_ name: String) -> String? {
            name.hasPrefix("/") ? (FileManager.default.isExecutableFile(atPath: name) ? name : nil) : which(name)
        }
        guard let serverPath = find(options.redisServer), let benchmarkPath = find(options.redisBenchmark) else {
            return .failure(
                RedisNotMeasured(
                    "redis-server or redis-benchmark is not installed (apt-get install redis-server redis-tools)"))
        }
        let versionLine = (try? runCommand(serverPath, ["--version"])) ?? ""
        let version =
            versionLine.split(separator: " ").first { $0.hasPrefix("v=") }.map { String($0.dropFirst(2)) } ?? "?"
        let directory = "\(work)/redis-\(getpid())"
        let serverLog = "\(directory)/redis.log"
        do {
            try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
            let reference = try await RandomLoopbackPort.start("redis", log: log) { port -> RedisReference? in
                try? FileManager.default.removeItem(atPath: serverLog)
                // `--logfile ""`: the log goes to standard output, here the log file, where a port
                // that is taken shows.
                let child = try Child.spawn(
                    serverPath,
                    [
                        "--port", "\(port)", "--bind", "127.0.0.1", "--save", "", "--appendonly", "no", "--daemonize",
                        "no", "--dir", directory, "--logfile", "",
                    ],
                    captureOutput: false, outputPath: serverLog)
                let reference = RedisReference(
                    version: version, clients: options.redisClients,
                    requests: max(10_000, Int(windowSeconds * 100_000)),
                    benchmark: benchmarkPath, server: child, port: port, log: log)
                if await reference.waitUntilReady(serverLog: serverLog) { return reference }
                reference.stop()
                let text = (try? String(contentsOfFile: serverLog, encoding: .utf8)) ?? ""
                guard RandomLoopbackPort.saysPortTaken(text) else {
                    throw RedisNotMeasured("redis-server \(version) did not answer on port \(port)")
                }
                return nil
            }
            log("redis: redis-server \(version) pid \(reference.server.pid) port \(reference.process.port)")
            return .success(reference)
        } catch let error as RedisNotMeasured {
            return .failure(error)
        } catch {
            return .failure(RedisNotMeasured("redis-server could not start: \(error)"))
        }
    }

    /// Whether the server is ready within 10 s: its log (`serverLog`) says it accepts connections
    /// and its port does. The log comes first: a port another program listens on accepts too,
    /// while redis-server is still starting and has not yet found it taken. A plain connect:
    /// redis-benchmark itself waits forever when its first connection is refused.
    private func waitUntilReady(serverLog: String) async -> Bool {
        for _ in 0..<200 {
            guard server.isRunning else { return false }
            let text = (try? String(contentsOfFile: serverLog, encoding: .utf8)) ?? ""
            if text.contains("Ready to accept connections"), Self.accepts(port: process.port), server.isRunning {
                return true
            }
            try? await Task.sleep(for: .milliseconds(50))
        }
        return false
    }

    /// Whether 127.0.0.1:`port` accepts a connection now.
    private static func accepts(port: Int) -> Bool {
        let socket = Glibc.socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        guard socket >= 0 else { return false }
        defer { close(socket) }
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_port = in_port_t(UInt16(port).bigEndian)
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        return withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                connect(socket, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) == 0
            }
        }
    }

    /// One repetition, unless one has failed: a failure is kept in ``failure`` (the line then
    /// says why it is not measured) and never fails the run.
    func runRepetition() {
        guard failure == nil else { return }
        do {
            try repetition(completed + 1)
            completed += 1
        } catch {
            failure = RedisNotMeasured("\(error)")
            log("redis: \(failure!)")
        }
    }

    /// One repetition: both PING tests, each with the server's CPU time around it.
    private func repetition(_ number: Int) throws {
        for (test, csvName, scenario) in Self.tests {
            let cpu0 = process.cpuTimes()
            // redis-benchmark waits forever for a server that has gone away: bounded by `timeout`.
            let arguments = [
                "-h", "127.0.0.1", "-p", "\(process.port)", "-t", test, "-c", "\(clients)", "-n", "\(requests)",
                "--csv",
            ]
            let output =
                if let timeout = which("timeout") {
                    try runCommand(timeout, ["120", benchmark] + arguments)
                } else {
                    try runCommand(benchmark, arguments)
                }
            let cpu1 = process.cpuTimes()
            guard let row = Self.csvRow(output, test: csvName) else {
                throw SpawnError("redis-benchmark -t \(test) printed no result:\n\(output.suffix(500))")
            }
            var m = Measurement(
                operations: requests, seconds: Double(requests) / max(row.rate, 1e-9), bytes: 0,
                latencies: Histogram<UInt64>(
                    highestTrackableValue: 120_000_000, numberOfSignificantValueDigits: .three),
                serverCPU: cpu1.user + cpu1.system - cpu0.user - cpu0.system, generatorCPU: 0, errors: 0)
            m.operationsPerSecond = row.rate
            m.p50Microseconds = row.p50Milliseconds * 1000
            m.p99Microseconds = row.p99Milliseconds * 1000
            // redis-benchmark reports no p99.9; 0 means "not reported".
            m.p999Microseconds = 0
            m.serverSystemCPUSeconds = cpu1.system - cpu0.system
            log(
                String(
                    format: "redis %@ c=%d #%d: %.0f/s p50 %.0f µs p99 %.0f µs, server %.1f µs CPU/op", test, clients,
                    number, m.operationsPerSecond, m.p50Microseconds, m.p99Microseconds,
                    m.serverCPUMicrosecondsPerOperation))
            runs[scenario, default: []].append(m)
        }
    }

    /// The cells of the repetitions run so far (target `redis`, level = connections); none if a
    /// repetition failed.
    var cells: [Cell] {
        guard failure == nil else { return [] }
        return Self.tests.compactMap { _, _, scenario in
            guard let measured = runs[scenario], !measured.isEmpty else { return nil }
            return Cell(
                scenario: scenario, target: "redis", level: clients, repetitions: measured, median: .median(measured))
        }
    }

    /// SIGTERM (no persistence: it exits at once), SIGKILL after 5 s.
    func stop() {
        guard server.isRunning else { return }
        server.signal(SIGTERM)
        let deadline = Date().addingTimeInterval(5)
        while server.isRunning && Date() < deadline { usleep(20_000) }
        if server.isRunning {
            server.signal(SIGKILL)
            server.wait()
        }
    }

    /// The figures of one test's line in redis-benchmark's CSV:
    /// `"test","rps","avg_latency_ms","min_latency_ms","p50_latency_ms","p95_latency_ms","p99_latency_ms","max_latency_ms"`.
    static func csvRow(_ output: String, test: String) -> (
        rate: Double, p50Milliseconds: Double, p99Milliseconds: Double
    )? {
        for line in output.split(whereSeparator: \.isNewline) {
            let fields = line.split(separator: ",").map { $0.trimmingCharacters(in: CharacterSet(charactersIn: "\" ")) }
            guard fields.count >= 7, fields[0] == test, let rate = Double(fields[1]), let p50 = Double(fields[4]),
                let p99 = Double(fields[6])
            else { continue }
            return (rate, p50, p99)
        }
        return nil
    }
}

/// Why the Redis reference line has no figures.
struct RedisNotMeasured: Error, CustomStringConvertible {
    var description: String
    init(_ reason: String) { description = "not measured: \(reason)" }
}

extension Report {
    /// The reference rows under the echo rows of the request/response table: Redis's PING at
    /// `redis-benchmark`'s connection count, or why it was not measured.
    func redisReferenceRows() -> String {
        let version = configuration["redisVersion"].map { " \($0)" } ?? ""
        var out = ""
        for (test, _, scenario) in RedisReference.tests {
            guard let cell = cells.first(where: { $0.scenario == scenario && $0.target == "redis" }) else { continue }
            let m = cell.median
            let name = test == "ping_mbulk" ? "PING (reference)" : "PING inline (reference)"
            out += "| \(name) | Redis\(version), `redis-benchmark -t \(test) -c \(cell.level)` | \(cell.level) | "
            out += "\(Self.number(m.operationsPerSecond)) | — | \(Self.number(m.p50Microseconds)) | "
            out += "\(Self.number(m.p99Microseconds)) | — | \(m.cpuPerOperationText) | — | — | \(m.errors) |\n"
        }
        if out.isEmpty, let note = configuration["redis"] {
            out += "| PING (reference) | Redis, `redis-benchmark -t ping -c 50` | 50 | \(note) | | | | | | | | |\n"
        }
        return out
    }
}

extension LaboratoryBench {
    /// Starts the Redis reference server, or records in `report` why the line is not measured.
    func startRedis(
        _ report: inout Report, duration: Double, work: String, log: @escaping @Sendable (String) -> Void
    ) async -> RedisReference? {
        switch await RedisReference.start(options: redis, windowSeconds: duration, work: work, log: log) {
        case .success(let line):
            report.configuration["redisVersion"] = line.version
            return line
        case .failure(let reason):
            report.configuration["redis"] = reason.description
            log("redis: \(reason)")
            return nil
        }
    }

    /// Runs the repetitions the echo scenario did not interleave (echo not chosen, or not at
    /// ``RedisOptions/redisBesideEcho`` connections), then adds the line's cells to `report`.
    func finishRedis(_ line: RedisReference, _ report: inout Report) {
        while line.completed < repetitions && line.failure == nil { line.runRepetition() }
        if let failure = line.failure { report.configuration["redis"] = failure.description }
        report.cells += line.cells
        line.stop()
    }
}
