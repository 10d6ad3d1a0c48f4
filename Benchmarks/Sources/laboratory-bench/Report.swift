import Foundation
import Histogram

struct Machine: Codable {
    var cpu: String
    var cores: Int
    var kernel: String
    var memoryGiB: Double
}

/// One measurement window.
struct Measurement: Codable {
    var operations: Int
    var seconds: Double
    var operationsPerSecond: Double
    /// Payload megabytes (10^6 bytes) echoed per second, counted once per round trip.
    var megabytesPerSecond: Double
    var p50Microseconds: Double
    var p99Microseconds: Double
    var p999Microseconds: Double
    var serverCPUSeconds: Double
    /// The kernel's share of `serverCPUSeconds` (system time: sockets, epoll, TCP).
    var serverSystemCPUSeconds: Double = 0 {
        didSet {
            serverSystemCPUMicrosecondsPerOperation =
                operations > 0 ? serverSystemCPUSeconds / Double(operations) * 1e6 : 0
        }
    }
    var generatorCPUSeconds: Double
    /// Server CPU time per operation; independent of how the two cores are shared.
    var serverCPUMicrosecondsPerOperation: Double
    /// The kernel's part of it.
    var serverSystemCPUMicrosecondsPerOperation: Double = 0
    /// The load generator's own CPU time per operation (this process, all its threads).
    var generatorCPUMicrosecondsPerOperation: Double = 0
    var errors: Int
    /// Fan-out: deliveries expected but not received.
    var lost: Int = 0

    init(
        operations: Int, seconds: Double, bytes: Int, latencies: Histogram<UInt64>, serverCPU: Double,
        generatorCPU: Double, errors: Int, lost: Int = 0
    ) {
        self.operations = operations
        self.seconds = seconds
        self.operationsPerSecond = seconds > 0 ? Double(operations) / seconds : 0
        self.megabytesPerSecond = seconds > 0 ? Double(bytes) / seconds / 1e6 : 0
        self.p50Microseconds = Double(latencies.valueAtPercentile(50))
        self.p99Microseconds = Double(latencies.valueAtPercentile(99))
        self.p999Microseconds = Double(latencies.valueAtPercentile(99.9))
        self.serverCPUSeconds = serverCPU
        self.generatorCPUSeconds = generatorCPU
        self.serverCPUMicrosecondsPerOperation = operations > 0 ? serverCPU / Double(operations) * 1e6 : 0
        self.generatorCPUMicrosecondsPerOperation = operations > 0 ? generatorCPU / Double(operations) * 1e6 : 0
        self.errors = errors
        self.lost = lost
    }

    /// The median of each field over `runs` (an even count takes the mean of the middle two).
    /// Figures per operation are the medians of each run's own figure, not one run's CPU time over
    /// another run's count.
    static func median(_ runs: [Measurement]) -> Measurement {
        func med(_ path: KeyPath<Measurement, Double>) -> Double {
            let values = runs.map { $0[keyPath: path] }.sorted()
            guard !values.isEmpty else { return 0 }
            return values.count % 2 == 1
                ? values[values.count / 2] : (values[values.count / 2 - 1] + values[values.count / 2]) / 2
        }
        var result = runs[0]
        result.operations = Int(med(\.operationsDouble))
        result.seconds = med(\.seconds)
        result.operationsPerSecond = med(\.operationsPerSecond)
        result.megabytesPerSecond = med(\.megabytesPerSecond)
        result.p50Microseconds = med(\.p50Microseconds)
        result.p99Microseconds = med(\.p99Microseconds)
        result.p999Microseconds = med(\.p999Microseconds)
        result.serverCPUSeconds = med(\.serverCPUSeconds)
        result.serverSystemCPUSeconds = med(\.serverSystemCPUSeconds)
        result.generatorCPUSeconds = med(\.generatorCPUSeconds)
        result.serverCPUMicrosecondsPerOperation = med(\.serverCPUMicrosecondsPerOperation)
        result.serverSystemCPUMicrosecondsPerOperation = med(\.serverSystemCPUMicrosecondsPerOperation)
        result.generatorCPUMicrosecondsPerOperation = med(\.generatorCPUMicrosecondsPerOperation)
        result.errors = runs.map(\.errors).reduce(0, +)
        result.lost = runs.map(\.lost).reduce(0, +)
        return result
    }

