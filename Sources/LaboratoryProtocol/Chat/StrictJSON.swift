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
///   fraction, no exponent, not `-0`, and within a double's range (not rounding to infinity);
/// - no escaped lone surrogate (`\ud800` without its pair) in any string;
/// - at most ``maximumDepth`` nested objects and arrays, the outer object included.
///
/// The check allocates nothing for a conforming body whose objects have at most
/// `StrictJSON.NameList.capacity` members each (every chat request): UTF-8 is validated over the
/// bytes, values are skipped in place, and member names are compared in place, by their
/// unescaped value. A larger object falls back to a set of its unescaped names.
package enum StrictJSON {
    /// The deepest nesting accepted. Requests defined by the protocol nest at most 2 deep.
    package static let maximumDepth = 32

    /// Throws unless `bytes` is one JSON object following the rules above.
    package static func validateObject(_ bytes: [UInt8]) throws(StrictJSONError) {
        if bytes.count >= 3, bytes[0] == 0xEF, bytes[1] == 0xBB, bytes[2] == 0xBF {
            throw StrictJSONError("a byte-order mark is not allowed", at: 0)
        }
        if let offset = firstInvalidUTF8(in: bytes) { throw StrictJSONError("not UTF-8", at: offset) }
        var scanner = Scanner(bytes: bytes)
        scanner.skipWhitespace()
        guard scanner.peek == UInt8(ascii: "{") else { throw scanner.error("the body must be one JSON object") }
        try scanner.value(depth: 1)
        scanner.skipWhitespace()
        guard scanner.index == bytes.count else { throw scanner.error("bytes after the JSON object") }
    }

    /// Reads the body (known to be valid UTF-8) from left to right, keeping nothing but its place.
    struct Scanner {
        let bytes: [UInt8]
        var index = 0

        init(bytes: [UInt8]) { self.bytes = bytes }

        var peek: UInt8? { index < bytes.count ? bytes[index] : nil }

        func error(_ reason: String) -> StrictJSONError { StrictJSONError(reason, at: index) }

        mutating func skipWhitespace() {
            while index < bytes.count {
                switch bytes[index] {
                case 0x20, 0x09, 0x0A, 0x0D: index += 1
                default: return
                }
            }
        }

        mutating func expect(_ byte: UInt8) throws(StrictJSONError) {
            guard peek == byte else { throw error("expected \"\(Character(Unicode.Scalar(byte)))\"") }
            index += 1
        }

        mutating func value(depth: Int) throws(StrictJSONError) {
            skipWhitespace()
            guard let byte = peek else { throw error("unexpected end") }
            switch byte {
            case UInt8(ascii: "{"): try object(depth: depth)
            case UInt8(ascii: "["): try array(depth: depth)
            case UInt8(ascii: "\""): try string()
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
            var names = NameList()
            skipWhitespace()
            if peek == UInt8(ascii: "}") {
                index += 1
                return
            }
            while true {
                skipWhitespace()
                let start = index
                guard peek == UInt8(ascii: "\"") else { throw error("expected a member name") }
                try string()
                if names.insert(nameAt: start, in: bytes) {
                    let name = String(decoding: StrictJSON.unescapedName(at: start, in: bytes), as: UTF8.self)
                    throw StrictJSONError("duplicate key \"\(name.prefix(64))\"", at: start)
                }
                skipWhitespace()
                try expect(UInt8(ascii: ":"))
                try value(depth: depth + 1)
                skipWhitespace()
                if peek == UInt8(ascii: ",") {
                    index += 1
                    continue
                }
                try expect(UInt8(ascii: "}"))
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
                try expect(UInt8(ascii: "]"))
                return
            }
        }

        /// Checks a string (its control characters and escapes) and moves past it, copying nothing.
        mutating func string() throws(StrictJSONError) {
            index += 1
            while true {
                guard index < bytes.count else { throw error("unterminated string") }
                let byte = bytes[index]
                index += 1
                switch byte {
                case UInt8(ascii: "\""):
                    return
                case 0x00..<0x20:
                    throw StrictJSONError("unescaped control character in a string", at: index - 1)
                case UInt8(ascii: "\\"):
                    try escape()
                default:
                    continue
                }
            }
        }

        mutating func escape() throws(StrictJSONError) {
            guard let byte = peek else { throw error("unterminated string") }
            index += 1
            switch byte {
            case UInt8(ascii: "\""), UInt8(ascii: "\\"), UInt8(ascii: "/"), UInt8(ascii: "b"), UInt8(ascii: "f"),
                UInt8(ascii: "n"), UInt8(ascii: "r"), UInt8(ascii: "t"):
                return
            case UInt8(ascii: "u"):
                let scalar = try hex4()
                if (0xD800..<0xDC00).contains(scalar) {
                    guard peek == UInt8(ascii: "\\"), index + 1 < bytes.count, bytes[index + 1] == UInt8(ascii: "u")
                    else { throw error("lone surrogate escape") }
                    index += 2
                    let low = try hex4()
                    guard (0xDC00..<0xE000).contains(low) else { throw error("lone surrogate escape") }
                } else if (0xDC00..<0xE000).contains(scalar) {
                    throw error("lone surrogate escape")
                }
            default:
                throw StrictJSONError("invalid escape", at: index - 1)
            }
        }

        mutating func hex4() throws(StrictJSONError) -> UInt32 {
            guard index + 4 <= bytes.count else { throw error("short \\u escape") }
            var value: UInt32 = 0
            for offset in 0..<4 {
                guard let digit = StrictJSON.hexDigit(bytes[index + offset]) else { throw error("bad \\u escape") }
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
            // Within a double's range, as RFC 8259 §6 advises for interoperability (Foundation's
            // parsers refuse a number that rounds to infinity): every integer of up to 308 digits
            // is, none of 310 or more is (10^309 is beyond it), and one of 309 digits is parsed to
            // see, so a long run of digits costs no conversion.
            let digits = index - start - (bytes[start] == UInt8(ascii: "-") ? 1 : 0)
            if digits > 309
                || (digits == 309
                    && !(Double(String(decoding: bytes[start..<index], as: UTF8.self))?.isFinite ?? false))
            {
                throw StrictJSONError("integer beyond a double's range", at: start)
            }
        }

        mutating func literal(_ word: StaticString) throws(StrictJSONError) {
            let matches = word.withUTF8Buffer { expected in
                guard index + expected.count <= bytes.count else { return false }
                for offset in 0..<expected.count where bytes[index + offset] != expected[offset] { return false }
                return true
            }
            guard matches else { throw error("not a JSON value") }
            index += word.utf8CodeUnitCount
        }
    }

    /// The value of an ASCII hexadecimal digit, or `nil`.
    static func hexDigit(_ byte: UInt8) -> UInt8? {
        switch byte {
        case UInt8(ascii: "0")...UInt8(ascii: "9"): byte - UInt8(ascii: "0")
        case UInt8(ascii: "a")...UInt8(ascii: "f"): byte - UInt8(ascii: "a") + 10
        case UInt8(ascii: "A")...UInt8(ascii: "F"): byte - UInt8(ascii: "A") + 10
        default: nil
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
