import LaboratoryClient
import NIOCore
import NIOPosix
import Testing

/// Connects with `connect` to a real listener that accepts and never writes a byte, moves `clock`
/// to one nanosecond before `timeout` (nothing may have fired yet), then to `timeout`, and returns
/// the error the attempt ended with: what a client's handshake-timeout test on the test clock needs.
package func handshakeTimeoutError<T: Sendable>(
    after timeout: Duration, on clock: TestClock, _ connect: @escaping @Sendable (_ port: Int) async throws -> T
) async throws -> ClientError? {
    let silent = try await ServerBootstrap(group: MultiThreadedEventLoopGroup.singleton)
        .bind(host: "127.0.0.1", port: 0).get()
    let port = try #require(silent.localAddress?.port)
    let attempt = Task { try await connect(port) }
    // Connected: the handshake's deadline is armed.
    await clock.waitForPending(count: 1)
    clock.advance(by: timeout - .nanoseconds(1))
    #expect(clock.pendingCount == 1, "not yet")
    clock.advance(by: .nanoseconds(1))
    let error = await #expect(throws: ClientError.self) { try await attempt.value }
    try await silent.close()
    return error
}