    var operationsDouble: Double { Double(operations) }

    /// Server CPU per operation with the kernel's part, e.g. "54.8 (21.0 sys)".
    var cpuPerOperationText: String {
        String(format: "%.1f (%.1f sys)", serverCPUMicrosecondsPerOperation, serverSystemCPUMicrosecondsPerOperation)
    }
}

/// A scenario at one level against one server, over several repetitions.
struct Cell: Codable {
    var scenario: String
    var target: String
    /// Connections (echo, bulk), concurrency (handshake) or members (fan-out).
    var level: Int
    var repetitions: [Measurement]
    var median: Measurement
}

struct Probe: Codable {
    var handshakeP50Microseconds: Double
    var handshakeP99Microseconds: Double
    var echoP50Microseconds: Double
    var echoP99Microseconds: Double
    var echoErrors: Int
}

struct SessionsResult: Codable {
    var fileLimit: Int
    var requested: Int
    var opened: Int
    var openSeconds: Double
    var residentBytesBefore: Int
    var residentBytesAfter: Int
    var residentBytesPerSession: Double
    var probeBefore: Probe
    var probeWith: Probe
}

struct OpenSSLFigures: Codable {
    var version: String
    /// `openssl speed -seconds 3 rsa2048`: private-key (sign) operations per second, one core.
    var rsa2048SignPerSecond: Double?
    /// `openssl speed -multi 2 -seconds 3 rsa2048`: the total over two processes.
    var rsa2048SignPerSecondTwoProcesses: Double?
    /// `openssl speed -seconds 3 rsa2048`: public-key (verify) operations per second, one core;
    /// a client's RSA-OAEP encryption of the secret costs one.
    var rsa2048VerifyPerSecond: Double?
    /// `openssl speed -evp aes-256-gcm`: bytes per second by block size (also 65536, from a
    /// second run with `-bytes 65536`, bulk's record size).
    var aes256gcmBytesPerSecond: [String: Double]
}

struct TargetCheck: Codable {
    var name: String
    var goal: String
    var measured: String
    /// nil when the figure is missing.
    var met: Bool?
    /// What physical costs measured in the same run allow at best (Docs/PERFORMANCE.md,
    /// "Bounds"); nil where none is computed.
    var bound: String? = nil
}

struct Report: Codable {
    var date: String
    var machine: Machine
    var configuration: [String: String]
    var openssl: OpenSSLFigures?
    /// AES-256-GCM per record at echo's and bulk's sizes, in this process (`CipherCost`), by scenario.
    var cipher: [String: CipherCost]?
    /// What the physical costs above allow at best (filled in by `checkTargets`).
    var bounds: Bounds?
    var cells: [Cell]
    var sessions: SessionsResult?
    var targets: [TargetCheck]
}

// MARK: - openssl speed

enum OpenSSLSpeed {
    static func measure(openssl: String, log: (String) -> Void) -> OpenSSLFigures {
        let version = (try? runCommand(openssl, ["version"]))?.trimmingCharacters(in: .whitespacesAndNewlines) ?? "?"
        log("openssl speed -seconds 3 rsa2048")
        let singleOutput = try? runCommand(openssl, ["speed", "-seconds", "3", "rsa2048"])
        let single = singleOutput.flatMap(rsaSignRate)
        let verify = singleOutput.flatMap { rsaRate($0, column: "verify/s") }
        log("openssl speed -multi 2 -seconds 3 rsa2048")
        let multi = (try? runCommand(openssl, ["speed", "-multi", "2", "-seconds", "3", "rsa2048"])).flatMap(
            rsaSignRate)
        log("openssl speed -evp aes-256-gcm")
        var aes = (try? runCommand(openssl, ["speed", "-evp", "aes-256-gcm"])).map(aesRates) ?? [:]
        log("openssl speed -evp aes-256-gcm -bytes 65536 -seconds 3")
        let large =
            (try? runCommand(openssl, ["speed", "-evp", "aes-256-gcm", "-bytes", "65536", "-seconds", "3"]))
            .map(aesRates) ?? [:]
        aes.merge(large) { $1 }
        return OpenSSLFigures(
            version: version, rsa2048SignPerSecond: single, rsa2048SignPerSecondTwoProcesses: multi,
            rsa2048VerifyPerSecond: verify, aes256gcmBytesPerSecond: aes)
    }

