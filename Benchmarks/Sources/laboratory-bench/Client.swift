import BenchFraming
import Foundation
@_spi(Benchmarks) import LaboratoryCrypto
@_spi(Benchmarks) import LaboratoryProtocol
import NIOCore
import NIOPosix
import Synchronization

/// How a connection talks to its server.
enum Wire: Sendable {
    /// Plaintext frames (the baselines): a request is a bare payload, the reply is the same bytes.
    case plain
    /// Laboratory protocol v1: the full encrypted handshake, then sealed request/response frames.
    case laboratory(password: String, name: String)
}

/// What a workload does with one connection. Every call happens on the connection's event loop.
protocol ConnectionDriver: AnyObject {
    /// The connection is ready: accepted (Laboratory) or connected (plaintext).
    func ready(_ connection: BenchConnection)
    /// A session message arrived (Laboratory).
    func received(_ connection: BenchConnection, message: ServerMessage)
    /// Whether events go to `received(_:eventBody:)` instead of `received(_:message:)`.
    var readsEventsInPlace: Bool { get }
    /// An event's body, read where it lies in the opened frame (Laboratory), for drivers that
    /// only count events (`readsEventsInPlace`).
    func received(_ connection: BenchConnection, eventBody: UnsafeRawBufferPointer)
    /// A response arrived (Laboratory): its head, and its body where it was opened (valid only
    /// during the call).
    func received(_ connection: BenchConnection, response: ResponseHead, body: UnsafeRawBufferPointer)
    /// A frame arrived (plaintext).
    func received(_ connection: BenchConnection, payload: ByteBuffer)
    /// The connection ended.
    func closed(_ connection: BenchConnection)
}

extension ConnectionDriver {
    func received(_ connection: BenchConnection, message: ServerMessage) {}
    func received(_ connection: BenchConnection, payload: ByteBuffer) {}
    var readsEventsInPlace: Bool { false }
    func received(_ connection: BenchConnection, eventBody: UnsafeRawBufferPointer) {}
    func closed(_ connection: BenchConnection) {}

    /// By default a response is handed on as a message, its body copied into an array.
    func received(_ connection: BenchConnection, response: ResponseHead, body: UnsafeRawBufferPointer) {
        received(
            connection,
            message: .response(
                Response(
                    requestID: response.requestID, status: response.status, errorMessage: response.errorMessage,
                    body: Array(body))))
    }
}

/// Transport keys whose certificate this generator has already checked, by certificate. A real
/// client verifies the signature on every connection (one RSA public operation, tens of
/// microseconds); the generator does it once per certificate so that its CPU goes to what every
/// connection must do (RSA-OAEP encrypt, key derivation, sealing), not to repeating the check.
/// `ClientHandshake` still checks the validity window, and uses a kept key only for the same
/// identity key and certificate.
final class TransportKeyCache: Sendable {
    private let cache = Mutex<[TransportKeyCertificate: ClientHandshake.VerifiedTransportKey]>([:])

    /// The kept key for `certificate`, if any.
    func verified(_ certificate: TransportKeyCertificate) -> ClientHandshake.VerifiedTransportKey? {
        cache.withLock { $0[certificate] }
    }

    /// Keeps the key `handshake` has just verified (it is waiting for the trust decision).
    func keep(from handshake: ClientHandshake) {
        guard case .awaitingTrust(let awaiting) = handshake.state else { return }
        cache.withLock { $0[awaiting.transportKey.certificate] = awaiting.transportKey }
    }

    static let shared = TransportKeyCache()
}

struct ConnectionFailed: Error, CustomStringConvertible {
    var description: String
}

