// Big-endian encoding and strict decoding of the protocol's field types (PROTOCOL.md §2).
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace laboratory {

/// A byte string.
using Bytes = std::vector<std::uint8_t>;

/// Appends the protocol's field types to a byte string.
class ByteWriter {
public:
    void u8(std::uint8_t value);
    void u16(std::uint16_t value);
    void u32(std::uint32_t value);
    void u64(std::uint64_t value);
    /// A `string`: u16 length, then UTF-8. Longer text is cut to its longest prefix of at most
    /// 65,535 bytes that ends on a code point boundary (§2, *Long text*).
    void string(std::string_view text);
    /// A `bytes`: u32 length, then the bytes.
    void bytes(const Bytes& value);
    /// Raw bytes, no length.
    void raw(const std::uint8_t* data, std::size_t count);
    void raw(const Bytes& value) { raw(value.data(), value.size()); }

    const Bytes& data() const { return buffer_; }
    Bytes take() { return std::move(buffer_); }

private:
    Bytes buffer_;
};

/// Reads fields from a payload; every read past the end, and invalid UTF-8 in a `string`, throws
/// `laboratory::Error` of kind `protocol_violation`.
class ByteReader {
public:
    ByteReader(const std::uint8_t* data, std::size_t count) : data_(data), count_(count) {}
    explicit ByteReader(const Bytes& value) : ByteReader(value.data(), value.size()) {}

    std::uint8_t u8();
    std::uint16_t u16();
    std::uint32_t u32();
    std::uint64_t u64();
    std::string string();
    Bytes bytes();
    Bytes raw(std::size_t count);

    std::size_t remaining() const { return count_ - offset_; }
    /// Throws unless every byte was read (§2: trailing bytes make a message malformed).
    void finish(const char* what) const;

private:
    const std::uint8_t* take(std::size_t count);
    const std::uint8_t* data_;
    std::size_t count_;
    std::size_t offset_ = 0;
};

/// Whether `text` is well-formed UTF-8 (no overlongs, no surrogates, at most U+10FFFF).
bool is_valid_utf8(std::string_view text);

/// Lower-case hexadecimal.
std::string to_hex(const Bytes& value);
/// Parses hexadecimal (either case, even length); throws `std::invalid_argument` otherwise.
Bytes from_hex(std::string_view text);

}  // namespace laboratory
