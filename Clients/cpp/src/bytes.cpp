#include "laboratory/bytes.hpp"

#include <stdexcept>

#include "laboratory/error.hpp"

namespace laboratory {

void ByteWriter::u8(std::uint8_t value) { buffer_.push_back(value); }

void ByteWriter::u16(std::uint16_t value) {
    buffer_.push_back(static_cast<std::uint8_t>(value >> 8));
    buffer_.push_back(static_cast<std::uint8_t>(value));
}

void ByteWriter::u32(std::uint32_t value) {
    for (int shift = 24; shift >= 0; shift -= 8) buffer_.push_back(static_cast<std::uint8_t>(value >> shift));
}

void ByteWriter::u64(std::uint64_t value) {
    for (int shift = 56; shift >= 0; shift -= 8) buffer_.push_back(static_cast<std::uint8_t>(value >> shift));
}

void ByteWriter::string(std::string_view text) {
    std::size_t count = text.size();
    if (count > 0xFFFF) {
        count = 0xFFFF;
        // Back up over continuation bytes (10xxxxxx) so the cut ends on a code point boundary.
        while (count > 0 && (static_cast<unsigned char>(text[count]) & 0xC0) == 0x80) --count;
    }
    u16(static_cast<std::uint16_t>(count));
    raw(reinterpret_cast<const std::uint8_t*>(text.data()), count);
}

void ByteWriter::bytes(const Bytes& value) {
    if (value.size() > 0xFFFFFFFFu) throw Error(Error::Kind::invalid_argument, "a bytes field over 4 GiB");
    u32(static_cast<std::uint32_t>(value.size()));
    raw(value);
}

void ByteWriter::raw(const std::uint8_t* data, std::size_t count) {
    if (count > 0) buffer_.insert(buffer_.end(), data, data + count);
}

const std::uint8_t* ByteReader::take(std::size_t count) {
    if (count > count_ - offset_) throw Error(Error::Kind::protocol_violation, "a field runs past the end of the message");
    const std::uint8_t* start = data_ + offset_;
    offset_ += count;
    return start;
}

std::uint8_t ByteReader::u8() { return *take(1); }

std::uint16_t ByteReader::u16() {
    const std::uint8_t* p = take(2);
    return static_cast<std::uint16_t>((p[0] << 8) | p[1]);
}

std::uint32_t ByteReader::u32() {
    const std::uint8_t* p = take(4);
    return (std::uint32_t{p[0]} << 24) | (std::uint32_t{p[1]} << 16) | (std::uint32_t{p[2]} << 8) | p[3];
}

std::uint64_t ByteReader::u64() {
    const std::uint8_t* p = take(8);
    std::uint64_t value = 0;
    for (int i = 0; i < 8; ++i) value = (value << 8) | p[i];
    return value;
}

std::string ByteReader::string() {
    std::uint16_t count = u16();
    const std::uint8_t* p = take(count);
    std::string text(reinterpret_cast<const char*>(p), count);
    if (!is_valid_utf8(text)) throw Error(Error::Kind::protocol_violation, "a string field is not valid UTF-8");
    return text;
}

Bytes ByteReader::bytes() { return raw(u32()); }

Bytes ByteReader::raw(std::size_t count) {
    const std::uint8_t* p = take(count);
    return Bytes(p, p + count);
}

void ByteReader::finish(const char* what) const {
    if (offset_ != count_) {
        throw Error(Error::Kind::protocol_violation,
                    std::string(what) + ": " + std::to_string(count_ - offset_) + " bytes after the last field");
    }
}

bool is_valid_utf8(std::string_view text) {
    std::size_t i = 0;
    while (i < text.size()) {
        unsigned char c = static_cast<unsigned char>(text[i]);
        std::size_t length;
        std::uint32_t min;
        std::uint32_t code;
        if (c < 0x80) {
            ++i;
            continue;
        } else if ((c & 0xE0) == 0xC0) {
            length = 2, min = 0x80, code = c & 0x1F;
        } else if ((c & 0xF0) == 0xE0) {
            length = 3, min = 0x800, code = c & 0x0F;
        } else if ((c & 0xF8) == 0xF0) {
            length = 4, min = 0x10000, code = c & 0x07;
        } else {
            return false;
        }
        if (i + length > text.size()) return false;
        for (std::size_t k = 1; k < length; ++k) {
            unsigned char next = static_cast<unsigned char>(text[i + k]);
            if ((next & 0xC0) != 0x80) return false;
            code = (code << 6) | (next & 0x3F);
        }
        if (code < min || code > 0x10FFFF || (code >= 0xD800 && code <= 0xDFFF)) return false;
        i += length;
    }
    return true;
}

std::string to_hex(const Bytes& value) {
    static const char digits[] = "0123456789abcdef";
    std::string text;
    text.reserve(value.size() * 2);
    for (std::uint8_t byte : value) {
        text.push_back(digits[byte >> 4]);
        text.push_back(digits[byte & 15]);
    }
    return text;
}

Bytes from_hex(std::string_view text) {
    auto digit = [](char c) -> int {
        if (c >= '0' && c <= '9') return c - '0';
        if (c >= 'a' && c <= 'f') return c - 'a' + 10;
        if (c >= 'A' && c <= 'F') return c - 'A' + 10;
        throw std::invalid_argument("not a hex digit");
    };
    if (text.size() % 2 != 0) throw std::invalid_argument("odd number of hex digits");
    Bytes value;
    value.reserve(text.size() / 2);
    for (std::size_t i = 0; i < text.size(); i += 2) {
        value.push_back(static_cast<std::uint8_t>(digit(text[i]) * 16 + digit(text[i + 1])));
    }
    return value;
}

}  // namespace laboratory
