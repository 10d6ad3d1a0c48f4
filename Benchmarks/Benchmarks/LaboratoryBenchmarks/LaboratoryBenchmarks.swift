// Micro-benchmarks of Laboratory's hot paths, in memory: no sockets, no event loops.
//
//   cd Benchmarks && swift package benchmark                    # run everything
//   swift package benchmark --filter 'Seal.*'                   # a subset (names are CamelCase:
//                                                                 the thresholds files are named after them)
//   ../scripts/bench-thresholds check                           # compare against Thresholds/
//
// Thresholds are checked on the deterministic metric, allocations; wall-clock time is reported but
// never gated, since it depends on the machine. Instruction counts come from callgrind
// (scripts/profile) here: this machine's kernel does not expose perf counters, and asking the
// harness for `.instructions` or `.cpuTotal` adds its own allocations to every sample. Where
// perf works, `swift package benchmark --metric instructions` adds them.
import Benchmark
import Foundation
@_spi(Benchmarks) import Laboratory
@_spi(Benchmarks) import LaboratoryCrypto
@_spi(Benchmarks) import LaboratoryProtocol
import Logging
import NIOCore
import Synchronization

let benchmarks: @Sendable () -> Void = {
    Benchmark.defaultConfiguration = .init(
        metrics: [.wallClock, .mallocCountTotal, .throughput],
        timeUnits: .nanoseconds,
        warmupIterations: 10,
        scalingFactor: .one,
        maxDuration: .seconds(2),
        maxIterations: 1_000_000,
        thresholds: [.mallocCountTotal: .init(relative: [.p90: 5], absolute: [.p90: 2])]
    )

    recordLayerBenchmarks()
    handshakeBenchmarks()
    dispatchBenchmarks()
    chatBenchmarks()
}

// MARK: - Record layer

let sizes: [(String, Int)] = [("64B", 64), ("1KiB", 1024), ("64KiB", 65536)]

func recordLayerBenchmarks() {
    let key = [UInt8](repeating: 7, count: 32)
    let iv = [UInt8](repeating: 9, count: 12)

    for (label, size) in sizes {
        let plaintext = [UInt8](repeating: 0x41, count: size)

        Benchmark("Seal\(label)") { benchmark in
            let sealer = try RecordSealer(key: key, iv: iv)
            benchmark.startMeasurement()
            for _ in benchmark.scaledIterations {
                blackHole(try sealer.seal(plaintext))
            }
        }

        Benchmark("Open\(label)") { benchmark in
            // Seal as many frames as the run will open, outside the measurement.
            let sealer = try RecordSealer(key: key, iv: iv)
            let opener = try RecordOpener(key: key, iv: iv)
            let iterations = benchmark.scaledIterations.count
            let frames = try (0..<iterations).map { _ in try sealer.seal(plaintext) }
            benchmark.startMeasurement()
            for frame in frames {
                blackHole(try opener.open(frame))
            }
        }
    }

    // Sealing into a buffer the caller owns (what Outbound does with the frame's ByteBuffer):
    // zero allocations per sealed frame in steady state.
    for (label, size) in sizes {
        let plaintext = [UInt8](repeating: 0x41, count: size)
        Benchmark("SealInto\(label)") { benchmark in
            let sealer = try RecordSealer(key: key, iv: iv)
            var output = [UInt8](repeating: 0, count: size + AES256GCM.tagByteCount)
            benchmark.startMeasurement()
            for _ in benchmark.scaledIterations {
                try plaintext.withUnsafeBytes { plaintext in
                    try output.withUnsafeMutableBytes { try sealer.seal(plaintext, into: $0) }
                }
            }
            blackHole(output)
        }
    }

    // What the server does for each response when its session has nothing else waiting: the
    // code Outbound runs (ResponseHead.sealedFrame calls it): a buffer of the frame's size, the
    // length prefix, the response's head encoded into the buffer and sealed there together with
    // the body read where the service left it (here, as for echo, a slice of the buffer the
    // request was opened into). No encoded copy of the message, no copy of the body.
    for (label, size) in sizes {
        Benchmark("ResponseEncodeSealFrame\(label)") { benchmark in
            let sealer = try RecordSealer(key: key, iv: iv)
            let allocator = ByteBufferAllocator()
            let body = allocator.buffer(repeating: 0x42, count: size)
            benchmark.startMeasurement()
            for index in benchmark.scaledIterations {
                let head = ResponseHead(requestID: UInt64(index), status: .ok)
                blackHole(try head.sealedFrame(body: body, sealer: sealer, allocator: allocator))
            }
        }
    }

    // What the server does for each request: copy the frame out of the ByteBuffer, open it, parse.
    Benchmark("RequestCopyOpenDecode64B") { benchmark in
        let sealer = try RecordSealer(key: key, iv: iv)
        let opener = try RecordOpener(key: key, iv: iv)
        let body = [UInt8](repeating: 0x43, count: 64)
        let frames = try (0..<benchmark.scaledIterations.count).map { index in
            ByteBuffer(
                bytes: try sealer.seal(
                    ClientMessage.request(Request(id: UInt64(index), service: "echo", body: body)).encoded()))
        }
        benchmark.startMeasurement()
        for frame in frames {
            blackHole(try ClientMessage(decoding: try opener.open(Array(frame.readableBytesView))))
        }
    }
}

