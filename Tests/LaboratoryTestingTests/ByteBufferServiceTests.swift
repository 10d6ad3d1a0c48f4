import Laboratory
import LaboratoryTesting
import NIOCore
import Synchronization
import Testing

/// Answers with the second half of its body, a slice of the buffer it was given, and records
/// where that buffer's bytes lie, so a test can tell whether it got the caller's buffer or a copy.
struct SecondHalfService: LaboratoryByteBufferService {
    let seen = SeenAddress()

    func handle(_ body: ByteBuffer, context: LaboratoryServiceContext) async throws -> ByteBuffer {
        seen.record(body)
        return body.getSlice(
            at: body.readerIndex + body.readableBytes / 2, length: body.readableBytes - body.readableBytes / 2)!
    }
}

final class SeenAddress: Sendable {
    private let address = Mutex<Int>(0)

    func record(_ buffer: ByteBuffer) {
        let value = buffer.withUnsafeReadableBytes { Int(bitPattern: $0.baseAddress) }
        address.withLock { $0 = value }
    }

    var last: Int { address.withLock { $0 } }
}

@Suite("ByteBuffer services through the test kit", .timeLimit(.minutes(1)))
struct ByteBufferServiceTests {
    static let bodies: [[UInt8]] = [
        [], [1], Array("hello, world".utf8), (0..<200_000).map { UInt8(truncatingIfNeeded: $0 &* 7) },
    ]

    @Test("a buffer service answers array and buffer requests alike", arguments: ServiceTestMode.allCases)
    func answers(mode: ServiceTestMode) async throws {
        var registry = ServiceRegistry.standard
        registry.register(SecondHalfService(), as: "half")
        try await withServiceTest(registry, mode: mode) { client in
            let ada = try await client.session(name: "ada")
            for body in Self.bodies {
                let half = Array(body[(body.count / 2)...])
                #expect(try await ada.request("half", body) == half)
                #expect(try await ada.request("half", ByteBuffer(bytes: body)) == ByteBuffer(bytes: half))
                #expect(try await ada.request("echo", ByteBuffer(bytes: body)) == ByteBuffer(bytes: body))
            }
        }
    }

    @Test("in memory, a buffer service gets the caller's buffer itself, and its answer comes back uncopied")
    func noCopyInMemory() async throws {
        let service = SecondHalfService()
        var registry = ServiceRegistry()
        registry.register(service, as: "half")
        try await withServiceTest(registry, mode: .inMemory) { client in
            let ada = try await client.session(name: "ada")
            let body = ByteBuffer(bytes: [UInt8](repeating: 9, count: 4096))
            let answer = try await ada.request("half", body)
            let bodyAddress = body.withUnsafeReadableBytes { Int(bitPattern: $0.baseAddress) }
            #expect(service.seen.last == bodyAddress)
            #expect(answer.withUnsafeReadableBytes { Int(bitPattern: $0.baseAddress) } == bodyAddress + 2048)
        }
    }

    @Test("the array form of a buffer service bridges to its buffer form")
    func arrayBridge() async throws {
        let service = SecondHalfService()
        var registry = ServiceRegistry()
        registry.register(service, as: "half")
        try await withServiceTest(registry) { client in
            let ada = try await client.session(name: "ada")
            #expect(try await ada.request("half", [1, 2, 3, 4]) == [3, 4])
            #expect(service.seen.last != 0, "the buffer form ran")
        }
        #expect(registry.service(named: "half") is SecondHalfService)
    }
}
