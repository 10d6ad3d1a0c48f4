@_spi(Benchmarks) import LaboratoryProtocol
import NIOCore

extension EventSink {
    /// The sink that queues events on `outbound`, a session's sending half.
    static func sending(to outbound: Outbound, connectionID: UInt64) -> EventSink {
        EventSink(
            connectionID: connectionID, eventLoop: outbound.channel.eventLoop,
            deliver: { [outbound] event in outbound.send(.event(event)) },
            deliverEncoded: { [outbound] payload in outbound.send(encoded: payload) })
    }
}
