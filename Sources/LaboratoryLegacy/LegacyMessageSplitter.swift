import LaboratoryProtocol

/// Splits the prototype's stream of `\0`-terminated UTF-8 messages, whatever the read boundaries:
/// several messages in one read, or one message across several.
package struct LegacyMessageSplitter {
    /// The longest message accepted, in bytes; a longer one is an error. Default 64 KiB.
    package let maximumMessageBytes: Int
    private var pending: [UInt8] = []

    /// Creates an empty splitter.
    package init(maximumMessageBytes: Int = 64 * 1024) {
        self.maximumMessageBytes = maximumMessageBytes
    }

    /// Adds decoded bytes and returns every message they complete, without terminators.
    ///
    /// - Throws: ``ProtocolError`` when a message grows past the maximum or is not UTF-8.
    package mutating func append(_ bytes: [UInt8]) throws -> [String] {
        pending.append(contentsOf: bytes)
        var messages: [String] = []
        var start = pending.startIndex
        while let end = pending[start...].firstIndex(of: 0) {
            let raw = Array(pending[start..<end])
            guard raw.count <= maximumMessageBytes else { throw tooLong(raw.count) }
            guard let text = String(validating: raw, as: UTF8.self) else {
                throw ProtocolError.malformed("a legacy message is not valid UTF-8")
            }
            messages.append(text)
            start = end + 1
        }
        pending.removeSubrange(..<start)
        guard pending.count <= maximumMessageBytes else { throw tooLong(pending.count) }
        return messages
    }

    private func tooLong(_ count: Int) -> ProtocolError {
        ProtocolError(CloseReason(.frameTooLarge, "a legacy message of \(count)+ bytes exceeds \(maximumMessageBytes)"))
    }

    /// `text` as the prototype sends it: UTF-8 followed by `\0`.
    package static func encode(_ text: String) -> [UInt8] { Array(text.utf8) + [0] }
}
