/// Reads the protocol's primitive fields from bytes: big-endian integers, length-prefixed UTF-8
/// strings (u16 length) and byte strings (u32 length). Every read is bounds-checked.
///
/// Generic over where the bytes lie: a decoded message's array (`[UInt8]`), or an opened frame
/// read in place (`UnsafeRawBufferPointer`, as ``RequestHead`` and ``ResponseHead`` read it).
/// Specialized for each, so neither pays for the other.
package struct ByteReader<Bytes: RandomAccessCollection<UInt8>> where Bytes.Index == Int {
    private let bytes: Bytes
    private var index: Int

    /// Starts reading at the beginning of `bytes`.
    package init(_ bytes: Bytes) {
        self.bytes = bytes
        self.index = bytes.startIndex
    }

    /// How many bytes remain unread.
    package var remaining: Int { bytes.endIndex - index }

    /// Reads one byte.
    package mutating func readUInt8(_ field: String) throws -> UInt8 {
        UInt8(try readInteger(byteCount: 1, field))
    }

    /// Reads a big-endian 16-bit integer.
    package mutating func readUInt16(_ field: String) throws -> UInt16 {
        UInt16(try readInteger(byteCount: 2, field))
    }

    /// Reads a big-endian 32-bit integer.
    package mutating func readUInt32(_ field: String) throws -> UInt32 {
        UInt32(try readInteger(byteCount: 4, field))
    }

    /// Reads a big-endian 64-bit integer.
    package mutating func readUInt64(_ field: String) throws -> UInt64 {
        try readInteger(byteCount: 8, field)
    }

    /// Reads exactly `count` bytes.
    package mutating func readBytes(count: Int, _ field: String) throws -> [UInt8] {
        let range = try take(count, field)
        return Array(bytes[range])
    }

    /// Reads a u16 length and that many bytes of UTF-8.
    package mutating func readString(_ field: String) throws -> String {
        let length = Int(try readInteger(byteCount: 2, "\(field) length"))
        let range = try take(length, field)
        // Validates straight from the payload, without copying the bytes into an array first. ASCII
        // (service names, most text) is valid UTF-8 as it stands and takes the direct path;
        // `String(validating:as:)` is generic and cost about 1,100 instructions for "echo".
        let text =
            bytes.withContiguousStorageIfAvailable { buffer -> String? in
                let start = range.lowerBound - bytes.startIndex
                let field = UnsafeBufferPointer(rebasing: buffer[start..<start + range.count])
                if field.allSatisfy({ $0 < 0x80 }) { return String(decoding: field, as: UTF8.self) }
                return String(validating: field, as: UTF8.self)
            } ?? String(validating: bytes[range], as: UTF8.self)
        guard let text else {
            throw ProtocolError.malformed("\(field) is not valid UTF-8")
        }
        return text
    }

    /// Reads a u32 length and that many bytes.
    package mutating func readByteString(_ field: String) throws -> [UInt8] {
        let length = Int(try readInteger(byteCount: 4, "\(field) length"))
        return try readBytes(count: length, field)
    }

    /// Reads a u32 length and claims that many bytes without copying them; returns where they lie
    /// in the bytes read (for a body that stays where it lies).
    package mutating func readByteStringRange(_ field: String) throws -> Range<Int> {
        let length = Int(try readInteger(byteCount: 4, "\(field) length"))
        return try take(length, field)
    }

    /// Throws unless every byte has been read. The message is only formatted when it throws.
    package func expectEnd(_ message: @autoclosure () -> String) throws {
        guard remaining == 0 else {
            throw ProtocolError.malformed("\(message()) has \(remaining) unexpected trailing bytes")
        }
    }

    /// Claims the next `count` bytes and returns their range. The field name is only formatted
    /// when the read fails, so the happy path builds no strings.
    private mutating func take(_ count: Int, _ field: @autoclosure () -> String) throws -> Range<Int> {
        guard count >= 0, remaining >= count else {
            throw ProtocolError.malformed("\(field()) needs \(count) bytes but only \(remaining) remain")
        }
        defer { index += count }
        return index..<index + count
    }

    /// Reads a big-endian integer in place: no intermediate array per field.
    private mutating func readInteger(byteCount: Int, _ field: @autoclosure () -> String) throws -> UInt64 {
        let range = try take(byteCount, field())
        var value: UInt64 = 0
        for position in range { value = value << 8 | UInt64(bytes[position]) }
        return value
    }
}

