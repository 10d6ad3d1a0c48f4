import Foundation

/// The protocol's strict JSON rules for request bodies (PROTOCOL.md §17, "JSON"), checked on the
/// raw bytes before any decoding, because a general-purpose decoder quietly accepts what these
/// rules forbid (a byte-order mark, duplicate keys with the last one winning, `1.0` where an
/// integer is expected).
///
/// A body conforms if it is exactly one RFC 8259 JSON object in UTF-8 with:
/// - no byte-order mark, and nothing but whitespace around the object;
/// - no member name twice in any object (names compared after unescaping);
/// - every number an integer: an optional `-`, then `0` or a digit 1–9 followed by digits; no
///   fraction, no exponent, and not `-0`;
/// - no escaped lone surrogate (`\ud800` without its pair) in any string;
/// - at most ``maximumDepth`` nested objects and arrays, the outer object included.
package enum StrictJSON {
    /// The deepest nesting accepted. Requests defined by the protocol nest at most 2 deep.
    package static let maximumDepth = 32

    /// Throws unless `bytes` is one JSON object following the rules above.
    package static func validateObject(_ bytes: [UInt8]) throws(StrictJSONError) {
        if bytes.starts(with: [0xEF, 0xBB, 0xBF]) { throw StrictJSONError("a byte-order mark is not allowed", at: 0) }
        guard String(validating: bytes, as: UTF8.self) != nil else { throw StrictJSONError("not UTF-8", at: 0) }
        var scanner = Scanner(bytes: bytes)
        scanner.skipWhitespace()
        guard scanner.peek == UInt8(ascii: "{") else { throw scanner.error("the body must be one JSON object") }
        try scanner.value(depth: 1)
        scanner.skipWhitespace()
        guard scanner.index == bytes.count else { throw scanner.error("bytes after the JSON object") }
    }

    private struct Scanner {
        let bytes: [UInt8]
        var index = 0

        init(bytes: [UInt8]) { self.bytes = bytes }

        var peek: UInt8? { index < bytes.count ? bytes[index] : nil }

        func error(_ reason: String) -> StrictJSONError { StrictJSONError(reason, at: index) }

        mutating func skipWhitespace() {
            while let byte = peek, byte == 0x20 || byte == 0x09 || byte == 0x0A || byte == 0x0D { index += 1 }
        }

        mutating func expect(_ character: Character) throws(StrictJSONError) {
            guard peek == character.asciiValue else { throw error("expected \"\(character)\"") }
            index += 1
        }

        mutating func value(depth: Int) throws(StrictJSONError) {
            skipWhitespace()
            guard let byte = peek else { throw error("unexpected end") }
            switch byte {
            case UInt8(ascii: "{"): try object(depth: depth)
            case UInt8(ascii: "["): try array(depth: depth)
            case UInt8(ascii: "\""): _ = try string()
            case UInt8(ascii: "-"), UInt8(ascii: "0")...UInt8(ascii: "9"): try integer()
            case UInt8(ascii: "t"): try literal("true")
            case UInt8(ascii: "f"): try literal("false")
            case UInt8(ascii: "n"): try literal("null")
            default: throw error("not a JSON value")
            }
        }

        mutating func object(depth: Int) throws(StrictJSONError) {
            guard depth <= StrictJSON.maximumDepth else { throw error("nested deeper than \(StrictJSON.maximumDepth)") }
            index += 1
            var names = Set<[UInt8]>()
            skipWhitespace()
            if peek == UInt8(ascii: "}") {
                index += 1
                return
            }
            while true {
                skipWhitespace()
                let start = index
                guard peek == UInt8(ascii: "\"") else { throw error("expected a member name") }
                let name = try string()
                guard names.insert(name).inserted else {
                    throw StrictJSONError(
                        "duplicate key \"\(String(decoding: name, as: UTF8.self).prefix(64))\"", at: start)
                }
                skipWhitespace()
                try expect(":")
                try value(depth: depth + 1)
                skipWhitespace()
                if peek == UInt8(ascii: ",") {
                    index += 1
                    continue
                }
                try expect("}")
                return
            }
        }

        mutating func array(depth: Int) throws(StrictJSONError) {
            guard depth <= StrictJSON.maximumDepth else { throw error("nested deeper than \(StrictJSON.maximumDepth)") }
            index += 1
            skipWhitespace()
            if peek == UInt8(ascii: "]") {
                index += 1
                return
            }
            while true {
                try value(depth: depth + 1)
                skipWhitespace()
                if peek == UInt8(ascii: ",") {
                    index += 1
                    continue
                }
                try expect("]")
                return
            }
        }

        /// Reads a string and returns its unescaped UTF-8 bytes.
        mutating func string() throws(StrictJSONError) -> [UInt8] {
            index += 1
            var result: [UInt8] = []
            while true {
                guard let byte = peek else { throw error("unterminated string") }
                index += 1
                switch byte {
                case UInt8(ascii: "\""):
                    return result
                case 0x00..<0x20:
                    throw StrictJSONError("unescaped control character in a string", at: index - 1)
                case UInt8(ascii: "\\"):
                    try escape(into: &result)
                default:
                    result.append(byte)
                }
            }
        }

        mutating func escape(into result: inout [UInt8]) throws(StrictJSONError) {
            guard let byte = peek else { throw error("unterminated string") }
            index += 1
            switch byte {
            case UInt8(ascii: "\""), UInt8(ascii: "\\"), UInt8(ascii: "/"): result.append(byte)
            case UInt8(ascii: "b"): result.append(0x08)
            case UInt8(ascii: "f"): result.append(0x0C)
            case UInt8(ascii: "n"): result.append(0x0A)
            case UInt8(ascii: "r"): result.append(0x0D)
            case UInt8(ascii: "t"): result.append(0x09)
            case UInt8(ascii: "u"):
                var scalar = try hex4()
                if (0xD800..<0xDC00).contains(scalar) {
                    guard peek == UInt8(ascii: "\\"), index + 1 < bytes.count, bytes[index + 1] == UInt8(ascii: "u")
                    else { throw error("lone surrogate escape") }
                    index += 2
                    let low = try hex4()
                    guard (0xDC00..<0xE000).contains(low) else { throw error("lone surrogate escape") }
                    scalar = 0x10000 + ((scalar - 0xD800) << 10) + (low - 0xDC00)
                } else if (0xDC00..<0xE000).contains(scalar) {
                    throw error("lone surrogate escape")
                }
                // Every value left is a valid scalar: surrogates were paired or refused above.
                result += Array(String(Unicode.Scalar(scalar)!).utf8)
            default:
                throw StrictJSONError("invalid escape", at: index - 1)
            }
        }

        mutating func hex4() throws(StrictJSONError) -> UInt32 {
            guard index + 4 <= bytes.count else { throw error("short \\u escape") }
            var value: UInt32 = 0
            for byte in bytes[index..<index + 4] {
                let digit: UInt8
                switch byte {
                case UInt8(ascii: "0")...UInt8(ascii: "9"): digit = byte - UInt8(ascii: "0")
                case UInt8(ascii: "a")...UInt8(ascii: "f"): digit = byte - UInt8(ascii: "a") + 10
                case UInt8(ascii: "A")...UInt8(ascii: "F"): digit = byte - UInt8(ascii: "A") + 10
                default: throw error("bad \\u escape")
                }
                value = value << 4 | UInt32(digit)
            }
            index += 4
            return value
        }

        mutating func integer() throws(StrictJSONError) {
            let start = index
            if peek == UInt8(ascii: "-") { index += 1 }
            guard let first = peek, (UInt8(ascii: "0")...UInt8(ascii: "9")).contains(first) else {
                throw error("not a number")
            }
            index += 1
            if first == UInt8(ascii: "0") {
                if index - start == 2 { throw StrictJSONError("-0 is not an integer here", at: start) }
            } else {
                while let byte = peek, (UInt8(ascii: "0")...UInt8(ascii: "9")).contains(byte) { index += 1 }
            }
            if let byte = peek, byte == UInt8(ascii: ".") || byte == UInt8(ascii: "e") || byte == UInt8(ascii: "E") {
                throw StrictJSONError("numbers must be integers, with no fraction or exponent", at: start)
            }
            if let byte = peek, (UInt8(ascii: "0")...UInt8(ascii: "9")).contains(byte) {
                throw StrictJSONError("leading zero", at: start)
            }
        }

        mutating func literal(_ word: String) throws(StrictJSONError) {
            let expected = Array(word.utf8)
            guard bytes[index...].starts(with: expected) else { throw error("not a JSON value") }
            index += expected.count
        }
    }
}

/// Why a body breaks the strict JSON rules (see ``StrictJSON``), and at which byte.
package struct StrictJSONError: Error, Hashable, Sendable, CustomStringConvertible {
    /// What is wrong.
    package let reason: String
    /// The byte offset in the body where it was found.
    package let offset: Int

    init(_ reason: String, at offset: Int) {
        self.reason = reason
        self.offset = offset
    }

    package var description: String { "\(reason) (at byte \(offset))" }
}

extension ChatRequest {
    /// Decodes a chat request body, first checking it against the strict JSON rules
    /// (``StrictJSON``): this is how the server reads every chat request.
    package init(strictJSON body: [UInt8]) throws {
        try StrictJSON.validateObject(body)
        self = try JSONDecoder().decode(ChatRequest.self, from: Data(body))
    }
}