/// A minimal client on classic NIO handlers: frames, the Laboratory handshake (driven by
/// `ClientHandshake`, the same state machine as `LaboratoryClient`), then hands messages to a
/// driver. It uses no actors or tasks, so the generator's own cost per operation stays small and
/// the same for the baselines and for Laboratory, apart from the protocol work every client must do.
final class BenchConnection: ChannelInboundHandler, @unchecked Sendable {
    // Safety: a channel handler; its state is used only on its channel's event loop.
    typealias InboundIn = ByteBuffer
    typealias OutboundOut = ByteBuffer

    private enum Step {
        case handshake, ready, closed
    }

    let wire: Wire
    let driver: any ConnectionDriver
    /// Succeeds when the connection is ready, fails if it closes first.
    let readyPromise: EventLoopPromise<Void>
    private(set) var channel: (any Channel)?
    private var step: Step = .handshake
    /// The client's handshake (Laboratory only).
    private var handshake: ClientHandshake?
    private var sealer: RecordSealer?
    private var opener: RecordOpener?
    private var nextRequestID: UInt64 = 1
    /// Where session frames are opened: kept for the connection's life and grown to the largest
    /// frame, as a lean client would, so opening a frame allocates nothing.
    private var opened: [UInt8] = []

    init(wire: Wire, driver: any ConnectionDriver, eventLoop: any EventLoop) {
        self.wire = wire
        self.driver = driver
        self.readyPromise = eventLoop.makePromise()
        if case .laboratory(let password, let name) = wire {
            handshake = ClientHandshake(credentials: .init(password: password, name: name))
        }
    }

    var eventLoop: any EventLoop { readyPromise.futureResult.eventLoop }

    func channelActive(context: ChannelHandlerContext) {
        channel = context.channel
        if case .plain = wire {
            step = .ready
            readyPromise.succeed()
            driver.ready(self)
        }
        context.fireChannelActive()
    }