    /// The `sign/s` column of the `rsa 2048 bits` line.
    static func rsaSignRate(_ output: String) -> Double? { rsaRate(output, column: "sign/s") }

    /// The column `column` (`sign/s`, `verify/s`) of the `rsa 2048 bits` line.
    static func rsaRate(_ output: String, column name: String) -> Double? {
        let lines = output.split(separator: "\n")
        guard let header = lines.last(where: { $0.contains(name) }),
            let line = lines.last(where: { $0.hasPrefix("rsa 2048 bits") || $0.hasPrefix("rsa  2048 bits") })
        else { return nil }
        let columns = header.split(separator: " ")
        guard let column = columns.firstIndex(where: { $0 == name }) else { return nil }
        let values = line.split(separator: " ").dropFirst(3)  // "rsa", "2048", "bits"
        let numbers = values.map { Double($0.trimmingCharacters(in: CharacterSet(charactersIn: "s"))) }
        guard column < numbers.count else { return nil }
        return numbers[column]
    }

    /// Bytes per second by block size from the `AES-256-GCM` line (printed in 1000s of bytes).
    static func aesRates(_ output: String) -> [String: Double] {
        let lines = output.split(separator: "\n")
        guard let header = lines.last(where: { $0.hasPrefix("type") }),
            let line = lines.last(where: { $0.hasPrefix("AES-256-GCM") || $0.hasPrefix("aes-256-gcm") })
        else { return [:] }
        let sizes = header.split(separator: " ").compactMap { Int($0) }
        let values = line.split(separator: " ").dropFirst().compactMap { Double($0.dropLast()) }
        var result: [String: Double] = [:]
        for (size, value) in zip(sizes, values) { result["\(size)"] = value * 1000 }
        return result
    }
}

// MARK: - Targets

extension Report {
    /// The chat-store scenario's client count (its cells' level), if it ran.
    var chatStoreClients: Int { cells.first { $0.scenario == "chatstore" }?.level ?? 0 }

    /// The fan-out's highest offered rate: every sender's deliveries per second together.
    var fanoutOfferedRate: Double? {
        guard let senders = Int(configuration["fanoutSenders"] ?? ""),
            let rate = Int(configuration["fanoutSenderRate"] ?? ""),
            let members = cells.first(where: { $0.scenario == "fanout" })?.level
        else { return nil }
        return Double(max(1, min(senders, members)) * rate)
    }

    func cell(_ scenario: String, _ target: String, _ level: Int) -> Measurement? {
        cells.first { $0.scenario == scenario && $0.target == target && $0.level == level }?.median
    }

