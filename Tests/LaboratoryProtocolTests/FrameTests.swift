import LaboratoryProtocol
import Testing

@Suite("Frame")
struct FrameTests {
    static let maximum = Frame.defaultMaximumPayloadByteCount

    @Test("A length equal to the maximum is accepted")
    func atMaximum() throws {
        #expect(Self.maximum == 1_048_576)
        #expect(try Frame.payloadLength(header: [0x00, 0x10, 0x00, 0x00], maximum: Self.maximum) == Self.maximum)
        #expect(try Frame.payloadLength(header: [0, 0, 0, 0], maximum: Self.maximum) == 0)
    }

    @Test("A length one over the maximum throws frameTooLarge")
    func overMaximum() throws {
        let code = try closeCode {
            _ = try Frame.payloadLength(header: [0x00, 0x10, 0x00, 0x01], maximum: Self.maximum)
        }
        #expect(code == .frameTooLarge)
        #expect(try closeCode { _ = try Frame.payloadLength(header: [0, 0, 0, 11], maximum: 10) } == .frameTooLarge)
        #expect(try closeCode { _ = try Frame.payloadLength(header: [0, 0, 0, 1], maximum: 0) } == .frameTooLarge)
    }

    @Test("0xFFFFFFFF is read as 4 GiB − 1 (not negative) and refused")
    func allOnes() throws {
        let error = try #require(throws: ProtocolError.self) {
            try Frame.payloadLength(header: [0xff, 0xff, 0xff, 0xff], maximum: Self.maximum)
        }
        #expect(error.closeReason.code == .frameTooLarge)
        #expect(error.closeReason.message.contains("4294967295"))
        #expect(try Frame.payloadLength(header: [0xff, 0xff, 0xff, 0xff], maximum: Int(UInt32.max)) == 4_294_967_295)
    }

    @Test("Headers are big-endian")
    func headerLayout() throws {
        #expect(Frame.header(payloadLength: 0x0102_0304) == [0x01, 0x02, 0x03, 0x04])
        #expect(Frame.header(payloadLength: 0) == [0, 0, 0, 0])
        #expect(Frame.header(payloadLength: 300) == [0, 0, 0x01, 0x2c])
        #expect(try Frame.payloadLength(header: [0x01, 0x02, 0x03, 0x04], maximum: Int(UInt32.max)) == 0x0102_0304)
    }

    @Test(
        "header(payloadLength:) and payloadLength(header:) round-trip",
        arguments: [0, 1, 255, 256, 65_535, 65_536, 1 << 20, (1 << 24) + 1, Int(UInt32.max)])
    func headerRoundTrip(_ length: Int) throws {
        let header = Frame.header(payloadLength: length)
        #expect(header.count == Frame.headerByteCount)
        #expect(try Frame.payloadLength(header: header, maximum: Int(UInt32.max)) == length)
    }

    @Test("encode prefixes the payload with its length, and the prefix reads back", arguments: [0, 1, 5, 1000])
    func encodeRoundTrip(_ count: Int) throws {
        let payload = (0..<count).map { UInt8(truncatingIfNeeded: $0 &* 31) }
        let frame = Frame.encode(payload)
        #expect(frame.count == 4 + count)
        let length = try Frame.payloadLength(header: frame.prefix(4), maximum: Self.maximum)
        #expect(length == count)
        #expect(Array(frame.dropFirst(4)) == payload)
    }
}