// MARK: - Handshake

/// Fixed keys, generated once per process (key generation is not what is measured): the long-term
/// identity key, and a transport key certified by it, as the server's TransportKeys offers.
let identityKey: RSAPrivateKey = try! RSAPrivateKey(bitCount: 2048)
let transportKey: TransportKeyOffer = {
    let key = try! RSAPrivateKey(bitCount: 2048)
    let now = UInt64(Date().timeIntervalSince1970 * 1000)
    let certificate = try! TransportKeyCertificate.issue(
        for: key.publicKey, by: identityKey, notBefore: now - 60_000, notAfter: now + 86_400_000)
    return TransportKeyOffer(privateKey: key, certificate: certificate)
}()

func handshakeBenchmarks() {
    let configuration = HandshakeConfiguration(
        identityKeySPKI: identityKey.publicKey.spkiDER, password: "benchmark password", serverName: "Laboratory",
        services: ["echo", "chat"])

    // Both sides, in memory: the server's state machine from hello to accepted, and the client's
    // (ClientHandshake: certificate check, RSA-OAEP encrypt, key derivation; then sealing).
    // Dominated by one RSA-2048 private op.
    Benchmark(
        "HandshakeBothSides",
        configuration: .init(maxDuration: .seconds(3), maxIterations: 2_000)
    ) { benchmark in
        for index in benchmark.scaledIterations {
            blackHole(try runHandshake(configuration: configuration, connectionID: UInt64(index)))
        }
    }

    // The server's share: the client's machines are taken past their key exchange beforehand.
    Benchmark(
        "HandshakeServerSide",
        configuration: .init(maxDuration: .seconds(3), maxIterations: 2_000)
    ) { benchmark in
        let prepared = try (0..<benchmark.scaledIterations.count).map { _ in
            try PreparedClient(configuration: configuration)
        }
        benchmark.startMeasurement()
        for (index, client) in prepared.enumerated() {
            blackHole(try client.runServer(configuration: configuration, connectionID: UInt64(index)))
        }
    }

    Benchmark("RSA2048OAEPDecrypt", configuration: .init(maxDuration: .seconds(2), maxIterations: 2_000)) {
        benchmark in
        // A client's encrypted secret, as ClientHandshake writes it.
        let ciphertext = try PreparedClient(configuration: configuration).exchange
        benchmark.startMeasurement()
        for _ in benchmark.scaledIterations {
            blackHole(try transportKey.privateKey.decryptOAEP(ciphertext))
        }
    }
}

struct HandshakeFailed: Error {}

/// What the benchmark's client answers the prompts with.
let clientCredentials = ClientHandshake.Credentials(password: "benchmark password", name: "ada")
/// The identity key's fingerprint, as a client pins it.
let pinnedFingerprint = identityKey.publicKey.fingerprint

