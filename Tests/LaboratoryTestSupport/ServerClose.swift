@_spi(Benchmarks) import LaboratoryCrypto
@_spi(Benchmarks) import LaboratoryProtocol
import NIOCore

/// How a connection under attack ended.
package struct ServerClose: Sendable {
    /// The server's reason, from its `closing` message (sealed or not), if it sent one we can read.
    package var reason: CloseReason?
    /// Whether the server closed the connection (rather than our timer).
    package var closedByServer: Bool
    /// The sizes of the frames the server sent until it closed.
    package var frameSizes: [Int]

    package init(reason: CloseReason?, closedByServer: Bool, frameSizes: [Int]) {
        self.reason = reason
        self.closedByServer = closedByServer
        self.frameSizes = frameSizes
    }
}

extension RawClient {
    /// Reads until the server closes the connection or `bound` passes (then closes it from this
    /// side), and says how it ended.
    package mutating func waitForClose(within bound: Duration) async -> ServerClose {
        let channel = self.channel
        let timedOut = Flag()
        let timer = channel.eventLoop.scheduleTask(in: .milliseconds(Int64(bound / .milliseconds(1)))) {
            timedOut.set()
            channel.close(promise: nil)
        }
        var close = ServerClose(reason: nil, closedByServer: false, frameSizes: [])
        while let frame = await nextFrame() {
            close.frameSizes.append(frame.count)
            let plain = (try? opener?.open(frame)) ?? frame
            if case .closing(let given)? = try? ServerMessage(decoding: plain) { close.reason = given }
        }
        timer.cancel()
        close.closedByServer = !timedOut.isSet
        return close
    }
}