    /// Checks the issue's targets against this run's medians.
    mutating func checkTargets() {
        var checks: [TargetCheck] = []
        func ratio(_ a: Double?, _ b: Double?) -> Double? {
            guard let a, let b, b > 0 else { return nil }
            return a / b
        }
        func add(
            _ name: String, _ goal: String, _ value: Double?, _ format: (Double) -> String, _ met: (Double) -> Bool,
            bound: String? = nil
        ) {
            checks.append(
                TargetCheck(
                    name: name, goal: goal, measured: value.map(format) ?? "n/a", met: value.map(met), bound: bound))
        }
        let bounds = computeBounds()
        self.bounds = bounds
        let x = { (v: Double) in String(format: "%.2f×", v) }

        // Handshake.
        let rsaMicroseconds = openssl?.rsa2048SignPerSecond.map { 1e6 / $0 }
        let perHandshake = cell("handshake", "laboratory", 16)?.serverCPUMicrosecondsPerOperation
        add(
            "Handshake server CPU per handshake (c=16)", "≤ 1.3 × one RSA-2048 private op",
            ratio(perHandshake, rsaMicroseconds),
            { v in String(format: "%.2f× (%.0f µs vs %.0f µs)", v, perHandshake ?? 0, rsaMicroseconds ?? 0) },
            { $0 <= 1.3 }, bound: bounds.handshakeCPU)
        let rate16 = cell("handshake", "laboratory", 16)?.operationsPerSecond
        let multi = openssl?.rsa2048SignPerSecondTwoProcesses
        add(
            "Handshakes/s at concurrency 16", "≥ 0.5 × two-core RSA-2048 private ops/s", ratio(rate16, multi),
            { v in String(format: "%.2f× (%.0f/s vs %.0f/s)", v, rate16 ?? 0, multi ?? 0) }, { $0 >= 0.5 },
            bound: bounds.handshakeRate)

        // Echo at 100 connections.
        let lab100 = cell("echo", "laboratory", 100)
        let async100 = cell("echo", "nio-async", 100)
        let classic100 = cell("echo", "nio-classic", 100)
        add(
            "Echo 64 B, 100 connections: round trips/s", "≥ 0.8 × NIOAsyncChannel baseline",
            ratio(lab100?.operationsPerSecond, async100?.operationsPerSecond), x, { $0 >= 0.8 },
            bound: bounds.cipher(scenario: "echo", baseline: "nio-async", level: 100))
        add(
            "Echo 64 B, 100 connections: round trips/s", "≥ 0.6 × classic-handler baseline",
            ratio(lab100?.operationsPerSecond, classic100?.operationsPerSecond), x, { $0 >= 0.6 },
            bound: bounds.cipher(scenario: "echo", baseline: "nio-classic", level: 100))
        add(
            "Echo 64 B, 100 connections: p99 latency", "≤ 1.5 × NIOAsyncChannel baseline",
            ratio(lab100?.p99Microseconds, async100?.p99Microseconds), x, { $0 <= 1.5 })

        // Against the prototype (20/s on 1 connection, 193/s on 10).
        add(
            "Echo 64 B, 1 connection, vs the Python prototype", "> 20 round trips/s",
            cell("echo", "laboratory", 1)?.operationsPerSecond, { String(format: "%.0f/s", $0) }, { $0 > 20 })
        add(
            "Echo 64 B, 10 connections, vs the Python prototype", "> 193 round trips/s",
            cell("echo", "laboratory", 10)?.operationsPerSecond, { String(format: "%.0f/s", $0) }, { $0 > 193 })

        // Bulk, against the better plaintext baseline at each level.
        for level in [1, 10] {
            let lab = cell("bulk", "laboratory", level)?.megabytesPerSecond
            let baselines = ["nio-classic", "nio-async"].compactMap { name in
                cell("bulk", name, level).map { (name, $0.megabytesPerSecond) }
            }
            let fastest = baselines.max { $0.1 < $1.1 }
            let best = fastest?.1
            add(
                "Bulk 64 KiB, \(level) connection\(level == 1 ? "" : "s")",
                "≥ 0.6 × plaintext baseline (the faster one)",
                ratio(lab, best), { v in String(format: "%.2f× (%.0f vs %.0f MB/s)", v, lab ?? 0, best ?? 0) },
                { $0 >= 0.6 },
                bound: fastest.flatMap {
                    bounds.cipher(scenario: "bulk", baseline: $0.0, level: level)
                })
        }

        // Sessions.
        if let sessions {
            checks.append(
                TargetCheck(
                    name: "Idle accepted sessions in one process", goal: "≥ 15,000",
                    measured: "\(sessions.opened) (fd limit \(sessions.fileLimit))", met: sessions.opened >= 15_000))
            checks.append(
                TargetCheck(
                    name: "Resident memory per idle session", goal: "< 16 KiB",
                    measured: String(format: "%.1f KiB", sessions.residentBytesPerSession / 1024),
                    met: sessions.residentBytesPerSession < 16 * 1024))
        } else {
            checks.append(
                TargetCheck(name: "Idle accepted sessions", goal: "≥ 15,000, < 16 KiB each", measured: "n/a", met: nil))
        }

        // Fan-out: the throughput at the highest offered rate; the latency at the goal's rate.
        let fanCell = cells.first { $0.scenario == "fanout" }
        let fan = fanCell?.median
        let offered = fanoutOfferedRate
        add(
            "Fan-out deliveries/s, \(fanCell?.level ?? 1000)-member room", "≥ 250,000/s", fan?.operationsPerSecond,
            { v in
                String(
                    format: "%.0f/s of %@/s offered (p99 %.1f ms, lost %d)", v, offered.map { Self.number($0) } ?? "?",
                    (fan?.p99Microseconds ?? 0) / 1000, fan?.lost ?? 0)
            },
            { $0 >= 250_000 }, bound: bounds.fanout)
        if let paced = cells.first(where: { $0.scenario == "fanout-goal-rate" })?.median,
            let goalRate = Double(configuration["fanoutGoalRate"] ?? "")
        {
            // Kept pace: within 3 % of the offered rate over a window of a few seconds (the first
            // and last `say`s of a window make the count differ a little from rate × duration).
            let keptPace = paced.lost == 0 && paced.errors == 0 && paced.operationsPerSecond >= 0.97 * goalRate
            checks.append(
                TargetCheck(
                    name: "Fan-out p99 latency at \(Self.number(goalRate)) deliveries/s offered",
                    goal: "< 50 ms, keeping pace, none lost",
                    measured: String(
                        format: "%.1f ms at %@/s, lost %d", paced.p99Microseconds / 1000,
                        Self.number(paced.operationsPerSecond), paced.lost),
                    met: paced.p99Microseconds < 50_000 && keptPace))
        }
        targets = checks
    }
}

