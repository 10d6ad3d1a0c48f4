/// The UTF-8 check of ``StrictJSON``, over the bytes, allocating nothing.
extension StrictJSON {
    /// The offset of the first byte that does not start a well-formed UTF-8 sequence (Unicode
    /// Table 3-7: no overlong forms, no surrogates U+D800–U+DFFF, nothing above U+10FFFF, no
    /// sequence cut short by the end), or `nil` if `bytes` is all valid UTF-8.
    package static func firstInvalidUTF8(in bytes: [UInt8]) -> Int? {
        let count = bytes.count
        var index = 0
        while true {
            index = asciiRunEnd(in: bytes, from: index)
            guard index < count else { return nil }
            let lead = bytes[index]
            if lead < 0x80 {
                index += 1
                continue
            }
            // The sequence's length and the range of its second byte; later bytes are 80–BF.
            let length: Int
            var low: UInt8 = 0x80
            var high: UInt8 = 0xBF
            switch lead {
            case 0xC2...0xDF: length = 2
            case 0xE0: (length, low) = (3, 0xA0)  // below: overlong
            case 0xE1...0xEC, 0xEE...0xEF: length = 3
            case 0xED: (length, high) = (3, 0x9F)  // above: surrogates
            case 0xF0: (length, low) = (4, 0x90)  // below: overlong
            case 0xF1...0xF3: length = 4
            case 0xF4: (length, high) = (4, 0x8F)  // above: beyond U+10FFFF
            default: return index  // a continuation byte, C0/C1 (overlong), F5–FF
            }
            guard length <= count - index else { return index }
            guard (low...high).contains(bytes[index + 1]) else { return index }
            for offset in 2..<length where bytes[index + offset] & 0xC0 != 0x80 { return index }
            index += length
        }
    }

    /// The first offset from `start` on that is not ASCII (or `bytes.count`), eight bytes at a time.
    private static func asciiRunEnd(in bytes: [UInt8], from start: Int) -> Int {
        var index = start
        bytes.withUnsafeBytes { raw in
            while raw.count - index >= 8,
                raw.loadUnaligned(fromByteOffset: index, as: UInt64.self) & 0x8080_8080_8080_8080 == 0
            {
                index += 8
            }
        }
        while index < bytes.count, bytes[index] < 0x80 { index += 1 }
        return index
    }
}