/// The client's side of the hello, with `ClientHandshake`: check the hello and the transport key's
/// certificate, trust the pinned identity key, encrypt a fresh secret, derive the keys. Returns the
/// key exchange to send and the keys; the machine then waits for the password prompt.
func answerHello(_ client: inout ClientHandshake, hello: [UInt8]) throws -> (exchange: [UInt8], keys: SessionKeys) {
    let now = UInt64(Date().timeIntervalSince1970 * 1000)
    guard case .checkTrust(let fingerprint)? = try client.receiveHello(hello, now: now).first else {
        throw HandshakeFailed()
    }
    let actions = try client.trustDecided(
        mismatch: fingerprint == pinnedFingerprint ? nil : "not the pinned key",
        secret: try SecureRandom.bytes(count: SessionKeys.secretByteCount))
    guard case .sendPlaintext(let exchange)? = actions.first, case .installKeys(let keys)? = actions.last else {
        throw HandshakeFailed()
    }
    return (exchange, keys)
}

/// Runs one whole handshake in memory, both state machines; returns the server's accepted name.
func runHandshake(configuration: HandshakeConfiguration, connectionID: UInt64) throws -> String {
    var server = ServerHandshake(
        configuration: configuration, transportKey: transportKey, connectionID: connectionID,
        serverRandom: try SecureRandom.bytes(count: 32), clock: ContinuousClock())
    guard case .sendPlaintext(let helloBytes)? = server.start().first else { throw HandshakeFailed() }
    var client = ClientHandshake(credentials: clientCredentials)
    let (exchange, keys) = try answerHello(&client, hello: helloBytes)
    return try drive(&server, client: &client, exchange: exchange, keys: keys)
}

/// The client's half up to its key exchange, prepared outside the measured region: the hello it
/// answers is the one the server will send with the same random.
struct PreparedClient {
    let serverRandom: [UInt8]
    let exchange: [UInt8]
    let keys: SessionKeys
    /// The client's machine, waiting for the password prompt.
    let client: ClientHandshake

    init(configuration: HandshakeConfiguration) throws {
        serverRandom = try SecureRandom.bytes(count: 32)
        let hello = ServerHello(
            identityKeySPKI: configuration.identityKeySPKI, transportKey: transportKey.certificate,
            serverRandom: serverRandom)
        var client = ClientHandshake(credentials: clientCredentials)
        (exchange, keys) = try answerHello(&client, hello: hello.encoded())
        self.client = client
    }

    func runServer(configuration: HandshakeConfiguration, connectionID: UInt64) throws -> String {
        var server = ServerHandshake(
            configuration: configuration, transportKey: transportKey, connectionID: connectionID,
            serverRandom: serverRandom, clock: ContinuousClock())
        _ = server.start()
        var client = self.client
        return try drive(&server, client: &client, exchange: exchange, keys: keys)
    }
}

/// Feeds the key exchange to the server, then plays the two machines against each other as the
/// connections would: each side seals with its own record layer and the other opens; the client
/// answers the prompts through its machine. Returns the server's accepted name.
func drive(
    _ server: inout ServerHandshake<ContinuousClock>, client: inout ClientHandshake, exchange: [UInt8],
    keys: SessionKeys
) throws -> String {
    let clientSealer = try RecordSealer(key: keys.clientToServerKey, iv: keys.clientToServerIV)
    let clientOpener = try RecordOpener(key: keys.serverToClientKey, iv: keys.serverToClientIV)
    var serverSealer: RecordSealer?
    var serverOpener: RecordOpener?
    var toServer: [[UInt8]] = []
    var accepted: String?
    var clientAccepted = false

    func carryOut(_ actions: [ServerHandshake<ContinuousClock>.Action]) throws {
        for action in actions {
            switch action {
            case .installKeys(let keys):
                serverSealer = try RecordSealer(key: keys.serverToClientKey, iv: keys.serverToClientIV)
                serverOpener = try RecordOpener(key: keys.clientToServerKey, iv: keys.clientToServerIV)
            case .send(let message):
                let sealed = try serverSealer!.seal(message.encoded())
                let opened = try ServerMessage(decoding: try clientOpener.open(sealed))
                for reply in try client.receive(opened) {
                    switch reply {
                    case .send(let answer): toServer.append(try clientSealer.seal(answer.encoded()))
                    case .accepted: clientAccepted = true
                    case .checkTrust, .sendPlaintext, .installKeys, .nameRejected: throw HandshakeFailed()
                    }
                }
            case .accept(let name):
                accepted = name
            case .close:
                throw HandshakeFailed()
            case .sendPlaintext, .usePlaintext, .setDeadline:
                break
            }
        }
    }

    try carryOut(try server.receiveKeyExchange(exchange))
    while !toServer.isEmpty {
        let sealed = toServer.removeFirst()
        try carryOut(try server.receive(try ClientMessage(decoding: try serverOpener!.open(sealed))))
    }
    guard let accepted, clientAccepted else { throw HandshakeFailed() }
    return accepted
}

