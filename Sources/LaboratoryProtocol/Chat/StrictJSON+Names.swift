/// The duplicate-name check of ``StrictJSON``: member names compared by their unescaped value
/// (`"a"` and `"\u0061"` are the same name), in place for a small object.
extension StrictJSON {
    /// The names of one object seen so far, by the offset of each one's opening quote. Up to
    /// ``capacity`` names are compared pairwise where they lie in the body, allocating nothing; the
    /// name after that moves them all into a set of unescaped names.
    struct NameList {
        /// How many names are compared in place. Every chat request has fewer.
        static let capacity = 8

        // A tuple would need unsafe pointers to index; eight fields and a switch need none.
        private var first = 0, second = 0, third = 0, fourth = 0, fifth = 0, sixth = 0, seventh = 0, eighth = 0
        private var count = 0
        private var overflow: Set<[UInt8]>?

        private func start(_ position: Int) -> Int {
            switch position {
            case 0: first
            case 1: second
            case 2: third
            case 3: fourth
            case 4: fifth
            case 5: sixth
            case 6: seventh
            default: eighth
            }
        }

        /// Records the name whose opening quote is at `start` (a string already checked) and
        /// returns whether the object had it already.
        mutating func insert(nameAt start: Int, in bytes: [UInt8]) -> Bool {
            if let inserted = overflow?.insert(StrictJSON.unescapedName(at: start, in: bytes)).inserted {
                return !inserted
            }
            for position in 0..<count where StrictJSON.sameName(at: self.start(position), and: start, in: bytes) {
                return true
            }
            switch count {
            case 0: first = start
            case 1: second = start
            case 2: third = start
            case 3: fourth = start
            case 4: fifth = start
            case 5: sixth = start
            case 6: seventh = start
            case 7: eighth = start
            default:
                // The ninth name: from here on, a set. The names so far are all different.
                var names = Set<[UInt8]>(minimumCapacity: 2 * Self.capacity)
                for position in 0..<count {
                    names.insert(StrictJSON.unescapedName(at: self.start(position), in: bytes))
                }
                names.insert(StrictJSON.unescapedName(at: start, in: bytes))
                overflow = names
            }
            count += 1
            return false
        }
    }

    /// Whether the checked strings whose opening quotes are at `left` and `right` have the same
    /// unescaped value.
    static func sameName(at left: Int, and right: Int, in bytes: [UInt8]) -> Bool {
        var left = UnescapedBytes(bytes: bytes, index: left + 1)
        var right = UnescapedBytes(bytes: bytes, index: right + 1)
        while true {
            let byte = left.next()
            guard byte == right.next() else { return false }
            if byte == nil { return true }
        }
    }

    /// The unescaped UTF-8 bytes of the checked string whose opening quote is at `start`.
    static func unescapedName(at start: Int, in bytes: [UInt8]) -> [UInt8] {
        var name: [UInt8] = []
        var reader = UnescapedBytes(bytes: bytes, index: start + 1)
        while let byte = reader.next() { name.append(byte) }
        return name
    }

    /// The bytes of a string's unescaped value, one at a time, read in place from a string the
    /// scanner has checked (valid escapes, surrogate escapes paired). On anything else it ends
    /// the string rather than trap, so a wrong caller gets a wrong answer, never a crash.
    struct UnescapedBytes {
        let bytes: [UInt8]
        var index: Int
        /// The rest of an escaped scalar's UTF-8 bytes, lowest byte first.
        private var pending: UInt32 = 0
        private var pendingCount = 0

        init(bytes: [UInt8], index: Int) {
            self.bytes = bytes
            self.index = index
        }

        /// The next byte of the value, or `nil` at the closing quote.
        mutating func next() -> UInt8? {
            if pendingCount > 0 {
                let byte = UInt8(truncatingIfNeeded: pending)
                pending >>= 8
                pendingCount -= 1
                return byte
            }
            guard index < bytes.count else { return nil }
            let byte = bytes[index]
            if byte == UInt8(ascii: "\"") { return nil }
            index += 1
            guard byte == UInt8(ascii: "\\") else { return byte }
            guard index < bytes.count else { return nil }
            let escaped = bytes[index]
            index += 1
            switch escaped {
            case UInt8(ascii: "b"): return 0x08
            case UInt8(ascii: "f"): return 0x0C
            case UInt8(ascii: "n"): return 0x0A
            case UInt8(ascii: "r"): return 0x0D
            case UInt8(ascii: "t"): return 0x09
            case UInt8(ascii: "u"): break
            default: return escaped  // `"`, `\`, `/`
            }
            guard var scalar = hex4() else { return nil }
            if (0xD800..<0xDC00).contains(scalar) {
                index += 2  // `\u`
                guard let low = hex4() else { return nil }
                scalar = 0x10000 &+ ((scalar &- 0xD800) << 10) &+ (low &- 0xDC00)
            }
            // UTF-8 of the scalar; the first byte is returned, the others wait in `pending`.
            switch scalar {
            case ..<0x80:
                return UInt8(scalar)
            case ..<0x800:
                pending = 0x80 | scalar & 0x3F
                pendingCount = 1
                return UInt8(0xC0 | scalar >> 6)
            case ..<0x1_0000:
                pending = (0x80 | scalar >> 6 & 0x3F) | (0x80 | scalar & 0x3F) << 8
                pendingCount = 2
                return UInt8(0xE0 | scalar >> 12)
            default:
                pending = (0x80 | scalar >> 12 & 0x3F) | (0x80 | scalar >> 6 & 0x3F) << 8 | (0x80 | scalar & 0x3F) << 16
                pendingCount = 3
                return UInt8(truncatingIfNeeded: 0xF0 | scalar >> 18)
            }
        }

        private mutating func hex4() -> UInt32? {
            guard index + 4 <= bytes.count else { return nil }
            var value: UInt32 = 0
            for offset in 0..<4 {
                guard let digit = StrictJSON.hexDigit(bytes[index + offset]) else { return nil }
                value = value << 4 | UInt32(digit)
            }
            index += 4
            return value
        }
    }
}
