import Foundation
import Logging

/// The log handler of `laboratory-server --log-format json`: writes each log event to standard
/// error as one JSON object on one line: `timestamp` (ISO 8601, UTC), `level`, `label`,
/// `message`, then each metadata field as a key of its own. A metadata key that would replace one of those four is written with a leading `_`.
///
/// Client-chosen text (``ClientText``) is written as the client's text, escaped only as JSON, so
/// it stays inside its string value; control, line separator and format characters (such as
/// bidirectional overrides) are written as `\u` escapes so a terminal showing the log shows them
/// as escapes too.
package struct JSONLogHandler: LogHandler {
    package let label: String
    package var logLevel: Logger.Level = .info
    package var metadata: Logger.Metadata = [:]
    package var metadataProvider: Logger.MetadataProvider?

    package init(label: String, metadataProvider: Logger.MetadataProvider? = nil) {
        self.label = label
        self.metadataProvider = metadataProvider
    }

    package subscript(metadataKey key: String) -> Logger.Metadata.Value? {
        get { metadata[key] }
        set { metadata[key] = newValue }
    }

    private static let reservedKeys: Set<String> = ["timestamp", "level", "label", "message"]
    private static let output = StandardErrorLines()

    package func log(event: LogEvent) {
        var fields = metadata
        if let provided = metadataProvider?.get() { fields.merge(provided) { $1 } }
        if let explicit = event.metadata { fields.merge(explicit) { $1 } }
        Self.output.write(Self.line(level: event.level, label: label, message: "\(event.message)", fields: fields))
    }

    /// One event as a line of JSON, ending in a newline.
    package static func line(
        level: Logger.Level, label: String, message: String, fields: Logger.Metadata, date: Date = Date()
    ) -> String {
        var line = "{\"timestamp\":"
        appendString(date.formatted(Date.ISO8601FormatStyle(includingFractionalSeconds: true)), to: &line)
        line += ",\"level\":"
        appendString(level.rawValue, to: &line)
        line += ",\"label\":"
        appendString(label, to: &line)
        line += ",\"message\":"
        appendString(message, to: &line)
        for (key, value) in fields.sorted(by: { $0.key < $1.key }) {
            line += ","
            appendString(reservedKeys.contains(key) ? "_" + key : key, to: &line)
            line += ":"
            appendValue(value, to: &line)
        }
        line += "}\n"
        return line
    }

    private static func appendValue(_ value: Logger.MetadataValue, to line: inout String) {
        switch value {
        case .string(let text): appendString(text, to: &line)
        case .stringConvertible(let client as ClientText):
            let cut = client.truncatedCharacters
            appendString(cut > 0 ? client.text + "…(+\(cut))" : client.text, to: &line)
        case .stringConvertible(let other): appendString(other.description, to: &line)
        case .array(let values):
            line += "["
            for (index, element) in values.enumerated() {
                if index > 0 { line += "," }
                appendValue(element, to: &line)
            }
            line += "]"
        case .dictionary(let fields):
            line += "{"
            for (index, (key, element)) in fields.sorted(by: { $0.key < $1.key }).enumerated() {
                if index > 0 { line += "," }
                appendString(key, to: &line)
                line += ":"
                appendValue(element, to: &line)
            }
            line += "}"
        }
    }

    /// `text` as a JSON string: quotes, backslashes, and every character a terminal would act on
    /// or hide (``ClientText/isUnsafe(_:)``) escaped.
    private static func appendString(_ text: String, to line: inout String) {
        line += "\""
        for scalar in text.unicodeScalars {
            switch scalar {
            case "\"": line += "\\\""
            case "\\": line += "\\\\"
            case "\n": line += "\\n"
            case "\r": line += "\\r"
            case "\t": line += "\\t"
            default:
                guard ClientText.isUnsafe(scalar) else {
                    line.unicodeScalars.append(scalar)
                    continue
                }
                for unit in String(scalar).utf16 {
                    let hex = String(unit, radix: 16)
                    line += "\\u" + String(repeating: "0", count: 4 - hex.count) + hex
                }
            }
        }
        line += "\""
    }
}

/// Standard error, written one whole line at a time so lines from concurrent loggers never
/// interleave.
private final class StandardErrorLines: Sendable {
    private let lock = NSLock()

    func write(_ line: String) {
        lock.withLock { FileHandle.standardError.write(Data(line.utf8)) }
    }
}