// MARK: - Rendering

extension Report {
    static let targetNames = [
        "nio-classic": "NIO classic handlers", "nio-async": "NIOAsyncChannel", "laboratory": "Laboratory",
    ]

    /// The results as Markdown: what `scripts/bench` puts into Docs/PERFORMANCE.md.
    func markdown() -> String {
        var out = ""
        let repetitions = cells.first?.repetitions.count ?? 0
        out += "Measured \(date) on \(machine.cpu), \(machine.cores) cores, "
        out += String(format: "%.0f GiB, %@. ", machine.memoryGiB, machine.kernel)
        out += "Medians of \(repetitions) repetitions; server and load generator share the cores. "
        out +=
            "Load average before/after the run: \(configuration["loadAverageBefore"] ?? "?") / \(configuration["loadAverageAfter"] ?? "?"). "
        out += "Raw figures: [`performance/latest.json`](performance/latest.json).\n\n"

        out += "#### Targets\n\n"
        out += "Bound: the best that the physical costs measured in this run allow (Method, \"Bounds\").\n\n"
        out += "| Target | Goal | Measured | Met | Bound (same run) |\n|---|---|---|---|---|\n"
        for check in targets {
            let met = check.met.map { $0 ? "yes" : "**no**" } ?? "n/a"
            out += "| \(check.name) | \(check.goal) | \(check.measured) | \(met) | \(check.bound ?? "—") |\n"
        }

        out += "\n#### Request/response (non-pipelined)\n\n"
        out +=
            "| Scenario | Server | Conns | Round trips/s | MB/s | p50 µs | p99 µs | p99.9 µs | Server CPU µs/op (kernel) | ×async | ×classic | Errors |\n"
        out += "|---|---|--:|--:|--:|--:|--:|--:|--:|--:|--:|--:|\n"
        for scenario in ["echo", "bulk"] {
            let levels = Set(cells.filter { $0.scenario == scenario }.map(\.level)).sorted()
            for level in levels {
                for target in ["nio-classic", "nio-async", "laboratory"] {
                    guard let m = cell(scenario, target, level) else { continue }
                    let base = cell(scenario, "nio-async", level)
                    let classic = cell(scenario, "nio-classic", level)
                    let key: KeyPath<Measurement, Double> =
                        scenario == "bulk" ? \.megabytesPerSecond : \.operationsPerSecond
                    let vsAsync = base.map { m[keyPath: key] / max($0[keyPath: key], 1e-9) }
                    let vsClassic = classic.map { m[keyPath: key] / max($0[keyPath: key], 1e-9) }
                    let name = scenario == "echo" ? "echo 64 B" : "bulk 64 KiB"
                    out += "| \(name) | \(Self.targetNames[target] ?? target) | \(level) | "
                    out += "\(Self.number(m.operationsPerSecond)) | \(String(format: "%.1f", m.megabytesPerSecond)) | "
                    out += "\(Self.number(m.p50Microseconds)) | \(Self.number(m.p99Microseconds)) | "
                    out += "\(Self.number(m.p999Microseconds)) | \(m.cpuPerOperationText) | "
                    out += "\(target == "nio-async" ? "—" : vsAsync.map { String(format: "%.2f", $0) } ?? "") | "
                    out += "\(target == "nio-classic" ? "—" : vsClassic.map { String(format: "%.2f", $0) } ?? "") | "
                    out += "\(m.errors) |\n"
                }
            }
            if scenario == "echo" { out += redisReferenceRows() }
        }

        let handshakeLevels = Set(cells.filter { $0.scenario == "handshake" }.map(\.level)).sorted()
        if !handshakeLevels.isEmpty {
            out += "\n#### Handshakes (connect, key exchange, password, name, accepted; then bye and close)\n\n"
            out +=
                "The baselines play the same exchange in plaintext (`--handshake-shaped`: the same frames and sizes, no cryptography). "
            out +=
                "CPU-bound rate: \(machine.cores) cores ÷ (server + generator CPU per handshake), what the rate would be with both cores busy.\n\n"
            out +=
                "| Server | Concurrency | Handshakes/s | p50 ms | p99 ms | Server CPU µs/handshake (kernel) | × RSA private op | Generator CPU µs/handshake | CPU-bound rate /s | Errors |\n"
            out += "|---|--:|--:|--:|--:|--:|--:|--:|--:|--:|\n"
            let rsa = openssl?.rsa2048SignPerSecond.map { 1e6 / $0 }
            for level in handshakeLevels {
                for target in ["nio-classic", "nio-async", "laboratory"] {
                    guard let m = cell("handshake", target, level) else { continue }
                    let name =
                        target == "laboratory" ? "Laboratory" : "\(Self.targetNames[target] ?? target), plaintext"
                    out += "| \(name) | \(level) | \(Self.number(m.operationsPerSecond)) | "
                    out +=
                        String(format: "%.2f | %.2f | ", m.p50Microseconds / 1000, m.p99Microseconds / 1000)
                        + m.cpuPerOperationText + " | "
                    out +=
                        "\(rsa.map { String(format: "%.2f", m.serverCPUMicrosecondsPerOperation / $0) } ?? "n/a") | "
                    let both = m.serverCPUMicrosecondsPerOperation + m.generatorCPUMicrosecondsPerOperation
                    out += String(format: "%.1f | ", m.generatorCPUMicrosecondsPerOperation)
                    out += "\(both > 0 ? Self.number(Double(machine.cores) * 1e6 / both) : "n/a") | \(m.errors) |\n"
                }
            }
        }

        if let fan = cells.first(where: { $0.scenario == "fanout" }) {
            let senders = configuration["fanoutSenders"] ?? "several"
            out += "\n#### Fan-out (one room, \(fan.level) members, \(senders) of them sending)\n\n"
            out +=
                "| Offered deliveries/s | Deliveries/s | Deliveries counted | Lost | p50 ms | p99 ms | p99.9 ms | Server CPU µs/delivery (kernel) | Generator CPU µs/delivery |\n"
            out += "|--:|--:|--:|--:|--:|--:|--:|--:|--:|\n"
            let goalRate = Double(configuration["fanoutGoalRate"] ?? "")
            let rows =
                [(fan, fanoutOfferedRate)]
                + cells.filter { $0.scenario == "fanout-goal-rate" }.map { ($0, goalRate) }
            for (cell, offered) in rows {
                let m = cell.median
                out += "| \(offered.map { Self.number($0) } ?? "?") | \(Self.number(m.operationsPerSecond)) | "
                out += "\(Self.number(Double(m.operations))) | \(m.lost) | "
                out +=
                    String(
                        format: "%.1f | %.1f | %.1f | ", m.p50Microseconds / 1000, m.p99Microseconds / 1000,
                        m.p999Microseconds / 1000) + m.cpuPerOperationText
                    + String(format: " | %.2f |\n", m.generatorCPUMicrosecondsPerOperation)
            }
        }

        if let store = cell("chatstore", "laboratory", chatStoreClients),
            let ceiling = cell("chatstore", "pgbench", chatStoreClients)
        {
            out +=
                "\n#### Chat on PostgreSQL (one room, two nodes: \(chatStoreClients) senders on node 1, one receiver on node 2)\n\n"
            out += "| Path | Messages/s | p50 ms | p99 ms | p99.9 ms | × pgbench | Errors |\n"
            out += "|---|--:|--:|--:|--:|--:|--:|\n"
            for (name, m) in [
                ("`pgbench -c \(chatStoreClients)`, the store's append statement (ceiling)", ceiling),
                ("Laboratory: `say` on node 1 → event on node 2", store),
            ] {
                out += "| \(name) | \(Self.number(m.operationsPerSecond)) | "
                out += String(
                    format: "%.2f | %.2f | %.2f | ", m.p50Microseconds / 1000, m.p99Microseconds / 1000,
                    m.p999Microseconds / 1000)
                out += String(format: "%.2f", m.operationsPerSecond / max(ceiling.operationsPerSecond, 1e-9))
                out += " | \(m.errors) |\n"
            }
        }

        if let s = sessions {
            out += "\n#### Idle sessions\n\n"
            out +=
                "| Sessions | Time to open | RSS before | RSS with sessions | Per session | New client: handshake p50 before → with | echo p50 before → with | echo p99 before → with |\n"
            out += "|--:|--:|--:|--:|--:|--:|--:|--:|\n"
            out += "| \(s.opened) | \(String(format: "%.1f s", s.openSeconds)) | "
            out += String(
                format: "%.1f MiB | %.1f MiB | %.1f KiB | ", Double(s.residentBytesBefore) / 1_048_576,
                Double(s.residentBytesAfter) / 1_048_576, s.residentBytesPerSession / 1024)
            out += String(
                format: "%.2f → %.2f ms | %.0f → %.0f µs | %.0f → %.0f µs |\n",
                s.probeBefore.handshakeP50Microseconds / 1000,
                s.probeWith.handshakeP50Microseconds / 1000, s.probeBefore.echoP50Microseconds,
                s.probeWith.echoP50Microseconds,
                s.probeBefore.echoP99Microseconds, s.probeWith.echoP99Microseconds)
        }

        if openssl != nil || cipher != nil {
            out += "\n#### Ceilings (\(openssl?.version ?? "OpenSSL"))\n\n| Measure | Value |\n|---|--:|\n"
        }
        if let o = openssl {
            if let v = o.rsa2048SignPerSecond {
                out +=
                    "| `openssl speed -seconds 3 rsa2048`: private ops/s, one core | \(Self.number(v)) (\(String(format: "%.0f", 1e6 / v)) µs each) |\n"
            }
            if let v = o.rsa2048SignPerSecondTwoProcesses {
                out +=
                    "| `openssl speed -multi 2 -seconds 3 rsa2048`: private ops/s, two processes | \(Self.number(v)) |\n"
            }
            if let v = o.rsa2048VerifyPerSecond {
                out +=
                    "| `openssl speed -seconds 3 rsa2048`: public ops/s (a client's OAEP encryption), one core | \(Self.number(v)) (\(String(format: "%.0f", 1e6 / v)) µs each) |\n"
            }
            for size in ["64", "1024", "16384"] {
                if let v = o.aes256gcmBytesPerSecond[size] {
                    out +=
                        "| `openssl speed -evp aes-256-gcm`, \(size)-byte blocks | \(String(format: "%.0f MB/s", v / 1e6)) |\n"
                }
            }
            if let v = o.aes256gcmBytesPerSecond["65536"] {
                out +=
                    "| `openssl speed -evp aes-256-gcm -bytes 65536 -seconds 3` (bulk's record size) | \(String(format: "%.0f MB/s", v / 1e6)) (\(String(format: "%.1f", 65536 / v * 1e6)) µs per 64 KiB) |\n"
            }
        }
        for (scenario, title) in [("echo", "echo 64 B"), ("bulk", "bulk 64 KiB")] {
            guard let c = cipher?[scenario] else { continue }
            out += String(
                format:
                    "| AES-256-GCM in process (`RecordSealer`/`RecordOpener`, thread CPU), %@: seal + open request (%d B), seal + open response (%d B) | %.2f + %.2f + %.2f + %.2f = %.2f µs per round trip |\n",
                title, c.requestBytes, c.responseBytes, c.sealRequestMicroseconds, c.openRequestMicroseconds,
                c.sealResponseMicroseconds, c.openResponseMicroseconds, c.roundTripMicroseconds)
        }
        return out
    }

