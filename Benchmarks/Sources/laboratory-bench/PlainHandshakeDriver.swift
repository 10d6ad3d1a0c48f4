import BenchFraming
import NIOCore

/// The handshake's message exchange in plaintext, against a baseline started with
/// `--handshake-shaped` (``HandshakeShape``): waits for the hello, then sends each client frame
/// of the real size once the server's previous frame has arrived (as a real client waits for each
/// prompt), records the time from `connect()` to the frame that stands for `accepted`, sends the
/// last frame (bye) and lets the server close. No cryptography on either side.
final class PlainHandshakeDriver: ConnectionDriver, @unchecked Sendable {
    // Safety: its vars are used only by its connection's handler, on that channel's event loop.
    private let control: RunControl
    private let stats: LoopStats
    private let startedAt: UInt64
    /// Server frames received so far (the hello is the first).
    private var received = 0

    init(control: RunControl, stats: LoopStats, startedAt: UInt64) {
        self.control = control
        self.stats = stats
        self.startedAt = startedAt
    }

    func ready(_ connection: BenchConnection) {}

    func received(_ connection: BenchConnection, payload: ByteBuffer) {
        let expected =
            received == 0 ? HandshakeShape.helloByteCount : HandshakeShape.serverReplyByteCounts[received - 1]
        guard payload.readableBytes == expected else {
            control.errors.add(1, ordering: .relaxed)
            connection.close()
            return
        }
        received += 1
        let answered = received - 1  // client frames the server has answered
        if answered == HandshakeShape.acceptedReplyIndex + 1 {
            let elapsed = monotonicNanoseconds() &- startedAt
            if control.phase == .measuring { stats.record(nanoseconds: elapsed) }
        }
        // After the hello and each reply, the next client frame; after the last reply the server closes.
        if answered < HandshakeShape.clientByteCounts.count {
            connection.writeFrame(repeatElement(UInt8(0x5A), count: HandshakeShape.clientByteCounts[answered]))
        }
    }

    /// A connection that ends before the server's last frame (closing) is an error.
    func closed(_ connection: BenchConnection) {
        if received < 1 + HandshakeShape.serverReplyByteCounts.count { control.errors.add(1, ordering: .relaxed) }
    }
}
