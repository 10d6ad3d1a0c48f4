import NIOCore

/// One slot of the handshake scenario, run on one of the generator's event loops with no task and
/// no hop off the loop: it connects, is accepted (`HandshakeDriver` says `bye`), waits for the
/// server to close, and connects again from the close callback.
///
/// The earlier slot was a task awaiting the connect, the acceptance and the close: three wake-ups
/// of the cooperative pool per handshake, on the two cores the server shares. Each connection
/// still does a real client's work: a fresh secret, RSA-OAEP encryption to the transport key,
/// key derivation, AES-GCM on every sealed frame (`BenchConnection`, the `ClientHandshake` state
/// machine), with the transport key's certificate checked once per certificate
/// (`TransportKeyCache`).
final class HandshakeSlot: @unchecked Sendable {
    // Safety: its state is used only on `loop`.
    private let connector: Connector
    private let control: RunControl
    private let stats: LoopStats
    private let loop: any EventLoop
    /// Succeeds when the slot has stopped (the run is `stopping` and its last connection closed).
    let stopped: EventLoopPromise<Void>

    init(connector: Connector, control: RunControl, stats: LoopStats, loop: any EventLoop) {
        self.connector = connector
        self.control = control
        self.stats = stats
        self.loop = loop
        self.stopped = loop.makePromise()
    }

    /// Starts the slot's first connection.
    func start() {
        loop.execute { self.connectNext() }
    }

    private func connectNext() {
        guard control.phase != .stopping else {
            stopped.succeed()
            return
        }
        let startedAt = monotonicNanoseconds()
        let driver: any ConnectionDriver =
            switch connector.wire {
            case .laboratory: HandshakeDriver(control: control, stats: stats, startedAt: startedAt)
            case .plain: PlainHandshakeDriver(control: control, stats: stats, startedAt: startedAt)
            }
        connector.open(on: loop, driver: driver).whenComplete { result in
            switch result {
            case .success(let (connection, channel)):
                connection.readyPromise.futureResult.whenFailure { _ in
                    self.control.errors.add(1, ordering: .relaxed)
                }
                channel.closeFuture.whenComplete { _ in self.connectNext() }
            case .failure:
                self.control.errors.add(1, ordering: .relaxed)
                self.loop.scheduleTask(in: .milliseconds(10)) { self.connectNext() }
            }
        }
    }
}
