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
    /// The best ratio to the two-core RSA rate with both sides at their floors: that rate is
    /// `cores` / one RSA op (what `-multi 2` measures on a quiet machine), and at the floors
    /// `cores` / (server floor + client floor) handshakes complete per second, so the ratio is
    /// the RSA op / (server floor + client floor). CPU figures only: other load does not move it.
    var handshakeRateBoundRatio: Double?
    /// The same with the server at its floor and the generator's CPU per handshake as measured.
    var handshakeRateBoundThisGeneratorRatio: Double?
    /// The cipher's CPU per round trip used for the bounds, µs, by scenario: the cheaper of the
    /// in-process figure and (bulk) four times `openssl speed -bytes 65536`'s, so that a bound is
    /// never stricter than the cipher allows.
    var cipherRoundTripMicroseconds: [String: Double] = [:]
    /// The best ratio to a baseline an encrypted server can reach, given the cipher's CPU per round
    /// trip, by "scenario/baseline/level".
    var cipherRatioBounds: [String: Double] = [:]

    /// The server's and the generator's CPU per fan-out delivery at the highest offered rate, µs.
    var fanoutServerMicroseconds: Double?
    var fanoutGeneratorMicroseconds: Double?
    /// The deliveries per second the shared cores allow at those costs: `cores` / (server +
    /// generator CPU per delivery). The generator reads and opens every delivery on the same cores.
    var fanoutDeliveryBound: Double?

    var fanout: String? {
        guard let bound = fanoutDeliveryBound, let server = fanoutServerMicroseconds,
            let generator = fanoutGeneratorMicroseconds
        else { return nil }
        return String(
            format: "≤ %.0f/s (%d cores / (%.2f µs server + %.2f µs generator CPU per delivery))", bound, cores,
            server, generator)
    }

    /// The cipher bound for `scenario` against `baseline` at `level` connections, as a cell of the
    /// Targets table.
    func cipher(scenario: String, baseline: String, level: Int) -> String? {
        guard let bound = cipherRatioBounds["\(scenario)/\(baseline)/\(level)"],
            let cost = cipherRoundTripMicroseconds[scenario]
        else { return nil }
        return String(
            format: "≤ %.2f× (AES-GCM %.1f µs per round trip%@)", bound, cost,
            level < cores ? ", one step at a time" : "")
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
            let client = handshakeClientFloorMicroseconds, let rsa = rsaPrivateMicroseconds
        else { return nil }
        var text = String(
            format: "≤ %.2f× (%.0f µs RSA op / (%.0f µs server + %.0f µs client floor))", ratio, rsa, server, client)
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
        if let rsa = b.rsaPrivateMicroseconds, let server = b.handshakeServerFloorMicroseconds {
            if let client = b.handshakeClientFloorMicroseconds {
                b.handshakeRateBoundRatio = rsa / (server + client)
            }
            if let generator = b.handshakeGeneratorMicroseconds {
                b.handshakeRateBoundThisGeneratorRatio = rsa / (server + generator)
            }
        }
        if let fan = cell("fanout", "laboratory", cells.first { $0.scenario == "fanout" }?.level ?? 0),
            fan.operations > 0
        {
            let server = fan.serverCPUMicrosecondsPerOperation
            let generator = fan.generatorCPUMicrosecondsPerOperation
            b.fanoutServerMicroseconds = server
            b.fanoutGeneratorMicroseconds = generator
            if server + generator > 0 { b.fanoutDeliveryBound = Double(machine.cores) * 1e6 / (server + generator) }
        }
        for (scenario, cost) in cipher ?? [:] {
            var perRoundTrip = cost.roundTripMicroseconds
            if scenario == "bulk", let rate = openssl?.aes256gcmBytesPerSecond["65536"], rate > 0 {
                perRoundTrip = min(perRoundTrip, Double(2 * (cost.requestBytes + cost.responseBytes)) / rate * 1e6)
            }
            b.cipherRoundTripMicroseconds[scenario] = perRoundTrip
            let c = perRoundTrip / 1e6
            for baseline in ["nio-classic", "nio-async"] {
                for cell in cells where cell.scenario == scenario && cell.target == baseline {
                    let m = cell.median
                    let bound: Double
                    if cell.level >= machine.cores {
                        // The round trips keep every core busy: each costs the baseline's server and
                        // generator CPU, and an encrypted server adds c, so the rate can reach at
                        // most cpu / (cpu + c) of the baseline's (= 1 / (1 + R c / cores) when the
                        // baseline had the cores to itself; unlike R, not moved by other load).
                        let cpu = (m.serverCPUMicrosecondsPerOperation + m.generatorCPUMicrosecondsPerOperation) / 1e6
                        bound = cpu / (cpu + c)
                    } else {
                        // One step at a time: the four passes lengthen each round trip by c.
                        bound = 1 / (1 + m.operationsPerSecond * c)
                    }
                    b.cipherRatioBounds["\(scenario)/\(baseline)/\(cell.level)"] = bound
                }
            }
        }
        return b
    }
}