// MARK: - Registry dispatch

func dispatchBenchmarks() {
    var registry = ServiceRegistry.standard
    registry.register(NothingService(), as: "nothing")
    let context = LaboratoryServiceContext(
        session: SessionIdentity(connectionID: 1, remoteAddress: "127.0.0.1:1", displayName: "ada"),
        logger: Logger(label: "bench", factory: { _ in SwiftLogNoOpLogHandler() }), serviceName: "echo",
        events: EventSink(connectionID: 1) { _ in true })
    let registryCopy = registry
    // The request as the connection serves it: the head read from the opened frame, the body a
    // slice of the buffer the frame was opened into; the response's body is read where the
    // service left it (for echo, that same slice), as the connection seals it.
    let frame = ByteBufferAllocator().buffer(repeating: 0x44, count: 64)

    Benchmark("RegistryDispatchEcho64B") { benchmark in
        for index in benchmark.scaledIterations {
            blackHole(
                await registryCopy.respond(
                    to: RequestHead(id: UInt64(index), service: "echo"), body: frame, context: context
                ) { head, body in (head, body.count) })
        }
    }

    Benchmark("RegistryDispatchUnknownService") { benchmark in
        for index in benchmark.scaledIterations {
            blackHole(
                await registryCopy.respond(
                    to: RequestHead(id: UInt64(index), service: "missing"), body: frame, context: context
                ) { head, body in (head, body.count) })
        }
    }

    // The array entry point (`respond(to: Request)`: the test kit's and the listener seam's), which
    // the server's connection never calls: the request's array body goes to the service's array
    // form, the answer comes back as a `Response` with an array body.
    let body = [UInt8](repeating: 0x44, count: 64)
    Benchmark("RegistryDispatchArrayBridgeEcho64B") { benchmark in
        for index in benchmark.scaledIterations {
            blackHole(
                await registryCopy.respond(
                    to: Request(id: UInt64(index), service: "echo", body: body), context: context))
        }
    }
}

struct NothingService: LaboratoryService {
    func handle(_ body: [UInt8], context: LaboratoryServiceContext) async throws -> [UInt8] { [] }
}

// MARK: - Chat

func chatBenchmarks() {
    for members in [10, 1000] {
        // One `say` in a room of `members`: request JSON decoding, the room actor, event JSON
        // encoding, one push per member. Each push here only counts; the socket side (encode,
        // seal, write) is measured by "Response encode+seal+frame" and by the load generator.
        Benchmark(
            "ChatSay\(members)Members",
            configuration: .init(
                maxDuration: .seconds(members > 100 ? 8 : 2), maxIterations: members > 100 ? 5_000 : 100_000)
        ) { benchmark in
            let chat = ChatService()
            let delivered = Atomic<Int>(0)
            let logger = Logger(label: "bench", factory: { _ in SwiftLogNoOpLogHandler() })
            var contexts: [LaboratoryServiceContext] = []
            for id in 1...UInt64(members) {
                let context = LaboratoryServiceContext(
                    session: SessionIdentity(connectionID: id, remoteAddress: nil, displayName: "m\(id)"),
                    logger: logger, serviceName: "chat",
                    events: EventSink(connectionID: id) { _ in
                        delivered.add(1, ordering: .relaxed)
                        return true
                    })
                _ = try await chat.handle(Array(#"{"op":"join","room":"bench"}"#.utf8), context: context)
                contexts.append(context)
            }
            let say = Array(#"{"op":"say","room":"bench","text":"hello, everyone in this room"}"#.utf8)
            let sender = contexts[0]
            benchmark.startMeasurement()
            for _ in benchmark.scaledIterations {
                blackHole(try await chat.handle(say, context: sender))
            }
            benchmark.stopMeasurement()
            blackHole(delivered.load(ordering: .relaxed))
        }
    }
}
