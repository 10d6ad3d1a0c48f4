// The strict JSON check as it was before it stopped allocating (c55dc8e, which built a `String`
// to validate UTF-8 and a `Set` of copied names per object): the harness's reference. The new
// check must accept exactly what this accepts, and refuse the rest for the same reason at the
// same byte (except invalid UTF-8, which this reported at byte 0 and the new check reports
// where it is).

struct ReferenceError: Error, Equatable {
    let reason: String
    let offset: Int

    init(_ reason: String, at offset: Int) {
        self.reason = reason
        self.offset = offset
    }
}

enum ReferenceStrictJSON {
    /// The deepest nesting accepted. Requests defined by the protocol nest at most 2 deep.
    static let maximumDepth = 32

    /// Throws unless `bytes` is one JSON object following the rules above.
    static func validateObject(_ bytes: [UInt8]) throws(ReferenceError) {
        if bytes.starts(with: [0xEF, 0xBB, 0xBF]) { throw ReferenceError("a byte-order mark is not allowed", at: 0) }
        guard String(validating: bytes, as: UTF8.self) != nil else { throw ReferenceError("not UTF-8", at: 0) }
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

        func error(_ reason: String) -> ReferenceError { ReferenceError(reason, at: index) }

        mutating func skipWhitespace() {
            while let byte = peek, byte == 0x20 || byte == 0x09 || byte == 0x0A || byte == 0x0D { index += 1 }
        }

        mutating func expect(_ character: Character) throws(ReferenceError) {
            guard peek == character.asciiValue else { throw error("expected \"\(character)\"") }
            index += 1
        }

        mutating func value(depth: Int) throws(ReferenceError) {
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

        mutating func object(depth: Int) throws(ReferenceError) {
            guard depth <= ReferenceStrictJSON.maximumDepth else {
                throw error("nested deeper than \(ReferenceStrictJSON.maximumDepth)")
            }
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
                    throw ReferenceError(
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

        mutating func array(depth: Int) throws(ReferenceError) {
            guard depth <= ReferenceStrictJSON.maximumDepth else {
                throw error("nested deeper than \(ReferenceStrictJSON.maximumDepth)")
            }
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
        mutating func string() throws(ReferenceError) -> [UInt8] {
            index += 1
            var result: [UInt8] = []
            while true {
                guard let byte = peek else { throw error("unterminated string") }
                index += 1
                switch byte {
                case UInt8(ascii: "\""):
                    return result
                case 0x00..<0x20:
                    throw ReferenceError("unescaped control character in a string", at: index - 1)
                case UInt8(ascii: "\\"):
                    try escape(into: &result)
                default:
                    result.append(byte)
                }
            }
        }

        mutating func escape(into result: inout [UInt8]) throws(ReferenceError) {
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
                throw ReferenceError("invalid escape", at: index - 1)
            }
        }

        mutating func hex4() throws(ReferenceError) -> UInt32 {
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

        mutating func integer() throws(ReferenceError) {
            let start = index
            if peek == UInt8(ascii: "-") { index += 1 }
            guard let first = peek, (UInt8(ascii: "0")...UInt8(ascii: "9")).contains(first) else {
                throw error("not a number")
            }
            index += 1
            if first == UInt8(ascii: "0") {
                if index - start == 2 { throw ReferenceError("-0 is not an integer here", at: start) }
            } else {
                while let byte = peek, (UInt8(ascii: "0")...UInt8(ascii: "9")).contains(byte) { index += 1 }
            }
            if let byte = peek, byte == UInt8(ascii: ".") || byte == UInt8(ascii: "e") || byte == UInt8(ascii: "E") {
                throw ReferenceError("numbers must be integers, with no fraction or exponent", at: start)
            }
            if let byte = peek, (UInt8(ascii: "0")...UInt8(ascii: "9")).contains(byte) {
                throw ReferenceError("leading zero", at: start)
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
                throw ReferenceError("integer beyond a double's range", at: start)
            }
        }

        mutating func literal(_ word: String) throws(ReferenceError) {
            let expected = Array(word.utf8)
            guard bytes[index...].starts(with: expected) else { throw error("not a JSON value") }
            index += expected.count
        }
    }
}
