@_spi(Benchmarks) import LaboratoryCrypto
@_spi(Benchmarks) import LaboratoryProtocol

/// The steps of a handshake as attacks take them, one at a time.
extension RawClient {
    /// Reads the hello; throws if the server sent anything else.
    package mutating func readHello() async throws -> [UInt8] {
        guard let payload = await nextFrame() else { throw RawClientError("closed before the hello") }
        _ = try ServerHello(decoding: payload)
        return payload
    }

    /// Runs the key exchange and reads the password prompt.
    package mutating func toPassword() async throws {
        try await exchangeKeys()
        guard try await receive() == .passwordPrompt else { throw RawClientError("no password prompt") }
    }

    /// Runs the key exchange, sends the password, and reads the name prompt.
    package mutating func toName(password: String) async throws {
        try await toPassword()
        try await send(.password(password))
        guard try await receive() == .namePrompt else { throw RawClientError("no name prompt") }
    }

    /// Reads the prompt the server sends after a key exchange it could not decrypt: a frame the
    /// size of a sealed prompt that this client cannot open; then sends a frame for the server to
    /// fail on.
    package mutating func expectUnreadablePrompt() async throws {
        guard let prompt = await nextFrame() else { throw RawClientError("closed instead of prompting") }
        guard prompt.count == ServerMessage.passwordPrompt.encoded().count + AES256GCM.tagByteCount else {
            throw RawClientError("the prompt is \(prompt.count) bytes")
        }
        if let opener, (try? opener.open(prompt)) != nil {
            throw RawClientError("the prompt opened with the client's keys")
        }
        await push(Frame.encode(try SecureRandom.bytes(count: 40)))
    }

    /// Writes attack bytes; the server may already have closed, so a failed write is expected.
    package func push(_ bytes: [UInt8]) async {
        try? await sendRaw(bytes)
    }
}
