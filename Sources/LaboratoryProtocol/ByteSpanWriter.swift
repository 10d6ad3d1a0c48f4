/// Writes the protocol's primitive fields into memory the caller owns (for example the buffer a
/// frame is sent in), byte for byte as ``ByteWriter`` appends them: no array to grow, no copy
/// afterwards. The caller sizes the memory first; writing past its end is a programming error.
package struct ByteSpanWriter: FieldWriter {
    private let output: UnsafeMutableRawBufferPointer
    /// How many bytes have been written.
    package private(set) var count = 0

    /// Starts writing at the beginning of `output`.
    package init(_ output: UnsafeMutableRawBufferPointer) {
        self.output = output
    }

    /// Writes one byte.
    package mutating func write(_ value: UInt8) { store(value) }

    /// Writes a big-endian 16-bit integer.
    package mutating func write(_ value: UInt16) { store(value.bigEndian) }

    /// Writes a big-endian 32-bit integer.
    package mutating func write(_ value: UInt32) { store(value.bigEndian) }

    /// Writes a big-endian 64-bit integer.
    package mutating func write(_ value: UInt64) { store(value.bigEndian) }

    /// Writes a u16 length and the string's UTF-8; the string must be at most 65,535 bytes (the
    /// caller checks, see ``ServerMessage/inPlaceByteCount``).
    package mutating func write(string: String) {
        var string = string
        string.withUTF8 { utf8 in
            precondition(utf8.count <= Int(UInt16.max), "string longer than a u16 length")
            write(UInt16(utf8.count))
            writeRaw(UnsafeRawBufferPointer(utf8))
        }
    }

    /// Writes a u32 length and the bytes.
    package mutating func write(byteString: [UInt8]) {
        precondition(byteString.count <= Int(UInt32.max), "byte string longer than 4 GiB")
        write(UInt32(byteString.count))
        byteString.withUnsafeBytes { writeRaw($0) }
    }

    /// Writes `bytes` with no length (a string already cut to fit its length field).
    package mutating func write(bytes: some Collection<UInt8>) {
        if bytes.withContiguousStorageIfAvailable({ writeRaw(UnsafeRawBufferPointer($0)) }) != nil { return }
        for byte in bytes { store(byte) }
    }

    private mutating func writeRaw(_ bytes: UnsafeRawBufferPointer) {
        precondition(output.count - count >= bytes.count, "ByteSpanWriter: output too small")
        if let source = bytes.baseAddress, bytes.count > 0 {
            (output.baseAddress! + count).copyMemory(from: source, byteCount: bytes.count)
        }
        count += bytes.count
    }

    private mutating func store<T: FixedWidthInteger>(_ value: T) {
        precondition(output.count - count >= MemoryLayout<T>.size, "ByteSpanWriter: output too small")
        output.storeBytes(of: value, toByteOffset: count, as: T.self)
        count += MemoryLayout<T>.size
    }
}