    /// One line for the history table: date, commit and the headline figures.
    func historyRow() -> String {
        func f(_ value: Double?, _ format: String) -> String { value.map { String(format: format, $0) } ?? "n/a" }
        let lab = cell("echo", "laboratory", 100)
        let base = cell("echo", "nio-async", 100)
        let ratio = lab.flatMap { l in base.map { l.operationsPerSecond / max($0.operationsPerSecond, 1e-9) } }
        return "| \(date.prefix(10)) | \(configuration["commit"] ?? "?") | \(machine.cpu), \(machine.cores) cores | "
            + "\(f(cell("handshake", "laboratory", 16)?.operationsPerSecond, "%.0f")) | "
            + "\(f(lab?.operationsPerSecond, "%.0f")) (\(f(ratio, "%.2f"))× async) | "
            + "\(f(cell("bulk", "laboratory", 10)?.megabytesPerSecond, "%.0f")) | "
            + "\(f(cells.first { $0.scenario == "fanout" }?.median.operationsPerSecond, "%.0f")) | "
            + "\(f(sessions.map { $0.residentBytesPerSession / 1024 }, "%.1f")) |"
    }

    static func number(_ value: Double) -> String {
        let formatter = NumberFormatter()
        formatter.numberStyle = .decimal
        formatter.maximumFractionDigits = 0
        formatter.groupingSeparator = ","
        formatter.usesGroupingSeparator = true
        return formatter.string(from: NSNumber(value: value.rounded())) ?? "\(Int(value))"
    }