    func channelInactive(context: ChannelHandlerContext) {
        let wasReady = step == .ready
        step = .closed
        readyPromise.fail(ConnectionFailed(description: "the connection closed before it was ready"))
        if wasReady { driver.closed(self) }
        context.fireChannelInactive()
    }

    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        context.close(promise: nil)
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        let payload = unwrapInboundIn(data)
        if case .plain = wire {
            driver.received(self, payload: payload)
            return
        }
        do {
            if step == .ready {
                try receiveSession(payload)
            } else {
                try receiveDuringHandshake(payload)
            }
        } catch {
            readyPromise.fail(error)
            context.close(promise: nil)
        }
    }

    /// The body of an `event` message (0x11: service as u16-length string, body as u32-length bytes,
    /// nothing after), without copying it; `nil` for any other message or a malformed event, which
    /// `ServerMessage(decoding:)` then handles or rejects.
    static func eventBody(in message: UnsafeRawBufferPointer) -> UnsafeRawBufferPointer? {
        guard message.count >= 7, message[0] == 0x11 else { return nil }
        let serviceCount = Int(message[1]) << 8 | Int(message[2])
        let lengthAt = 3 + serviceCount
        guard message.count >= lengthAt + 4 else { return nil }
        var bodyCount = 0
        for index in lengthAt..<lengthAt + 4 { bodyCount = bodyCount << 8 | Int(message[index]) }
        guard message.count == lengthAt + 4 + bodyCount else { return nil }
        return UnsafeRawBufferPointer(rebasing: message[(lengthAt + 4)...])
    }

    /// Hands a handshake frame to the state machine (opened, once there are keys) and carries out
    /// what it returns.
    private func receiveDuringHandshake(_ payload: ByteBuffer) throws {
        guard var machine = handshake else { return }
        defer { handshake = machine }
        do {
            if case .awaitingHello = machine.state {
                let now = UInt64(max(0, Date().timeIntervalSince1970 * 1000))
                var kept = false
                let actions = try machine.receiveHello(Array(payload.readableBytesView), now: now) { certificate in
                    let known = TransportKeyCache.shared.verified(certificate)
                    kept = known != nil
                    return known
                }
                if !kept { TransportKeyCache.shared.keep(from: machine) }
                try perform(actions, &machine)
                return
            }
            let opened: [UInt8]
            do {
                guard let opener else { throw ConnectionFailed(description: "no keys") }
                opened = try payload.withUnsafeReadableBytes { try opener.open($0) }
            } catch {
                try machine.receiveUnopenable(Array(payload.readableBytesView))
            }
            try perform(try machine.receive(try ServerMessage(decoding: opened)), &machine)
        } catch let failure as ClientHandshake.Failure {
            throw ConnectionFailed(description: "the handshake failed: \(failure)")
        }
    }

    /// Carries out the handshake machine's actions in order.
    private func perform(_ actions: [ClientHandshake.Action], _ machine: inout ClientHandshake) throws {
        for action in actions {
            switch action {
            case .checkTrust:
                // The generator trusts the server it started itself.
                try perform(
                    try machine.trustDecided(
                        mismatch: nil, secret: try SecureRandom.bytes(count: SessionKeys.secretByteCount)),
                    &machine)
            case .sendPlaintext(let payload):
                writeFrame(payload)
            case .installKeys(let keys):
                sealer = try RecordSealer(key: keys.clientToServerKey, iv: keys.clientToServerIV)
                opener = try RecordOpener(key: keys.serverToClientKey, iv: keys.serverToClientIV)
            case .send(let message):
                send(message)
            case .nameRejected:
                // The generator's names are valid; a rejection is a failure to report.
                try machine.giveUpName()
            case .accepted:
                step = .ready
                readyPromise.succeed()
                driver.ready(self)
            }
        }
    }

    /// Opens a session frame where it lies into `opened` and hands a response on with its body
    /// where it was opened; any other message is decoded whole.
    private func receiveSession(_ payload: ByteBuffer) throws {
        guard let opener else { throw ConnectionFailed(description: "no keys") }
        let count = payload.readableBytes - AES256GCM.tagByteCount
        guard count >= 0 else { throw ConnectionFailed(description: "a frame shorter than its tag") }
        if opened.count < count { opened = [UInt8](repeating: 0, count: count) }
        let message: ServerMessage? = try opened.withUnsafeMutableBytes { scratch in
            let output = UnsafeMutableRawBufferPointer(rebasing: scratch.prefix(count))
            try payload.withUnsafeReadableBytes { try opener.open($0, into: output) }
            let plaintext = UnsafeRawBufferPointer(output)
            // An event (the fan-out's every delivery) is read in place by drivers that only count.
            if driver.readsEventsInPlace, let body = Self.eventBody(in: plaintext) {
                driver.received(self, eventBody: body)
                return nil
            }
            if let response = try ResponseHead.decode(plaintext) {
                driver.received(
                    self, response: response.head, body: UnsafeRawBufferPointer(rebasing: plaintext[response.body]))
                return nil
            }
            return try ServerMessage(decoding: Array(plaintext))
        }
        if let message { try receiveSession(message) }
    }

    /// Handles a message of the accepted session.
    private func receiveSession(_ message: ServerMessage) throws {
        switch message {
        case .keyUpdate(let update):
            try opener!.apply(update)
            if update.requestsUpdate {
                let reply = try KeyUpdate.random(requestsUpdate: false)
                send(.keyUpdate(reply))
                try sealer!.apply(reply)
            }
        case .ping(let value):
            // Keepalive: an accepted session that does not answer is disconnected as idle.
            send(.pong(value))
        default:
            driver.received(self, message: message)
        }
    }

    /// Seals (Laboratory) and writes one message, flushing at once. Sealed straight into the
    /// buffer that is sent, as the server does.
    func send(_ message: ClientMessage) {
        guard let channel, let sealer else { return }
        do {
            let payload = message.encoded()
            let sealedCount = payload.count + AES256GCM.tagByteCount
            var buffer = channel.allocator.buffer(capacity: 4 + sealedCount)
            buffer.writeInteger(UInt32(sealedCount))
            try payload.withUnsafeBytes { plaintext in
                _ = try buffer.writeWithUnsafeMutableBytes(minimumWritableBytes: sealedCount) { output in
                    let sealed = UnsafeMutableRawBufferPointer(rebasing: output.prefix(sealedCount))
                    try sealer.seal(plaintext, into: sealed)
                    return sealedCount
                }
            }
            channel.writeAndFlush(buffer, promise: nil)
        } catch {
            channel.close(promise: nil)
        }
    }

    /// Sends a request to `service`; returns its id. Its head is written into the frame's buffer
    /// and sealed there, its body sealed from where it is: no encoding of the body into an array
    /// first.
    @discardableResult
    func request(service: String, body: [UInt8]) -> UInt64 {
        let id = nextRequestID
        nextRequestID += 1
        guard let channel, let sealer else { return id }
        let head = RequestHead(id: id, service: service)
        let headCount = head.encodedByteCount
        let sealedCount = headCount + body.count + AES256GCM.tagByteCount
        var buffer = channel.allocator.buffer(capacity: 4 + sealedCount)
        buffer.writeInteger(UInt32(sealedCount))
        do {
            try body.withUnsafeBytes { body in
                _ = try buffer.writeWithUnsafeMutableBytes(minimumWritableBytes: sealedCount) { output in
                    let sealed = UnsafeMutableRawBufferPointer(rebasing: output.prefix(sealedCount))
                    let plainHead = UnsafeMutableRawBufferPointer(rebasing: sealed.prefix(headCount))
                    head.encode(bodyCount: body.count, into: plainHead)
                    try sealer.seal(head: UnsafeRawBufferPointer(plainHead), body: body, into: sealed)
                    return sealedCount
                }
            }
        } catch {
            channel.close(promise: nil)
            return id
        }
        channel.writeAndFlush(buffer, promise: nil)
        return id
    }

    /// Writes one frame and flushes it.
    func writeFrame(_ payload: some Collection<UInt8>) {
        guard let channel else { return }
        var buffer = channel.allocator.buffer(capacity: 4 + payload.count)
        buffer.writeFrame(payload)
        channel.writeAndFlush(buffer, promise: nil)
    }

    /// Writes one frame whose payload is already a buffer (plaintext baselines).
    func writeFrame(_ payload: ByteBuffer) {
        guard let channel else { return }
        var buffer = channel.allocator.buffer(capacity: 4 + payload.readableBytes)
        buffer.writeFrame(payload)
        channel.writeAndFlush(buffer, promise: nil)
    }

    func close() { channel?.close(promise: nil) }
}