/// What a message's encoding writes, whichever writer it goes to: ``ByteWriter`` (an array) or
/// ``ByteSpanWriter`` (memory the caller sized, a frame's buffer). A message whose layout is
/// written once, generically, writes the same bytes to both (each specialized, neither slower).
package protocol FieldWriter {
    /// Writes one byte.
    mutating func write(_ value: UInt8)
    /// Writes a big-endian 16-bit integer.
    mutating func write(_ value: UInt16)
    /// Writes a big-endian 32-bit integer.
    mutating func write(_ value: UInt32)
    /// Writes a big-endian 64-bit integer.
    mutating func write(_ value: UInt64)
    /// Writes a u16 length and the string's UTF-8.
    mutating func write(string: String)
    /// Writes a u32 length and the bytes.
    mutating func write(byteString: [UInt8])
}

/// Writes the protocol's primitive fields; the counterpart of ``ByteReader``.
package struct ByteWriter: FieldWriter {
    /// The bytes written so far.
    package private(set) var bytes: [UInt8]

    /// Starts an empty buffer, reserving `capacity` bytes.
    package init(capacity: Int = 64) {
        bytes = []
        bytes.reserveCapacity(capacity)
    }

    /// Appends one byte.
    package mutating func write(_ value: UInt8) { bytes.append(value) }

    /// Appends a big-endian 16-bit integer.
    package mutating func write(_ value: UInt16) { writeInteger(UInt64(value), byteCount: 2) }

    /// Appends a big-endian 32-bit integer.
    package mutating func write(_ value: UInt32) { writeInteger(UInt64(value), byteCount: 4) }

    /// Appends a big-endian 64-bit integer.
    package mutating func write(_ value: UInt64) { writeInteger(value, byteCount: 8) }

    /// Appends raw bytes with no length.
    package mutating func write(raw: [UInt8]) { bytes.append(contentsOf: raw) }

    /// Appends a u16 length and the string's UTF-8. A string longer than 65,535 bytes is cut at
    /// the last whole character that fits (strings that must not be cut, such as names, are
    /// validated far shorter before they get here), so no peer-supplied text can stop the writer.
    package mutating func write(string: String) {
        let count = string.utf8.count
        if count <= Int(UInt16.max) {
            // The common case appends the UTF-8 view directly, without an intermediate array.
            write(UInt16(count))
            bytes.append(contentsOf: string.utf8)
            return
        }
        var utf8 = Array(string.utf8)
        if utf8.count > Int(UInt16.max) {
            var end = Int(UInt16.max)
            // Back up over UTF-8 continuation bytes (10xxxxxx) to a character boundary.
            while end > 0, utf8[end] & 0xC0 == 0x80 { end -= 1 }
            utf8.removeSubrange(end...)
        }
        write(UInt16(utf8.count))
        bytes.append(contentsOf: utf8)
    }

    /// Appends a u32 length and the bytes.
    package mutating func write(byteString: [UInt8]) {
        precondition(byteString.count <= Int(UInt32.max), "byte string longer than 4 GiB")
        write(UInt32(byteString.count))
        bytes.append(contentsOf: byteString)
    }

    private mutating func writeInteger(_ value: UInt64, byteCount: Int) {
        for shift in stride(from: (byteCount - 1) * 8, through: 0, by: -8) {
            bytes.append(UInt8(truncatingIfNeeded: value >> UInt64(shift)))
        }
    }
}
