import Logging

/// Text a client chose (a display name, a room name, a service name, a reason or error that may
/// echo a client's words), as it goes into a log line: the one place such text is made safe to
/// log.
///
/// Its description is the text in double quotes with backslashes, quotes, control characters,
/// line and paragraph separators, and format characters (bidirectional overrides, zero-width
/// characters) escaped (`\n`, `\"`, `\u{202E}`), and cut to ``maximumCharacters``. So in a
/// `key=value` text log a client cannot end the line, start a field of its own, colour or move the
/// terminal, or reorder what follows it on screen. Log handlers that write structured output
/// (`laboratory-server --log-format json`) find the raw text in ``text`` and escape it their own
/// way.
///
/// Client text goes into metadata (``Logging/Logger/MetadataValue/client(_:)``), never into a
/// log message.
package struct ClientText: CustomStringConvertible, Sendable, Equatable {
    /// The longest text kept, in characters; the rest is counted, not logged.
    package static let maximumCharacters = 256

    /// The text as the client sent it, cut to ``maximumCharacters``.
    package let text: String
    /// How many characters were cut off the end.
    package let truncatedCharacters: Int

    package init(_ text: some StringProtocol) {
        let kept = text.prefix(Self.maximumCharacters)
        self.text = String(kept)
        self.truncatedCharacters = kept.endIndex == text.endIndex ? 0 : text[kept.endIndex...].count
    }

    package var description: String {
        var quoted = "\""
        for scalar in text.unicodeScalars { quoted += Self.escaped(scalar) }
        quoted += "\""
        if truncatedCharacters > 0 { quoted += "+\(truncatedCharacters)" }
        return quoted
    }

    /// Whether a log must not show `scalar` as itself: it ends a line, moves or colours a
    /// terminal, changes the direction of what follows, or is invisible.
    package static func isUnsafe(_ scalar: Unicode.Scalar) -> Bool {
        switch scalar.properties.generalCategory {
        case .control, .format, .lineSeparator, .paragraphSeparator, .surrogate, .privateUse, .unassigned: true
        default: false
        }
    }

    private static func escaped(_ scalar: Unicode.Scalar) -> String {
        switch scalar {
        case "\\": return "\\\\"
        case "\"": return "\\\""
        case "\n": return "\\n"
        case "\r": return "\\r"
        case "\t": return "\\t"
        default:
            guard isUnsafe(scalar) else { return String(scalar) }
            return "\\u{\(String(scalar.value, radix: 16, uppercase: true))}"
        }
    }
}

extension Logger.MetadataValue {
    /// Client-chosen text for a log field, quoted and escaped (see ``ClientText``).
    package static func client(_ text: some StringProtocol) -> Self { .stringConvertible(ClientText(text)) }

    /// A value whose description may hold client text (an error, a close reason), quoted and
    /// escaped like client text.
    package static func client(describing value: Any) -> Self {
        .stringConvertible(ClientText(String(describing: value)))
    }
}