/// Opens connections to one server.
///
/// Connections come from `sourceCount` loopback addresses in turn (127.0.0.1, 127.0.1.1, ...),
/// each in a /24 of its own, as from that many client machines on different networks: the
/// server's admission policy allows a limited number of unfinished handshakes per source address
/// and per /24, so a load of many parallel handshakes from one address or network would be
/// measuring that policy instead of the server.
struct Connector: Sendable {
    let group: any EventLoopGroup
    let host: String
    let port: Int
    let wire: Wire
    var sourceCount = 16
    private static let nextSource = Atomic<Int>(0)

    init(group: any EventLoopGroup, host: String, port: Int, wire: Wire) {
        self.group = group
        self.host = host
        self.port = port
        self.wire = wire
    }

    /// The next of the `sourceCount` loopback source addresses, in turn.
    func nextSourceAddress() throws -> SocketAddress {
        let source = Self.nextSource.wrappingAdd(1, ordering: .relaxed).oldValue % max(1, sourceCount)
        return try SocketAddress(ipAddress: "127.0.\(source).1", port: 0)
    }

    /// Connects and returns once the connection is ready (accepted, for Laboratory).
    func connect(_ makeDriver: @Sendable (any EventLoop) -> any ConnectionDriver) async throws -> BenchConnection {
        let loop = group.next()
        let (connection, channel) = try await open(on: loop, driver: makeDriver(loop)).get()
        do {
            try await connection.readyPromise.futureResult.get()
        } catch {
            channel.close(promise: nil)
            throw error
        }
        return connection
    }

