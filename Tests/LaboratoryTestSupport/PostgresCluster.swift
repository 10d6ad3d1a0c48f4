import Dispatch
import Foundation
import NIOPosix

#if canImport(Glibc)
    import Glibc
#endif

/// A throwaway PostgreSQL cluster for one test: `initdb` on a temporary data directory, started
/// with `pg_ctl` on a free loopback port, trusted logins, removed by ``stop()``.
///
/// PostgreSQL refuses to run as root, so under root the cluster's commands run as the `postgres`
/// user (`runuser`), which the Debian package creates. Needs the `postgresql` package
/// (`scripts/test` installs it for the end-to-end targets).
package final class PostgresCluster: Sendable {
    /// The cluster's superuser, who logs in without a password (`trust`, loopback only).
    package let username = "postgres"
    /// The database every cluster has.
    package let database = "postgres"
    package let host = "127.0.0.1"
    package let port: Int
    /// The data directory, removed by ``stop()``.
    package let directory: URL
    private let binaries: URL

    private init(port: Int, directory: URL, binaries: URL) {
        self.port = port
        self.directory = directory
        self.binaries = binaries
    }

    /// Creates and starts a new cluster; call ``stop()`` when done (``withPostgresCluster(_:)``
    /// does).
    package static func start() async throws -> PostgresCluster {
        let binaries = try findBinaries()
        let directory = FileManager.default.temporaryDirectory
            .appendingPathComponent("laboratory-pg-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: false)
        if getuid() == 0 { try await run("/bin/chown", ["postgres:postgres", directory.path]) }
        let cluster = PostgresCluster(port: try freePort(), directory: directory, binaries: binaries)
        do {
            try await cluster.command(
                "initdb", ["-D", cluster.dataPath, "-A", "trust", "-U", "postgres", "-E", "UTF8", "--no-sync"])
            try await cluster.startServer()
        } catch {
            try? FileManager.default.removeItem(at: directory)
            throw error
        }
        return cluster
    }

    private var dataPath: String { directory.appendingPathComponent("data").path }

    /// Starts the server again after ``stopServer()`` (same data, same port).
    package func startServer() async throws {
        // The socket directory is the cluster's own folder: the default, /var/run/postgresql,
        // belongs to the system's cluster and may not exist.
        try await command(
            "pg_ctl",
            [
                "-D", dataPath, "-l", directory.appendingPathComponent("server.log").path, "-w", "-t", "60",
                "-o", "-p \(port) -k \(directory.path) -c listen_addresses=\(host) -c fsync=off", "start",
            ])
    }

    /// Stops the server at once (`-m immediate`: every connection is cut, as in a crash), keeping
    /// its data.
    package func stopServer() async throws {
        try await command("pg_ctl", ["-D", dataPath, "-w", "-t", "60", "-m", "immediate", "stop"])
    }

    /// Stops the server and removes the data directory.
    package func stop() async {
        try? await stopServer()
        try? FileManager.default.removeItem(at: directory)
    }

    /// `pgbench` (or another of the cluster's programs) with these arguments, run as the cluster's
    /// owner; returns its standard output.
    @discardableResult
    package func command(_ program: String, _ arguments: [String]) async throws -> String {
        let executable = binaries.appendingPathComponent(program).path
        if getuid() == 0 {
            return try await Self.run("/usr/sbin/runuser", ["-u", "postgres", "--", executable] + arguments)
        }
        return try await Self.run(executable, arguments)
    }

    /// Runs a command to its end; throws with its output if it fails. Spawned and reaped here
    /// (`posix_spawn`, `waitpid`), output to a file: Foundation's `Process` never saw `runuser
    /// … pg_ctl start` exit (it stayed a zombie), and a pipe could be held open by the server.
    @discardableResult
    private static func run(_ executable: String, _ arguments: [String]) async throws -> String {
        let outputPath = FileManager.default.temporaryDirectory
            .appendingPathComponent("laboratory-pg-command-\(UUID().uuidString)").path
        defer { try? FileManager.default.removeItem(atPath: outputPath) }
        let status: Int32 = await withCheckedContinuation { continuation in
            DispatchQueue.global().async {
                continuation.resume(returning: spawnAndWait(executable, arguments, output: outputPath))
            }
        }
        let text = (try? String(contentsOfFile: outputPath, encoding: .utf8)) ?? ""
        guard status == 0 else {
            throw PostgresClusterError(
                description: "\(executable) \(arguments.joined(separator: " ")) exited \(status): \(text)")
        }
        return text
    }

    /// The wait status of `executable` run with standard output and error to `output`, or -1 if
    /// it could not be started.
    private static func spawnAndWait(_ executable: String, _ arguments: [String], output: String) -> Int32 {
        var actions = posix_spawn_file_actions_t()
        posix_spawn_file_actions_init(&actions)
        defer { posix_spawn_file_actions_destroy(&actions) }
        posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0)
        posix_spawn_file_actions_addopen(&actions, 1, output, O_WRONLY | O_CREAT | O_TRUNC, 0o600)
        posix_spawn_file_actions_adddup2(&actions, 1, 2)
        let argv: [UnsafeMutablePointer<CChar>?] = ([executable] + arguments).map { strdup($0) } + [nil]
        defer { for argument in argv { free(argument) } }
        var pid: pid_t = 0
        guard posix_spawn(&pid, executable, &actions, nil, argv, environ) == 0 else { return -1 }
        var status: Int32 = 0
        while waitpid(pid, &status, 0) == -1 && errno == EINTR {}
        return status
    }

    /// The newest installed PostgreSQL's programs (`/usr/lib/postgresql/N/bin`).
    private static func findBinaries() throws -> URL {
        let root = URL(fileURLWithPath: "/usr/lib/postgresql")
        let versions = (try? FileManager.default.contentsOfDirectory(atPath: root.path)) ?? []
        let newest = versions.compactMap(Int.init).max()
        guard let newest else {
            throw PostgresClusterError(description: "PostgreSQL is not installed (apt-get install postgresql)")
        }
        return root.appendingPathComponent("\(newest)/bin")
    }

    /// A loopback port that was free a moment ago (the kernel's choice for port 0).
    private static func freePort() throws -> Int {
        let socket = try ServerBootstrap(group: MultiThreadedEventLoopGroup.singleton)
            .bind(host: "127.0.0.1", port: 0).wait()
        defer { try? socket.close().wait() }
        guard let port = socket.localAddress?.port else {
            throw PostgresClusterError(description: "no port from the kernel")
        }
        return port
    }
}

/// Why a throwaway cluster could not be created, started or stopped.
package struct PostgresClusterError: Error, CustomStringConvertible {
    package let description: String
}

/// Runs `body` with a new cluster, then stops and removes it, whether `body` threw or not.
package func withPostgresCluster<T>(_ body: (PostgresCluster) async throws -> T) async throws -> T {
    let cluster = try await PostgresCluster.start()
    do {
        let result = try await body(cluster)
        await cluster.stop()
        return result
    } catch {
        await cluster.stop()
        throw error
    }
}

/// Runs `body` with the URL of a new cluster's database (its superuser over TCP, no password),
/// then stops and removes the cluster. Public, unlike the rest of this target, for the test
/// targets built without package access (the public API's own tests).
public func withPostgresDatabase<T>(_ body: (_ url: String) async throws -> T) async throws -> T {
    try await withPostgresCluster { cluster in
        try await body("postgres://\(cluster.username)@\(cluster.host):\(cluster.port)/\(cluster.database)")
    }
}
