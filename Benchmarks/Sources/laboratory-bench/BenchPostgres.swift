import Foundation
import Histogram

#if canImport(Glibc)
    import Glibc
#endif

/// A throwaway PostgreSQL cluster for the chat-store scenario: `initdb` on a temporary data
/// directory, started with `pg_ctl` on a loopback port, trusted logins, removed by ``remove()``.
/// PostgreSQL refuses to run as root, so under root its programs run as the `postgres` user
/// (`runuser`), as in the tests' `PostgresCluster`. Settings are PostgreSQL's defaults (durable
/// commits included) apart from the port, the socket directory and `max_connections`.
final class BenchPostgres: Sendable {
    let binaries: String
    let directory: String
    let port: Int

    /// The newest installed PostgreSQL's programs (`/usr/lib/postgresql/N/bin`), if any.
    static func findBinaries() -> String? {
        let root = "/usr/lib/postgresql"
        let versions = (try? FileManager.default.contentsOfDirectory(atPath: root)) ?? []
        return versions.compactMap(Int.init).max().map { "\(root)/\($0)/bin" }
    }

    private init(binaries: String, directory: String, port: Int) {
        self.binaries = binaries
        self.directory = directory
        self.port = port
    }

    /// Creates and starts a cluster under `work` on a loopback port of its own. PostgreSQL cannot
    /// take port 0 and report the port it got, so the port is a ``RandomLoopbackPort``: drawn at
    /// random below the kernel's ephemeral range, and if PostgreSQL finds it taken when it binds,
    /// the cluster is started again on another, at most `attempts` times; then the error names
    /// every port tried.
    static func start(
        binaries: String, work: String, attempts: Int = 8, log: (String) -> Void
    ) async throws -> BenchPostgres {
        let directory = "\(work)/postgres-\(getpid())"
        try? FileManager.default.removeItem(atPath: directory)
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        if getuid() == 0 { try check(spawnAndWait("/bin/chown", ["postgres:postgres", directory], output: nil)) }
        var initialized = false
        return try await RandomLoopbackPort.start("postgres", attempts: attempts, log: log) { port in
            let cluster = BenchPostgres(binaries: binaries, directory: directory, port: port)
            if !initialized {
                try cluster.run("initdb", ["-D", cluster.dataPath, "-A", "trust", "-U", "postgres", "-E", "UTF8"])
                initialized = true
            }
            let serverLog = "\(directory)/server.log"
            try? FileManager.default.removeItem(atPath: serverLog)
            do {
                try cluster.run(
                    "pg_ctl",
                    [
                        "-D", cluster.dataPath, "-l", serverLog, "-w", "-t", "60", "-o",
                        "-p \(cluster.port) -k \(directory) -c listen_addresses=127.0.0.1 -c max_connections=200",
                        "start",
                    ])
            } catch {
                let text = (try? String(contentsOfFile: serverLog, encoding: .utf8)) ?? ""
                guard RandomLoopbackPort.saysPortTaken(text) else { throw error }
                return nil
            }
            log("postgres: \(binaries) on port \(cluster.port), data in \(directory)")
            return cluster
        }
    }

    var dataPath: String { "\(directory)/data" }

    /// The address `laboratory-server --chat-store` takes.
    var url: String { "postgres://postgres@127.0.0.1:\(port)/postgres" }

    /// Stops the server and removes its files.
    func remove() {
        _ = try? run("pg_ctl", ["-D", dataPath, "-w", "-t", "60", "-m", "fast", "stop"])
        try? FileManager.default.removeItem(atPath: directory)
    }

    /// `psql -c` as the superuser; returns its output.
    @discardableResult
    func psql(_ sql: String) throws -> String {
        try run("psql", ["-h", "127.0.0.1", "-p", "\(port)", "-U", "postgres", "-d", "postgres", "-tA", "-c", sql])
    }

