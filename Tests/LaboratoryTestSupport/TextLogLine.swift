/// One line of swift-log's `StreamLogHandler` text format, split into its metadata fields the way a
/// log reader would: `key=value` pairs separated by single spaces, where a value is either a run
/// of non-space characters or a double-quoted string with backslash escapes (how the server quotes
/// client text), up to the `[source]` or the message.
package struct TextLogLine {
    /// The fields in order, values with their quotes removed and escapes kept as written.
    package let fields: [(key: String, value: String, quoted: Bool)]
    /// What follows the fields: the `[source]` and the message.
    package let rest: Substring

    /// Parses the part of `line` after the first `": "` (the end of `level label:`). Returns nil
    /// when a quoted value does not end.
    package init?(_ line: String) {
        guard let colon = line.range(of: ": ") ?? line.range(of: ":", options: .backwards) else { return nil }
        var rest = line[colon.upperBound...]
        var fields: [(String, String, Bool)] = []
        while let equals = rest.firstIndex(of: "="), let space = rest.firstIndex(of: " ") ?? Optional(rest.endIndex),
            equals < space, !rest.hasPrefix("[")
        {
            let key = String(rest[..<equals])
            var index = rest.index(after: equals)
            var value = ""
            var quoted = false
            if index < rest.endIndex, rest[index] == "\"" {
                quoted = true
                index = rest.index(after: index)
                var closed = false
                while index < rest.endIndex {
                    let character = rest[index]
                    if character == "\\" {
                        let next = rest.index(after: index)
                        guard next < rest.endIndex else { return nil }
                        value.append(character)
                        value.append(rest[next])
                        index = rest.index(after: next)
                        continue
                    }
                    index = rest.index(after: index)
                    if character == "\"" {
                        closed = true
                        break
                    }
                    value.append(character)
                }
                guard closed else { return nil }
                // A truncated value carries its cut count after the closing quote: "…"+12.
                while index < rest.endIndex, rest[index] != " " {
                    value.append(rest[index])
                    index = rest.index(after: index)
                }
            } else {
                let end = rest[index...].firstIndex(of: " ") ?? rest.endIndex
                value = String(rest[index..<end])
                index = end
            }
            fields.append((key, value, quoted))
            rest = rest[index...]
            if rest.hasPrefix(" ") { rest = rest.dropFirst() }
        }
        self.fields = fields
        self.rest = rest
    }

    /// The value of `key`, if the line has that field.
    package subscript(key: String) -> String? { fields.first { $0.key == key }?.value }
}
