// Baseline: a plaintext echo server on NIOAsyncChannel with async/await, structured like
// Laboratory's server (a discarding task group with one child task per connection, each iterating
// its inbound stream) but with no encryption, actor or routing. Same 4-byte framing. With
// `--handshake-shaped` each connection's task plays the handshake's message exchange in plaintext
// instead (serveHandshakeShaped).
// It prints `Listening on HOST:PORT` once bound and runs until killed.
//
// The main thread only waits: the server runs in a detached task on the global executor, as it
// would under an `async` main, but valgrind 3.19 can run this (it crashes when the main thread
// leaves through dispatch_main), so the baseline can be profiled like the Laboratory host.
import BenchFraming
import Dispatch
import NIOCore
import NIOPosix

let finished = DispatchSemaphore(value: 0)
Task.detached {
    do {
        try await AsyncEchoServer.run()
    } catch {
        print("nio-echo-async: \(error)")
    }
    finished.signal()
}
finished.wait()

enum AsyncEchoServer {
    static func run() async throws {
        let (host, port) = baselineArguments()
        let handshakeShaped = baselineHandshakeShaped()
        let server = try await ServerBootstrap(group: MultiThreadedEventLoopGroup.singleton)
            .serverChannelOption(.socketOption(.so_reuseaddr), value: 1)
            .serverChannelOption(.backlog, value: 256)
            .childChannelOption(.socketOption(.tcp_nodelay), value: 1)
            .bind(host: host, port: port) { channel in
                channel.eventLoop.makeCompletedFuture {
                    try channel.pipeline.syncOperations.addHandler(
                        ByteToMessageHandler(LengthPrefixedFrameDecoder()))
                    return try NIOAsyncChannel<ByteBuffer, ByteBuffer>(wrappingChannelSynchronously: channel)
                }
            }
        let address = server.channel.localAddress!
        announce("Listening on \(address.ipAddress ?? host):\(address.port ?? port)")
        try await withThrowingDiscardingTaskGroup { group in
            try await server.executeThenClose { inbound in
                for try await connection in inbound {
                    if handshakeShaped {
                        group.addTask { await serveHandshakeShaped(connection) }
                    } else {
                        group.addTask { await serve(connection) }
                    }
                }
            }
        }
    }

    static func serve(_ connection: NIOAsyncChannel<ByteBuffer, ByteBuffer>) async {
        do {
            try await connection.executeThenClose { inbound, outbound in
                for try await payload in inbound {
                    var frame = connection.channel.allocator.buffer(capacity: 4 + payload.readableBytes)
                    frame.writeFrame(payload)
                    try await outbound.write(frame)
                }
            }
        } catch {
            // A failing connection ends alone.
        }
    }
}
