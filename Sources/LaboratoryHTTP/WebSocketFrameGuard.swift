import LaboratoryTransport
import NIOCore

/// The first handler of a gateway connection's channel: reads the header of each WebSocket frame
/// as the bytes stream in, before the WebSocket decoder buffers the frame, and stops a data frame
/// longer than the connection's frame size limit there.
///
/// The WebSocket layer's own limit is the session's maximum, whatever the connection's state, and
/// it buffers a whole frame (and up to ten decoded ones) before the gateway sees any. Without this
/// guard an unauthenticated peer could make the server hold megabytes where a TCP peer can make it
/// hold one 4 KiB frame. Past an oversized frame's header nothing more is passed on: the gateway
/// ends the connection with `frameTooLarge` (`oversized`), and the connection closes after its
/// close timeout.
final class WebSocketFrameGuard: ChannelInboundHandler, RemovableChannelHandler {
    typealias InboundIn = ByteBuffer
    typealias InboundOut = ByteBuffer

    private let limit: FrameSizeLimit
    private let oversized: (Int) -> Void
    /// The current frame's header bytes, until it is complete.
    private var header: [UInt8] = []
    /// Payload bytes of the current frame still to pass.
    private var payloadLeft: UInt64 = 0
    private var isDiscarding = false

    init(limit: FrameSizeLimit, oversized: @escaping (Int) -> Void) {
        self.limit = limit
        self.oversized = oversized
        header.reserveCapacity(14)
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        guard !isDiscarding else { return }
        let buffer = unwrapInboundIn(data)
        var index = buffer.readerIndex
        let end = buffer.writerIndex
        while index < end {
            if payloadLeft > 0 {
                let skipped = min(payloadLeft, UInt64(end - index))
                index += Int(skipped)
                payloadLeft -= skipped
                continue
            }
            header.append(buffer.getInteger(at: index)!)
            index += 1
            guard let length = Self.payloadLength(header) else { continue }
            let isData = header[0] & 0x0F < 0x8
            header.removeAll(keepingCapacity: true)
            if isData, length > UInt64(limit.current) {
                isDiscarding = true
                oversized(Int(clamping: length))
                return
            }
            payloadLeft = length
        }
        context.fireChannelRead(data)
    }

    /// The payload length once `header` holds a whole frame header (RFC 6455 §5.2), else `nil`.
    static func payloadLength(_ header: [UInt8]) -> UInt64? {
        guard header.count >= 2 else { return nil }
        let short = header[1] & 0x7F
        let lengthBytes = short == 126 ? 2 : short == 127 ? 8 : 0
        let maskBytes = header[1] & 0x80 != 0 ? 4 : 0
        guard header.count == 2 + lengthBytes + maskBytes else { return nil }
        guard lengthBytes > 0 else { return UInt64(short) }
        return header[2..<(2 + lengthBytes)].reduce(0) { $0 << 8 | UInt64($1) }
    }
}
