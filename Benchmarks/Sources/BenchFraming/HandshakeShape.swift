/// The message exchange of a Laboratory handshake with no cryptography: the same frames, in the
/// same order, with the same payload sizes, so that a plaintext server playing it costs what the
/// network, the event loop and the connection's life cost, and nothing else. The baselines play it
/// with `--handshake-shaped`; `laboratory-bench` drives them with the same concurrency as the real
/// handshake (Docs/PERFORMANCE.md, "Handshake-shaped baselines").
///
/// The sizes are the real handshake's against `laboratory-server` with its defaults (Docs/PROTOCOL.md
/// §4, §5, §10; sealed frames carry a 16-byte tag), as `strace -f -e trace=read,write,writev`
/// shows them:
///
/// | Step | Direction | Payload bytes |
/// |---|---|--:|
/// | hello: 2048-bit identity and transport keys (294-byte SPKIs), a 256-byte signature | server → client | 60 + 294 + 294 + 256 = 904 |
/// | key exchange: the RSA-OAEP ciphertext | client → server | 256 |
/// | `passwordPrompt` | server → client | 1 + 16 = 17 |
/// | `password` (the generator's `bench-` and up to 20 digits: 26 bytes) | client → server | 1 + 2 + 26 + 16 = 45 |
/// | `namePrompt` | server → client | 17 |
/// | `name` (`bench`) | client → server | 1 + 2 + 5 + 16 = 24 |
/// | `accepted`: id, server name `Laboratory`, services `echo` and `chat` | server → client | 1 + 8 + 12 + 2 + 6 + 6 + 16 = 51 |
/// | `bye` | client → server | 1 + 16 = 17 |
/// | `closing` (code 1, `goodbye`), then the server closes | server → client | 1 + 2 + 9 + 16 = 28 |
public enum HandshakeShape {
    /// What the server sends first, as soon as the connection is accepted (the hello).
    public static let helloByteCount = 904
    /// The client's frames in order: key exchange, password, name, bye.
    public static let clientByteCounts = [256, 45, 24, 17]
    /// The server's answer to each client frame, in order: password prompt, name prompt,
    /// accepted, closing (after which it closes the connection).
    public static let serverReplyByteCounts = [17, 17, 51, 28]
    /// The index in ``clientByteCounts`` of the frame the server answers with "accepted": the
    /// handshake is complete when that answer arrives.
    public static let acceptedReplyIndex = 2
}
