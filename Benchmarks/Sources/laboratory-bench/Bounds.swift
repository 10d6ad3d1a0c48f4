/// What the physical costs measured in the same run allow at best, beside the targets they limit
/// (Docs/PERFORMANCE.md, "Bounds"). Every figure comes from this run: `openssl speed`, the
/// in-process cipher cost and the plaintext baselines.
struct Bounds: Codable {
    /// The cores the server and the generator share.
    var cores: Int
    /// One RSA-2048 private-key operation (the server's OAEP decryption), µs, one core.
    var rsaPrivateMicroseconds: Double?
    /// One RSA-2048 public-key operation (the client's OAEP encryption), µs, one core.
    var rsaPublicMicroseconds: Double?
    /// The concurrency of the handshake targets.
    var handshakeLevel = 16
    /// The classic baseline's server CPU per handshake-shaped exchange (plaintext), µs.
    var plaintextHandshakeServerMicroseconds: Double?
    /// The generator's CPU per plaintext exchange against it, µs.
    var plaintextHandshakeGeneratorMicroseconds: Double?
    /// The `NIOAsyncChannel` baseline's server CPU per plaintext exchange (Laboratory's structure), µs.
    var plaintextHandshakeAsyncServerMicroseconds: Double?
    /// The generator's CPU per Laboratory handshake, µs.
    var handshakeGeneratorMicroseconds: Double?
    /// The server's floor per handshake: one RSA private op plus the plaintext exchange, µs.
    var handshakeServerFloorMicroseconds: Double?
    /// The client's floor per handshake: one RSA public op plus the plaintext exchange, µs.
    var handshakeClientFloorMicroseconds: Double?
    /// The server floor over one RSA private op: the lowest "server CPU per handshake" ratio possible.
    var handshakeCPUFloorRatio: Double?
    /// The same with the `NIOAsyncChannel` baseline's exchange instead of the classic one's.
    var handshakeCPUAsyncFloorRatio: Double?
    /// Handshakes/s with both sides at their floors on `cores` cores, and over the two-core RSA rate.
    var handshakeRateBound: Double?
    var handshakeRateBoundRatio: Double?
    /// The same with the server at its floor and the generator as measured.
    var handshakeRateBoundThisGenerator: Double?
    var handshakeRateBoundThisGeneratorRatio: Double?
    /// The best ratio to a baseline an encrypted server can reach, given the cipher's CPU per round
    /// trip, by "scenario/baseline/level".
    var cipherRatioBounds: [String: Double] = [:]

    /// The cipher bound for `scenario` against `baseline` at `level` connections, as a cell of the
    /// Targets table.
    func cipher(scenario: String, baseline: String, level: Int, cost: CipherCost?) -> String? {
        guard let bound = cipherRatioBounds["\(scenario)/\(baseline)/\(level)"], let cost else { return nil }
        return String(
            format: "≤ %.2f× (AES-GCM %.1f µs per round trip, %d core%@)", bound, cost.roundTripMicroseconds,
            min(cores, level), min(cores, level) == 1 ? "" : "s")
    }

    var handshakeCPU: String? {
        guard let ratio = handshakeCPUFloorRatio, let rsa = rsaPrivateMicroseconds,
            let plain = plaintextHandshakeServerMicroseconds
        else { return nil }
        var text = String(format: "≥ %.2f× (%.0f µs RSA op + %.0f µs plaintext exchange)", ratio, rsa, plain)
        if let async = handshakeCPUAsyncFloorRatio, let asyncPlain = plaintextHandshakeAsyncServerMicroseconds {
            text += String(format: "; %.2f× with the NIOAsyncChannel exchange's %.0f µs", async, asyncPlain)
        }
        return text
    }

    var handshakeRate: String? {
        guard let ratio = handshakeRateBoundRatio, let server = handshakeServerFloorMicroseconds,
            let client = handshakeClientFloorMicroseconds
        else { return nil }
        var text = String(
            format: "≤ %.2f× (%d cores / (%.0f µs server + %.0f µs client floor))", ratio, cores, server, client)
        if let mine = handshakeRateBoundThisGeneratorRatio, let generator = handshakeGeneratorMicroseconds {
            text += String(format: "; ≤ %.2f× with this generator's %.0f µs", mine, generator)
        }
        return text
    }
}

extension Report {
    /// The bounds this run's figures imply.
    func computeBounds() -> Bounds {
        var b = Bounds(cores: machine.cores)
        let cores = Double(machine.cores)
        b.rsaPrivateMicroseconds = openssl?.rsa2048SignPerSecond.map { 1e6 / $0 }
        b.rsaPublicMicroseconds = openssl?.rsa2048VerifyPerSecond.map { 1e6 / $0 }
        let level = b.handshakeLevel
        if let plain = cell("handshake", "nio-classic", level) {
            b.plaintextHandshakeServerMicroseconds = plain.serverCPUMicrosecondsPerOperation
            b.plaintextHandshakeGeneratorMicroseconds = plain.generatorCPUMicrosecondsPerOperation
        }
        b.plaintextHandshakeAsyncServerMicroseconds =
            cell("handshake", "nio-async", level)?
            .serverCPUMicrosecondsPerOperation
        b.handshakeGeneratorMicroseconds = cell("handshake", "laboratory", level)?.generatorCPUMicrosecondsPerOperation
        if let rsa = b.rsaPrivateMicroseconds, let plain = b.plaintextHandshakeServerMicroseconds {
            b.handshakeServerFloorMicroseconds = rsa + plain
            b.handshakeCPUFloorRatio = (rsa + plain) / rsa
        }
        if let rsa = b.rsaPrivateMicroseconds, let plain = b.plaintextHandshakeAsyncServerMicroseconds {
            b.handshakeCPUAsyncFloorRatio = (rsa + plain) / rsa
        }
        if let rsa = b.rsaPublicMicroseconds, let plain = b.plaintextHandshakeGeneratorMicroseconds {
            b.handshakeClientFloorMicroseconds = rsa + plain
        }
        let multi = openssl?.rsa2048SignPerSecondTwoProcesses
        if let server = b.handshakeServerFloorMicroseconds {
            if let client = b.handshakeClientFloorMicroseconds {
                b.handshakeRateBound = cores * 1e6 / (server + client)
                b.handshakeRateBoundRatio = multi.map { b.handshakeRateBound! / $0 }
            }
            if let generator = b.handshakeGeneratorMicroseconds {
                b.handshakeRateBoundThisGenerator = cores * 1e6 / (server + generator)
                b.handshakeRateBoundThisGeneratorRatio = multi.map { b.handshakeRateBoundThisGenerator! / $0 }
            }
        }
        // A round trip with the baseline's rate R costs 1/R of the time its k busy cores give (k =
        // the connections, at most the cores: one connection's round trips run one step at a time).
        // The cipher adds C of CPU on the same cores, so R' = 1 / (1/R + C/k), R'/R = 1 / (1 + R C / k).
        for (scenario, cost) in cipher ?? [:] {
            for baseline in ["nio-classic", "nio-async"] {
                for cell in cells where cell.scenario == scenario && cell.target == baseline {
                    let k = Double(min(machine.cores, cell.level))
                    let rate = cell.median.operationsPerSecond
                    b.cipherRatioBounds["\(scenario)/\(baseline)/\(cell.level)"] =
                        1 / (1 + rate * cost.roundTripMicroseconds / 1e6 / k)
                }
            }
        }
        return b
    }
}
