import LaboratoryClient
import LaboratoryCrypto
import LaboratoryProtocol
import LaboratoryTransport
import NIOCore
import NIOPosix

/// A client for servers that speak the original prototype's wire format: unframed PKCS#1 PEM
/// key from the server, the symmetric key sent with RSA PKCS#1 v1.5, then `\0`-terminated text
/// through a transform. There is no way to authenticate such a server; use it only to talk to
/// existing prototype deployments on a network you trust.
public actor LegacyClientSession {
    private let channel: any Channel
    private let transform: any LegacyTransform
    private var encoder: (any LegacyCodec)?
    private var inbox: [String] = []
    private var inboxWaiter: CheckedContinuation<String?, Never>?
    private var isClosed = false
    private var decoder: (any LegacyCodec)?
    private var splitter = LegacyMessageSplitter()
    private var keyBuffer: [UInt8] = []
    private var keyWaiter: CheckedContinuation<RSAPublicKey, any Error>?
    private var publicKey: RSAPublicKey?
    private var failure: ClientError?
    /// Set once the server has said `ACCEPTED`: a timeout that fires later is late and does nothing.
    private var isAccepted = false

    private init(channel: any Channel, transform: any LegacyTransform) {
        self.channel = channel
        self.transform = transform
    }

    /// The next message, or `nil` once the connection is closed and every message was read.
    private func nextMessage() async -> String? {
        if !inbox.isEmpty { return inbox.removeFirst() }
        if isClosed { return nil }
        return await withCheckedContinuation { inboxWaiter = $0 }
    }

    private func deliver(_ message: String?) {
        if let waiter = inboxWaiter {
            inboxWaiter = nil
            waiter.resume(returning: message)
        } else if let message {
            inbox.append(message)
        }
    }

    /// Connects, sends `key` (the prototype's symmetric key; empty means its plaintext), the
    /// password and the name, and returns once the server says `ACCEPTED`.
    ///
    /// - Throws: `ClientError`: `connectionFailed`, `wrongPassword` (the server closed after the
    ///   password), `rejected` (after the name), `handshakeTimeout`, `protocolViolation`.
    public static func connect(
        host: String, port: Int, password: String, name: String, key: String = "",
        transform: any LegacyTransform = IdentityLegacyTransform(), timeout: Duration = .seconds(30)
    ) async throws -> LegacyClientSession {
        try await connect(
            host: host, port: port, password: password, name: name, key: key, transform: transform, timeout: timeout,
            clock: .continuous)
    }

    /// ``connect(host:port:password:name:key:transform:timeout:)`` with the timeout kept on `clock`.
    package static func connect(
        host: String, port: Int, password: String, name: String, key: String = "",
        transform: any LegacyTransform = IdentityLegacyTransform(), timeout: Duration = .seconds(30),
        clock: AnyTimerClock
    ) async throws -> LegacyClientSession {
        let asyncChannel: NIOAsyncChannel<ByteBuffer, ByteBuffer>
        do {
            asyncChannel = try await ClientBootstrap(group: MultiThreadedEventLoopGroup.singleton)
                .connect(host: host, port: port) { channel in
                    channel.eventLoop.makeCompletedFuture {
                        try NIOAsyncChannel<ByteBuffer, ByteBuffer>(wrappingChannelSynchronously: channel)
                    }
                }
        } catch {
            throw ClientError(.connectionFailed, step: .connecting, "could not connect to \(host):\(port): \(error)")
        }
        let session = LegacyClientSession(channel: asyncChannel.channel, transform: transform)
        Task { await session.readLoop(asyncChannel) }
        // The timeout is a sleep on `clock` raced against the handshake: when it passes first, it
        // records the timeout as the failure and closes, which ends the handshake with that error.
        let deadline = clock.now.advanced(by: timeout)
        do {
            try await withThrowingTaskGroup(of: Bool.self) { group in
                group.addTask {
                    try await clock.sleep(until: deadline, tolerance: nil)
                    await session.timeOut(after: timeout)
                    return false
                }
                group.addTask {
                    try await session.handshake(key: key, password: password, name: name)
                    return true
                }
                while let finished = try await group.next() {
                    if finished {
                        group.cancelAll()
                        return
                    }
                }
            }
        } catch let error as ClientError {
            await session.close()
            throw error
        }
        return session
    }

    /// Fails the handshake with a timeout, unless it has already failed, and closes the connection.
    private func timeOut(after timeout: Duration) {
        guard !isAccepted else { return }
        if failure == nil {
            failure = ClientError(.handshakeTimeout, step: .connecting, "the handshake took longer than \(timeout)")
        }
        channel.close(promise: nil)
    }

    private func handshake(key: String, password: String, name: String) async throws {
        let serverKey = try await withCheckedThrowingContinuation { continuation in
            if let publicKey {
                continuation.resume(returning: publicKey)
            } else if let failure {
                continuation.resume(throwing: failure)
            } else {
                keyWaiter = continuation
            }
        }
        let encrypted: [UInt8]
        do {
            encrypted = try serverKey.encryptPKCS1v15(Array(key.utf8))
        } catch {
            throw ClientError(.protocolViolation, step: .keyExchange, "could not encrypt the key: \(error)")
        }
        encoder = transform.makeCodec(key: Array(key.utf8))
        decoder = transform.makeCodec(key: Array(key.utf8))
        channel.writeAndFlush(ByteBuffer(bytes: encrypted), promise: nil)
        try await expect("PASSWORD ?", step: .keyExchange)
        try await send(password)
        try await expect("NAME ?", step: .password, closedCode: .wrongPassword)
        try await send(name)
        try await expect("ACCEPTED", step: .name, closedCode: .rejected)
        isAccepted = true
    }

    private func expect(_ text: String, step: ClientError.Step, closedCode: ClientError.Code = .connectionClosed)
        async throws
    {
        guard let message = await nextMessage() else {
            let reason = closedCode == .wrongPassword ? "wrong password" : "the server closed the connection"
            throw failure.map {
                ClientError($0.code == .handshakeTimeout ? $0.code : closedCode, step: step, $0.message)
            }
                ?? ClientError(closedCode, step: step, reason)
        }
        guard message == text else {
            throw ClientError(.protocolViolation, step: step, "expected \"\(text)\", got \"\(message.prefix(80))\"")
        }
    }

    /// Sends one message.
    public func send(_ text: String) async throws {
        if let failure { throw failure }
        guard var codec = encoder else { return }
        let bytes = codec.encode(LegacyMessageSplitter.encode(text))
        encoder = codec
        try await channel.writeAndFlush(ByteBuffer(bytes: bytes))
    }

    /// The next message from the server, or `nil` once it has closed the connection.
    public func receive() async -> String? {
        await nextMessage()
    }

    /// Asks the server for its name (`NAME ?`).
    public func serverName() async throws -> String {
        try await send("NAME ?")
        guard let name = await nextMessage() else {
            throw ClientError(.connectionClosed, step: .session, "the server closed the connection")
        }
        return name
    }

    /// Closes the connection (the prototype's way to disconnect).
    public func close() async {
        try? await channel.close()
    }

    private func readLoop(_ asyncChannel: NIOAsyncChannel<ByteBuffer, ByteBuffer>) async {
        do {
            try await asyncChannel.executeThenClose { inbound, _ in
                for try await chunk in inbound {
                    try self.receive(Array(chunk.readableBytesView))
                }
            }
        } catch let error as ClientError {
            failure = error
        } catch {
            failure = ClientError(.connectionClosed, step: .session, "the connection failed: \(error)")
        }
        keyWaiter?.resume(throwing: failure ?? ClientError(.connectionClosed, step: .hello, "closed before the key"))
        keyWaiter = nil
        isClosed = true
        deliver(nil)
    }

    private func receive(_ bytes: [UInt8]) throws {
        guard publicKey != nil, var codec = decoder else {
            keyBuffer.append(contentsOf: bytes)
            let marker = Array("-----END RSA PUBLIC KEY-----".utf8)
            guard let end = keyBuffer.firstRange(of: marker)?.upperBound else {
                guard keyBuffer.count < 16_384 else {
                    throw ClientError(.protocolViolation, step: .hello, "no RSA PUBLIC KEY from the server")
                }
                return
            }
            let key: RSAPublicKey
            do {
                key = try RSAPublicKey(legacyPKCS1PEM: String(decoding: keyBuffer[..<end], as: UTF8.self))
            } catch {
                throw ClientError(.protocolViolation, step: .hello, "the server's key is unusable: \(error)")
            }
            publicKey = key
            keyWaiter?.resume(returning: key)
            keyWaiter = nil
            keyBuffer = []
            return
        }
        let decoded = codec.decode(bytes)
        decoder = codec
        do {
            for message in try splitter.append(decoded) { deliver(message) }
        } catch {
            throw ClientError(.protocolViolation, step: .session, "\(error)")
        }
    }
}
