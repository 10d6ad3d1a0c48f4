import LaboratoryProtocol
import Testing

@testable import LaboratoryLegacy

@Suite("Legacy message splitter")
struct LegacyMessageSplitterTests {
    @Test("several messages in one read, and one message across reads")
    func boundaries() throws {
        var splitter = LegacyMessageSplitter()
        #expect(try splitter.append(Array("NAME ?\0hel".utf8)) == ["NAME ?"])
        #expect(try splitter.append(Array("lo".utf8)) == [])
        #expect(try splitter.append(Array("\0\0x\0".utf8)) == ["hello", "", "x"])
        #expect(LegacyMessageSplitter.encode("hé") == Array("hé".utf8) + [0])
    }

    @Test("a message over the maximum, finished or not, and one that is not UTF-8 are errors")
    func badMessages() throws {
        var unfinished = LegacyMessageSplitter(maximumMessageBytes: 4)
        #expect(throws: ProtocolError.self) { try unfinished.append(Array("12345".utf8)) }
        var finished = LegacyMessageSplitter(maximumMessageBytes: 4)
        #expect(throws: ProtocolError.self) { try finished.append(Array("12345\0".utf8)) }
        var invalid = LegacyMessageSplitter()
        #expect(throws: ProtocolError.self) { try invalid.append([0xFF, 0xFE, 0]) }
        var exact = LegacyMessageSplitter(maximumMessageBytes: 4)
        #expect(try exact.append(Array("1234\0".utf8)) == ["1234"])
    }
}