    /// Opens one connection on `loop` to the server's address as given (no name resolution, no
    /// happy eyeballs), from the next source address in turn; the future succeeds once it is
    /// connected, and the connection's `readyPromise` tells when it is ready.
    func open(on loop: any EventLoop, driver: any ConnectionDriver) -> EventLoopFuture<(BenchConnection, any Channel)> {
        let connection = BenchConnection(wire: wire, driver: driver, eventLoop: loop)
        let addresses: (source: SocketAddress, server: SocketAddress)
        do {
            addresses = (try nextSourceAddress(), try SocketAddress(ipAddress: host, port: port))
        } catch {
            return loop.makeFailedFuture(error)
        }
        return ClientBootstrap(group: loop)
            .channelOption(.socketOption(.tcp_nodelay), value: 1)
            .bind(to: addresses.source)
            .connectTimeout(.seconds(30))
            .channelInitializer { channel in
                channel.eventLoop.makeCompletedFuture {
                    try channel.pipeline.syncOperations.addHandler(
                        ByteToMessageHandler(LengthPrefixedFrameDecoder(maximumPayloadByteCount: 2 << 20)))
                    try channel.pipeline.syncOperations.addHandler(connection)
                }
            }
            .connect(to: addresses.server)
            .map { (connection, $0) }
    }

    /// Opens `count` ready connections, at most `parallel` handshakes at a time. Throws on the
    /// first connection that still fails after retries.
    func connect(
        count: Int, parallel: Int = 48, _ makeDriver: @escaping @Sendable (Int, any EventLoop) -> any ConnectionDriver
    ) async throws -> [BenchConnection] {
        let (connections, failures) = try await connect(
            count: count, parallel: parallel, toleratingFailures: 0, makeDriver)
        if let failure = failures.first { throw failure }
        return connections
    }

    /// Opens up to `count` ready connections, at most `parallel` handshakes at a time, and goes
    /// on past failures until more than `toleratingFailures` have failed. Returns what opened and
    /// the errors.
    func connect(
        count: Int, parallel: Int = 48, toleratingFailures: Int,
        _ makeDriver: @escaping @Sendable (Int, any EventLoop) -> any ConnectionDriver
    ) async throws -> ([BenchConnection], [any Error]) {
        var connections: [BenchConnection] = []
        var failures: [any Error] = []
        connections.reserveCapacity(count)
        var next = 0
        await withTaskGroup(of: Result<BenchConnection, any Error>.self) { group in
            func start(_ index: Int) {
                group.addTask {
                    var attempt = 0
                    while true {
                        do {
                            return .success(try await connect { makeDriver(index, $0) })
                        } catch {
                            // A SYN dropped by a full backlog, or a refusal by the server's
                            // admission policy under a burst, is retried a few times.
                            attempt += 1
                            if attempt >= 8 { return .failure(error) }
                            try? await Task.sleep(for: .milliseconds(50 * attempt))
                        }
                    }
                }
            }
            while next < min(parallel, count) {
                start(next)
                next += 1
            }
            while let result = await group.next() {
                switch result {
                case .success(let connection): connections.append(connection)
                case .failure(let error): failures.append(error)
                }
                if next < count && failures.count <= toleratingFailures {
                    start(next)
                    next += 1
                }
            }
        }
        return (connections, failures)
    }
}

/// Closes every connection and waits until they are closed.
func closeAll(_ connections: [BenchConnection]) async {
    for connection in connections { connection.close() }
    for connection in connections {
        try? await connection.channel?.closeFuture.get()
    }
}