    /// A plain-text table for the terminal.
    func textTable() -> String {
        var out = String(
            format: "%-10@ %-12@ %6@ %12@ %9@ %9@ %9@ %9@ %10@ %6@\n", "scenario" as NSString, "server" as NSString,
            "level" as NSString, "ops/s" as NSString, "MB/s" as NSString, "p50 µs" as NSString, "p99 µs" as NSString,
            "p99.9 µs" as NSString, "srv µs/op" as NSString, "errors" as NSString)
        for cell in cells {
            let m = cell.median
            out += String(
                format: "%-10@ %-12@ %6d %12.0f %9.1f %9.0f %9.0f %9.0f %10.1f %6d\n", cell.scenario as NSString,
                cell.target as NSString, cell.level, m.operationsPerSecond, m.megabytesPerSecond, m.p50Microseconds,
                m.p99Microseconds, m.p999Microseconds, m.serverCPUMicrosecondsPerOperation, m.errors + m.lost)
        }
        if let s = sessions {
            out += String(
                format:
                    "sessions: %d open (fd limit %d), %.1f KiB RSS each; new client handshake p50 %.2f ms (%.2f before), echo p50 %.0f µs (%.0f before)\n",
                s.opened, s.fileLimit, s.residentBytesPerSession / 1024, s.probeWith.handshakeP50Microseconds / 1000,
                s.probeBefore.handshakeP50Microseconds / 1000, s.probeWith.echoP50Microseconds,
                s.probeBefore.echoP50Microseconds)
        }
        for check in targets {
            out +=
                "target: \(check.met.map { $0 ? "MET   " : "MISSED" } ?? "n/a   ") \(check.name): \(check.measured) (goal \(check.goal))"
                + (check.bound.map { "; bound \($0)" } ?? "") + "\n"
        }
        return out
    }
}