    /// `pgbench` running `script` (a custom transaction) with `clients` clients for `seconds`,
    /// one connection per client, prepared statements, every transaction's latency logged: the
    /// rate and latency percentiles PostgreSQL itself reaches for that transaction.
    func pgbench(script: String, clients: Int, seconds: Double, threads: Int) throws -> Measurement {
        let scriptPath = "\(directory)/transaction.sql"
        try script.write(toFile: scriptPath, atomically: true, encoding: .utf8)
        let logPrefix = "\(directory)/pgbench-log"
        for file in (try? FileManager.default.contentsOfDirectory(atPath: directory)) ?? []
        where file.hasPrefix("pgbench-log") {
            try? FileManager.default.removeItem(atPath: "\(directory)/\(file)")
        }
        if getuid() == 0 { _ = Self.spawnAndWait("/bin/chown", ["postgres:postgres", scriptPath], output: nil) }
        let output = try run(
            "pgbench",
            [
                "-n", "-M", "prepared", "-c", "\(clients)", "-j", "\(threads)", "-T", "\(Int(seconds.rounded(.up)))",
                "-f", scriptPath, "-l", "--log-prefix", logPrefix, "-h", "127.0.0.1", "-p", "\(port)", "-U",
                "postgres", "postgres",
            ], directory: directory)
        var histogram = Histogram<UInt64>(highestTrackableValue: 120_000_000, numberOfSignificantValueDigits: .three)
        var transactions = 0
        var first = Double.infinity
        var last = 0.0
        for file in (try? FileManager.default.contentsOfDirectory(atPath: directory)) ?? []
        where file.hasPrefix("pgbench-log") {
            let text = (try? String(contentsOfFile: "\(directory)/\(file)", encoding: .utf8)) ?? ""
            // client_id transaction_no time_us script_no epoch_s epoch_us
            for line in text.split(separator: "\n") {
                let fields = line.split(separator: " ")
                guard fields.count >= 6, let latency = UInt64(fields[2]), let seconds = Double(fields[4]),
                    let micros = Double(fields[5])
                else { continue }
                _ = histogram.record(max(1, latency))
                transactions += 1
                let end = seconds + micros / 1e6
                first = min(first, end - Double(latency) / 1e6)
                last = max(last, end)
            }
        }
        let failed = output.split(separator: "\n").first { $0.hasPrefix("number of failed transactions") }
        let failures = failed.flatMap { $0.split(separator: " ").dropFirst(4).first.flatMap { Int($0) } } ?? 0
        guard transactions > 0 else { throw SpawnError("pgbench ran no transaction:\n\(output)") }
        return Measurement(
            operations: transactions, seconds: last - first, bytes: 0, latencies: histogram, serverCPU: 0,
            generatorCPU: 0, errors: failures)
    }

    /// Runs one of the cluster's programs as its owner; throws with its output if it fails.
    @discardableResult
    private func run(_ program: String, _ arguments: [String], directory: String? = nil) throws -> String {
        let outputPath = "\(self.directory)/command-\(UUID().uuidString).out"
        defer { try? FileManager.default.removeItem(atPath: outputPath) }
        let executable = "\(binaries)/\(program)"
        var command = [executable] + arguments
        if let directory { command = ["/bin/sh", "-c", "cd \"$0\" && exec \"$@\"", directory] + command }
        let status =
            getuid() == 0
            ? Self.spawnAndWait("/usr/sbin/runuser", ["-u", "postgres", "--"] + command, output: outputPath)
            : Self.spawnAndWait(command[0], Array(command.dropFirst()), output: outputPath)
        let text = (try? String(contentsOfFile: outputPath, encoding: .utf8)) ?? ""
        guard status == 0 else { throw SpawnError("\(program) \(arguments.joined(separator: " ")) failed:\n\(text)") }
        return text
    }

    private static func check(_ status: Int32) throws {
        guard status == 0 else { throw SpawnError("chown failed (\(status))") }
    }

    /// Runs `executable` with standard output and error to `output` (or /dev/null) and waits
    /// (``Child``: an empty signal mask, as from a shell, which `pgbench -T` needs for its timer);
    /// returns the wait status, or -1 if it could not be started.
    private static func spawnAndWait(_ executable: String, _ arguments: [String], output: String?) -> Int32 {
        guard
            let child = try? Child.spawn(executable, arguments, captureOutput: false, outputPath: output ?? "/dev/null")
        else { return -1 }
        return child.wait()
    }
}

/// The chat store's append, as `laboratory-server` sends it for every `say`
/// (`Sources/LaboratoryPostgres`, `ChatBackplaneStatements.append`): the room's counter row
/// incremented, the event row inserted with its number spliced into its JSON, and the wake-up
/// notification queued, in one statement. pgbench runs it with literal values of the scenario's
/// message size. (A space follows each `:` in the JSON: pgbench reads `:name` as a variable.)
enum ChatStoreStatement {
    static func pgbenchScript(room: String) -> String {
        let event =
            #"{"kind": "message", "room": "\#(room)", "from": 1099511627777, "name": "bench", "#
            + #""text": "T123456789012345", "time": 1764800000000}"#
        // One line: pgbench ends a command at a semicolon at the end of a line.
        return """
            WITH room AS (INSERT INTO laboratory_chat_rooms AS r (name, last_sequence) VALUES ('\(room)', 1) \
            ON CONFLICT (name) DO UPDATE SET last_sequence = r.last_sequence + 1 RETURNING id, last_sequence), \
            message AS (INSERT INTO laboratory_chat_messages (room_id, sequence, sender, connection_id, body, sent_at) \
            SELECT id, last_sequence, 'bench', '1099511627777', \
            '{"sequence": ' || last_sequence || ',' || substr('\(event)', 2), clock_timestamp() \
            FROM room RETURNING room_id, sequence, body) \
            SELECT m.sequence, m.body FROM message m, pg_notify('laboratory_chat', m.room_id || ' ' || m.sequence);

            """
    }
}
