/// Ports for the throwaway servers the generator starts that cannot take port 0 and report the
/// port they got (PostgreSQL, Redis). Probing for a free port and binding it later races with
/// every other program on the machine; instead a port is drawn at random below the kernel's
/// ephemeral range (where the ports of servers that ask for port 0, the generator's own included,
/// come from), and when the server finds it taken as it binds, it is started again on another.
enum RandomLoopbackPort {
    /// Below Linux's default ephemeral range (32768–60999), above the well-known and most
    /// registered services' ports.
    static let range = 20_000...32_767

    /// Calls `start` with ports drawn from ``range`` until it returns a server, at most `attempts`
    /// times. `start` returns `nil` when the server could not bind its port (see
    /// ``saysPortTaken(_:)``) and throws for any other failure, which ends the attempts. If every
    /// port was taken, throws an error naming `server` and the ports tried.
    static func start<Server>(
        _ server: String, attempts: Int = 8, log: (String) -> Void, _ start: (Int) async throws -> Server?
    ) async throws -> Server {
        var taken: [Int] = []
        for _ in 1...attempts {
            let port = Int.random(in: range)
            if let started = try await start(port) { return started }
            log("\(server): port \(port) is taken; trying another")
            taken.append(port)
        }
        throw SpawnError(
            "\(server) could not bind a loopback port: \(attempts) ports were taken "
                + "(\(taken.map(String.init).joined(separator: ", ")))")
    }

    /// Whether a server's log says it could not bind its port: PostgreSQL's "could not bind" and
    /// Redis's "bind: Address already in use" (both print the system's message).
    static func saysPortTaken(_ log: String) -> Bool {
        log.contains("Address already in use") || log.contains("could not bind")
    }
}
