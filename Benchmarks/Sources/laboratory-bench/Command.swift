import ArgumentParser
import Foundation
import NIOCore
import NIOPosix

/// `laboratory-bench`: starts the servers under test as child processes, drives them over loopback
/// from this process, and prints a table and (optionally) JSON and Markdown.
@main
struct LaboratoryBench: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "laboratory-bench",
        abstract: "Load generator: Laboratory against plaintext SwiftNIO baselines, in one run.",
        discussion: """
            Every scenario runs against each server in turn (repetitions interleaved), bounded in time. \
            Server CPU time comes from /proc/PID/stat, resident memory from /proc/PID/status.
            """)

    @Option(help: "The Laboratory server executable (laboratory-server).")
    var laboratoryServer: String

    @Option(help: "The classic-handler baseline executable (nio-echo-classic).")
    var classic: String?

    @Option(help: "The NIOAsyncChannel baseline executable (nio-echo-async).")
    var async: String?

    @Option(help: "Comma-separated scenarios: handshake, echo, bulk, fanout, sessions, chatstore, redis.")
    var scenarios = "handshake,echo,bulk,fanout,sessions,chatstore,redis"

    @Option(help: "Repetitions of every measurement; medians are reported.")
    var repetitions = 3

    @Option(help: "Seconds of warm-up before each measurement window.")
    var warmup = 0.5

    @Option(help: "Seconds per measurement window.")
    var duration = 2.0

    @Option(help: "Echo connection counts.")
    var echoConnections = "1,10,100,1000"

    @Option(help: "Bulk connection counts.")
    var bulkConnections = "1,10"

    @Option(help: "Handshake concurrency levels.")
    var handshakeConcurrency = "1,16,64"

    @Option(help: "Fan-out room members (the senders are among them).")
    var fanoutMembers = 1000

    @Option(help: "Fan-out: members that also send (the first ones).")
    var fanoutSenders = 8

    @Option(
        help: """
            Fan-out: the deliveries per second each sender's messages may cause (its `say`s per second \
            times the members); it stays under the server's per-session delivery rate (50,000 by default).
            """)
    var fanoutSenderRate = 45_000

    @Option(
        help: """
            Fan-out: the room's deliveries per second offered in a second set of windows (the senders \
            share it), to measure latency at the goal's rate rather than above what the machine can \
            do; 0 leaves them out.
            """)
    var fanoutGoalRate = 250_000

    @Option(help: "Fan-out: `say` requests each sender keeps outstanding at most.")
    var fanoutWindow = 2

    @Option(help: "Chat store: PostgreSQL's programs (default: the newest /usr/lib/postgresql/N/bin).")
    var postgresBin: String?

    @Option(help: "Chat store: senders on node 1, each with one say outstanding; pgbench gets as many clients.")
    var chatStoreClients = 4

    @Option(
        help: """
            Idle sessions to open; 0 opens as many as the file-descriptor limit allows, at most 16,000 \
            (the server's default admission policy caps connections at 16,384).
            """)
    var sessions = 0

    @Option(help: "Event-loop threads of the generator (default: the number of cores).")
    var threads: Int?

    @Option(
        help: """
            The openssl executable, for the RSA and AES-GCM ceilings; 'none' skips them and the \
            in-process cipher cost.
            """)
    var openssl = "openssl"

    @Option(help: "Seconds of thread CPU time for each part of the in-process cipher cost (seal, open).")
    var cipherSeconds = 0.5

    @Option(help: "Write the full results as JSON here.")
    var json: String?

    @Option(help: "Write the Markdown tables here.")
    var markdown: String?

    @Option(
        help: "Drive a Laboratory server that is already running, as PID:PORT (for profiling), instead of starting one."
    )
    var attachLaboratory: String?

    @Option(help: "Drive a classic baseline that is already running, as PID:PORT, instead of starting one.")
    var attachClassic: String?

    @Option(help: "Drive an async baseline that is already running, as PID:PORT, instead of starting one.")
    var attachAsync: String?

    @Flag(help: "Drive only the baselines in echo and bulk (profiling a baseline).")
    var skipLaboratory = false

    @Option(help: "The server password (default: a random one given to the servers this generator starts).")
    var password: String?

    @Option(help: "A shell command run as each measurement window opens (e.g. callgrind_control -i on PID).")
    var onMeasureStart: String?

    @Option(help: "A shell command run as each measurement window closes.")
    var onMeasureEnd: String?

    @Option(
        help: """
            A shell command run in the sessions scenario once the idle sessions are open, before the \
            server's RSS is read (e.g. vgdb --pid PID detailed_snapshot FILE, for massif).
            """)
    var onSessionsOpen: String?

    @Option(help: "Write one Markdown history row (date, commit, headline figures) here.")
    var historyRow: String?

    @Option(help: "The commit being measured, recorded in the results.")
    var commit = "unknown"

    @Option(help: "Where servers keep state and logs (default: a new temporary directory).")
    var workDirectory: String?

    @OptionGroup(title: "Redis reference (scenario redis)")
    var redis: RedisOptions

    mutating func run() async throws {
        let fileLimit = raiseFileLimit()
        let log: @Sendable (String) -> Void = { line in
            FileHandle.standardError.write(Data("[bench] \(line)\n".utf8))
        }
        let chosen = Set(scenarios.split(separator: ",").map { String($0).trimmingCharacters(in: .whitespaces) })
        let work = workDirectory ?? NSTemporaryDirectory() + "laboratory-bench-\(getpid())"
        try FileManager.default.createDirectory(atPath: work, withIntermediateDirectories: true)
        let password = self.password ?? "bench-\(UInt64.random(in: 0...UInt64.max))"
        let machine = machineDescription()
        let loadBefore = loadAverage()
        log("machine: \(machine.cpu), \(machine.cores) cores; file limit \(fileLimit); work directory \(work)")

        var report = Report(
            date: ISO8601DateFormatter().string(from: Date()), machine: machine,
            configuration: [
                "repetitions": "\(repetitions)", "warmupSeconds": "\(warmup)", "durationSeconds": "\(duration)",
                "generatorThreads": "\(threads ?? System.coreCount)", "fileLimit": "\(fileLimit)",
                "fanoutWindow": "\(fanoutWindow)", "fanoutSenders": "\(fanoutSenders)",
                "fanoutSenderRate": "\(fanoutSenderRate)", "fanoutGoalRate": "\(fanoutGoalRate)",
                "laboratoryServer": laboratoryServer,
                "serverLogLevel": "warning", "commit": commit,
            ],
            openssl: nil, cipher: nil, bounds: nil, cells: [], sessions: nil, targets: [])

        // Ceilings first, while nothing else runs.
        if openssl != "none", let path = openssl.hasPrefix("/") ? openssl : which(openssl) {
            report.openssl = OpenSSLSpeed.measure(openssl: path, log: log)
            log(
                "openssl: rsa2048 \(report.openssl?.rsa2048SignPerSecond ?? 0)/s, two processes "
                    + "\(report.openssl?.rsa2048SignPerSecondTwoProcesses ?? 0)/s")
        }
        // The cipher's cost per record at echo's and bulk's sizes, for their bounds (skipped with
        // the other ceilings by `--openssl none`).
        if openssl != "none" {
            var costs: [String: CipherCost] = [:]
            for (scenario, size) in [("echo", 64), ("bulk", 65536)] where chosen.contains(scenario) {
                let cost = try CipherCost.measure(bodyBytes: size, seconds: cipherSeconds)
                log(
                    String(
                        format:
                            "cipher %@: seal %.2f + open %.2f µs (request, %d B), seal %.2f + open %.2f µs (response, %d B): %.2f µs per round trip",
                        scenario, cost.sealRequestMicroseconds, cost.openRequestMicroseconds, cost.requestBytes,
                        cost.sealResponseMicroseconds, cost.openResponseMicroseconds, cost.responseBytes,
                        cost.roundTripMicroseconds))
                costs[scenario] = cost
            }
            if !costs.isEmpty { report.cipher = costs }
        }

        let group = MultiThreadedEventLoopGroup(numberOfThreads: threads ?? System.coreCount)
        let board = StatsBoard(group: group)
        var scenarios = Scenarios(
            group: group, board: board, warmup: .milliseconds(Int64(warmup * 1000)),
            duration: .milliseconds(Int64(duration * 1000)), log: log)
        scenarios.hooks = (onMeasureStart, onMeasureEnd)
        scenarios.sessionsOpenHook = onSessionsOpen

        func startLaboratory(_ name: String) throws -> ServerProcess {
            try ServerProcess.start(
                name: name, executable: laboratoryServer,
                arguments: ["--port", "0", "--state-dir", "\(work)/state", "--log-level", "warning"],
                environment: ["LABORATORY_PASSWORD": password], logDirectory: work)
        }

        var servers: [ServerProcess] = []
        defer { for server in servers { server.stop() } }
        var targets: [Target] = []
        func attached(_ name: String, _ text: String) throws -> ServerProcess {
            let parts = text.split(separator: ":").compactMap { Int($0) }
            guard parts.count == 2 else { throw ValidationError("--attach-… takes PID:PORT") }
            return .attach(name: name, pid: Int32(parts[0]), port: parts[1])
        }
        if let attachClassic {
            targets.append(
                Target(name: "nio-classic", server: try attached("nio-classic", attachClassic), wire: .plain))
        } else if let classic {
            let server = try ServerProcess.start(
                name: "nio-classic", executable: classic, arguments: ["--port", "0"], logDirectory: work)
            servers.append(server)
            targets.append(Target(name: "nio-classic", server: server, wire: .plain))
        }
        if let attachAsync {
            targets.append(Target(name: "nio-async", server: try attached("nio-async", attachAsync), wire: .plain))
        } else if let async {
            let server = try ServerProcess.start(
                name: "nio-async", executable: async, arguments: ["--port", "0"], logDirectory: work)
            servers.append(server)
            targets.append(Target(name: "nio-async", server: server, wire: .plain))
        }
        let laboratory: ServerProcess
        if let attachLaboratory {
            laboratory = try attached("laboratory", attachLaboratory)
        } else {
            laboratory = try startLaboratory("laboratory")
            servers.append(laboratory)
        }
        let laboratoryTarget = Target(
            name: "laboratory", server: laboratory, wire: .laboratory(password: password, name: "bench"))
        if !skipLaboratory { targets.append(laboratoryTarget) }
        log(
            "servers: "
                + targets.map { "\($0.name) pid \($0.server.pid) port \($0.server.port)" }.joined(separator: ", "))

        func levels(_ text: String) -> [Int] { text.split(separator: ",").compactMap { Int($0) } }

        // The Redis reference line: its repetitions interleave with echo's at one level.
        let redisLine =
            chosen.contains("redis")
            ? await startRedis(&report, duration: duration, work: work, log: log) : nil
        defer { redisLine?.stop() }

        if chosen.contains("handshake") {
            // The baselines play the handshake's exchange in plaintext (`--handshake-shaped`): what
            // a handshake costs apart from its cryptography. An attached baseline must have been
            // started that way (scripts/profile does).
            var shaped: [ServerProcess] = []
            defer { for server in shaped { server.stop() } }
            var handshakeTargets: [Target] = []
            for (name, executable, attach) in [
                ("nio-classic", classic, attachClassic), ("nio-async", self.async, attachAsync),
            ] {
                if let attach {
                    handshakeTargets.append(Target(name: name, server: try attached(name, attach), wire: .plain))
                } else if let executable {
                    let server = try ServerProcess.start(
                        name: "\(name)-handshake-shaped", executable: executable,
                        arguments: ["--port", "0", "--handshake-shaped"], logDirectory: work)
                    shaped.append(server)
                    handshakeTargets.append(Target(name: name, server: server, wire: .plain))
                }
            }
            if !skipLaboratory { handshakeTargets.append(laboratoryTarget) }
            for level in levels(handshakeConcurrency) {
                var runs: [String: [Measurement]] = [:]
                for repetition in 1...repetitions {
                    // Interleaved, as echo's, so that drift on a shared machine hits every server alike.
                    for target in handshakeTargets {
                        let m = try await scenarios.handshakes(target, concurrency: level)
                        log(
                            String(
                                format:
                                    "handshake %@ c=%d #%d: %.0f/s p50 %.2f ms p99 %.2f ms, server %.0f µs CPU each, generator %.0f µs, errors %d",
                                target.name, level, repetition, m.operationsPerSecond, m.p50Microseconds / 1000,
                                m.p99Microseconds / 1000, m.serverCPUMicrosecondsPerOperation,
                                m.generatorCPUMicrosecondsPerOperation, m.errors))
                        runs[target.name, default: []].append(m)
                    }
                }
                for target in handshakeTargets {
                    let measured = runs[target.name] ?? []
                    report.cells.append(
                        Cell(
                            scenario: "handshake", target: target.name, level: level, repetitions: measured,
                            median: .median(measured)))
                }
            }
        }

        for (scenario, size, levelText) in [("echo", 64, echoConnections), ("bulk", 65536, bulkConnections)]
        where chosen.contains(scenario) {
            for level in levels(levelText) {
                var runs: [String: [Measurement]] = [:]
                for repetition in 1...repetitions {
                    // Interleaved, so that drift on a shared machine hits every server alike.
                    for target in targets {
                        let m = try await scenarios.requestResponse(target, connections: level, size: size)
                        log(
                            String(
                                format:
                                    "%@ %@ conns=%d #%d: %.0f/s %.1f MB/s p50 %.0f µs p99 %.0f µs, server %.1f µs CPU/op, errors %d",
                                scenario, target.name, level, repetition, m.operationsPerSecond, m.megabytesPerSecond,
                                m.p50Microseconds, m.p99Microseconds, m.serverCPUMicrosecondsPerOperation, m.errors))
                        runs[target.name, default: []].append(m)
                    }
                    if scenario == "echo", level == redis.redisBesideEcho { redisLine?.runRepetition() }
                }
                for target in targets {
                    let measured = runs[target.name] ?? []
                    report.cells.append(
                        Cell(
                            scenario: scenario, target: target.name, level: level, repetitions: measured,
                            median: .median(measured)))
                }
            }
        }

        if let redisLine { finishRedis(redisLine, &report) }

        if chosen.contains("fanout") {
            // A fresh server, so that earlier scenarios leave no state in the chat service (an
            // attached server, for profiling, is used as it is).
            let server = attachLaboratory != nil ? laboratory : try startLaboratory("laboratory-fanout")
            servers.append(server)
            let target = Target(name: "laboratory", server: server, wire: laboratoryTarget.wire)
            // The highest rate the senders may offer (above what two shared cores can deliver: the
            // throughput), then, interleaved with it, the goal's rate (the latency at that rate).
            let senders = max(1, min(fanoutSenders, fanoutMembers))
            var rates = [fanoutSenderRate]
            if fanoutGoalRate > 0 { rates.append(fanoutGoalRate / senders) }
            let runs = try await scenarios.fanout(
                target, members: fanoutMembers, senders: fanoutSenders, senderRates: rates,
                window: fanoutWindow, repetitions: repetitions)
            for (scenario, measured) in zip(["fanout", "fanout-goal-rate"], runs) {
                report.cells.append(
                    Cell(
                        scenario: scenario, target: "laboratory", level: fanoutMembers, repetitions: measured,
                        median: .median(measured)))
            }
            server.stop()
        }

        if chosen.contains("chatstore") {
            if let binaries = postgresBin ?? BenchPostgres.findBinaries() {
                report.cells += try await chatStore(
                    binaries: binaries, work: work, password: password, scenarios: scenarios, log: log)
            } else {
                log("chatstore: PostgreSQL is not installed (apt-get install postgresql); skipped")
            }
        }

        if chosen.contains("sessions") {
            let server = attachLaboratory != nil ? laboratory : try startLaboratory("laboratory-sessions")
            servers.append(server)
            let serverLimit = server.fileLimit() ?? fileLimit
            // Each session costs one descriptor here and one in the server; keep a margin for both.
            let possible = min(fileLimit, serverLimit) - 500
            let count = sessions > 0 ? min(sessions, possible) : min(possible, 16_000)
            let target = Target(name: "laboratory", server: server, wire: laboratoryTarget.wire)
            report.sessions = try await scenarios.sessions(target, count: count, fileLimit: min(fileLimit, serverLimit))
            server.stop()
        }

        report.configuration["loadAverageBefore"] = loadBefore
        report.configuration["loadAverageAfter"] = loadAverage()
        report.checkTargets()
        try await group.shutdownGracefully()

        print(report.textTable())
        if let json {
            let encoder = JSONEncoder()
            encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
            try encoder.encode(report).write(to: URL(fileURLWithPath: json))
            log("wrote \(json)")
        }
        if let historyRow {
            try (report.historyRow() + "\n").write(toFile: historyRow, atomically: true, encoding: .utf8)
        }
        if let markdown {
            try report.markdown().write(toFile: markdown, atomically: true, encoding: .utf8)
            log("wrote \(markdown)")
        }
    }

    /// Two `laboratory-server` nodes on one new PostgreSQL cluster, one room across them, against
    /// `pgbench` running the store's own append statement with as many clients, repetitions
    /// interleaved. Returns the two cells (`pgbench`, `laboratory`).
    private func chatStore(
        binaries: String, work: String, password: String, scenarios: Scenarios,
        log: @escaping @Sendable (String) -> Void
    ) async throws -> [Cell] {
        let cluster = try await BenchPostgres.start(binaries: binaries, work: work, log: log)
        defer { cluster.remove() }
        func node(_ name: String) throws -> ServerProcess {
            try ServerProcess.start(
                name: name, executable: laboratoryServer,
                arguments: [
                    "--port", "0", "--state-dir", "\(work)/\(name)", "--log-level", "warning", "--chat-store",
                    cluster.url,
                ],
                environment: ["LABORATORY_PASSWORD": password], logDirectory: work)
        }
        // The first node applies the schema migrations before the second starts.
        let first = try node("laboratory-node1")
        let second = try node("laboratory-node2")
        defer {
            first.stop()
            second.stop()
        }
        let wire = Wire.laboratory(password: password, name: "bench")
        let targets = (
            Target(name: "node1", server: first, wire: wire), Target(name: "node2", server: second, wire: wire)
        )
        var ceiling: [Measurement] = []
        var measured: [Measurement] = []
        let threads = min(chatStoreClients, System.coreCount)
        for repetition in 1...repetitions {
            let p = try cluster.pgbench(
                script: ChatStoreStatement.pgbenchScript(room: "pgbench-\(repetition)"), clients: chatStoreClients,
                seconds: duration, threads: threads)
            log(
                String(
                    format: "chatstore pgbench c=%d #%d: %.0f/s p50 %.2f ms p99 %.2f ms, failed %d", chatStoreClients,
                    repetition, p.operationsPerSecond, p.p50Microseconds / 1000, p.p99Microseconds / 1000, p.errors))
            ceiling.append(p)
            let m = try await scenarios.chatStore(
                first: targets.0, second: targets.1, clients: chatStoreClients, room: "relay-\(repetition)")
            log(
                String(
                    format:
                        "chatstore laboratory c=%d #%d: %.0f messages/s node 1 → node 2 p50 %.2f ms p99 %.2f ms, errors %d",
                    chatStoreClients, repetition, m.operationsPerSecond, m.p50Microseconds / 1000,
                    m.p99Microseconds / 1000, m.errors))
            measured.append(m)
        }
        return [
            Cell(
                scenario: "chatstore", target: "pgbench", level: chatStoreClients, repetitions: ceiling,
                median: .median(ceiling)),
            Cell(
                scenario: "chatstore", target: "laboratory", level: chatStoreClients, repetitions: measured,
                median: .median(measured)),
        ]
    }
}
