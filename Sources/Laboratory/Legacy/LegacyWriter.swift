import LaboratoryProtocol
import NIOConcurrencyHelpers
import NIOCore
import Synchronization

/// The sending half of a legacy connection: applies the stateful transform and writes, in order,
/// from any task (the connection itself or chat rooms pushing events). Bounded like `Outbound`.
final class LegacyWriter: Sendable {
    /// Only ever touched inside `state`'s lock, which is what makes the stateful codec safe to share.
    private struct State: @unchecked Sendable {
        var codec: (any LegacyCodec)?
        var isOpen = true
    }

    private let state = NIOLockedValueBox(State())
    private let queuedBytes = Atomic<Int>(0)
    private let maximumQueuedBytes: Int
    let channel: any Channel

    init(channel: any Channel, maximumQueuedBytes: Int) {
        self.channel = channel
        self.maximumQueuedBytes = maximumQueuedBytes
    }

    /// Writes raw bytes (the public key PEM, before any transform exists).
    func sendRaw(_ bytes: [UInt8]) {
        channel.writeAndFlush(ByteBuffer(bytes: bytes), promise: nil)
    }

    /// From now on messages pass through `transform`'s codec for `key`.
    func install(_ transform: any LegacyTransform, key: [UInt8]) {
        state.withLockedValue { $0.codec = transform.makeCodec(key: key) }
    }

    /// Sends one `\0`-terminated message through the transform. Returns `false` if the connection
    /// is closed or too far behind (it is then closed).
    @discardableResult
    func send(_ text: String) -> Bool {
        state.withLockedValue { state in
            guard state.isOpen, state.codec != nil else { return false }
            let bytes = state.codec!.encode(LegacyMessageSplitter.encode(text))
            let queued = queuedBytes.add(bytes.count, ordering: .relaxed).newValue
            guard queued == bytes.count || queued <= maximumQueuedBytes else {
                state.isOpen = false
                channel.close(promise: nil)
                return false
            }
            let promise = channel.eventLoop.makePromise(of: Void.self)
            promise.futureResult.whenComplete { [self] _ in
                self.queuedBytes.subtract(bytes.count, ordering: .relaxed)
            }
            channel.writeAndFlush(ByteBuffer(bytes: bytes), promise: promise)
            return true
        }
    }

    /// Refuses further sends (pushes from services after the session ended).
    func close() {
        state.withLockedValue { $0.isOpen = false }
    }
}
