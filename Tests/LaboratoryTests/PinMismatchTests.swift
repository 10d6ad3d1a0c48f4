import Foundation
import Laboratory
import LaboratoryClient
@_spi(Benchmarks) import LaboratoryCrypto
@_spi(Benchmarks) import LaboratoryProtocol
import LaboratoryTestSupport
import LaboratoryTransport
import NIOConcurrencyHelpers
import NIOCore
import NIOPosix
import Testing

/// A fake server: sends a hello, then records every byte a client sends and reports, when the
/// client disconnects, how many bytes it sent.
final class ByteRecorder: ChannelInboundHandler, Sendable {
    typealias InboundIn = ByteBuffer
    let received = NIOLockedValueBox<[UInt8]>([])
    let hello: [UInt8]
    let disconnects: AsyncStream<Int>
    private let disconnected: AsyncStream<Int>.Continuation

    init(hello: [UInt8]) {
        self.hello = hello
        (disconnects, disconnected) = AsyncStream<Int>.makeStream()
    }

    func channelInactive(context: ChannelHandlerContext) {
        disconnected.yield(received.withLockedValue { $0.count })
        context.fireChannelInactive()
    }

    func channelActive(context: ChannelHandlerContext) {
        context.writeAndFlush(NIOAny(ByteBuffer(bytes: Frame.encode(hello))), promise: nil)
        context.fireChannelActive()
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        let bytes = Array(unwrapInboundIn(data).readableBytesView)
        received.withLockedValue { $0.append(contentsOf: bytes) }
    }
}

@Suite("Server key pinning", .timeLimit(.minutes(1)))
struct PinMismatchTests {
    @Test("a client whose pin does not match sends nothing at all, so never the password")
    func nothingSent() async throws {
        let impostorKey = TestKeys.other
        let hello = try certifiedHello(identity: impostorKey, transport: impostorKey)
        let recorder = ByteRecorder(hello: hello.encoded())
        let listener = try await ServerBootstrap(group: MultiThreadedEventLoopGroup.singleton)
            .childChannelInitializer { channel in
                channel.eventLoop.makeCompletedFuture { try channel.pipeline.syncOperations.addHandler(recorder) }
            }
            .bind(host: "127.0.0.1", port: 0).get()
        let port = listener.localAddress!.port!

        let error = try await #require(throws: ClientError.self) {
            try await ClientSession.connect(
                host: "127.0.0.1", port: port, password: "the secret password", name: "ada",
                trust: .pinned(fingerprint: LiveServer.hostKey.publicKey.fingerprint))
        }
        #expect(error.code == .serverKeyMismatch)
        #expect(error.message.contains(impostorKey.publicKey.fingerprint))
        // Wait until the fixture sees the client hang up: everything it sent has been read by then.
        var disconnects = recorder.disconnects.makeAsyncIterator()
        #expect(await disconnects.next() == 0)

        // The same fixture with the right pin does receive a key exchange: the recorder works.
        let accepted = try await #require(throws: ClientError.self) {
            var configuration = ClientConfiguration()
            configuration.handshakeTimeout = .milliseconds(500)
            return try await ClientSession.connect(
                host: "127.0.0.1", port: port, password: "the secret password", name: "ada",
                trust: .pinned(fingerprint: impostorKey.publicKey.fingerprint), configuration: configuration)
        }
        #expect(accepted.code == .handshakeTimeout)
        #expect(await disconnects.next() == 4 + 256)
        try await listener.close()
    }
}
