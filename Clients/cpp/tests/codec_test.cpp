// Strict decoding (PROTOCOL.md §2, §3, §10): what a malformed server message, an oversized frame
// or an odd string does to this client.
#include <gtest/gtest.h>

#include "laboratory/error.hpp"
#include "laboratory/frame.hpp"
#include "laboratory/messages.hpp"

using namespace laboratory;

namespace {
Error::Kind kind_of(const Bytes& payload) {
    try {
        decode_server_message(payload);
    } catch (const Error& error) {
        return error.kind();
    }
    return Error::Kind::closed;  // "no error"
}
}  // namespace

TEST(Codec, MalformedServerMessagesAreViolations) {
    const Error::Kind violation = Error::Kind::protocol_violation;
    EXPECT_EQ(kind_of({}), violation);                      // no type byte
    EXPECT_EQ(kind_of({0x05}), violation);                  // unknown type
    EXPECT_EQ(kind_of({0x91}), violation);                  // a client type
    EXPECT_EQ(kind_of({0x01, 0x00}), violation);            // a trailing byte
    EXPECT_EQ(kind_of({0x13, 0, 0, 0}), violation);         // ping cut short
    EXPECT_EQ(kind_of({0x12, 0, 2, 0xC3, 0x28}), violation);  // invalid UTF-8
    EXPECT_EQ(kind_of({0x12, 0, 3, 0xED, 0xA0, 0x80}), violation);  // an encoded surrogate
    EXPECT_EQ(kind_of({0x12, 0, 2, 0xC0, 0x80}), violation);  // an overlong NUL
    EXPECT_EQ(kind_of({0x17, 0, 1, 'x', 0}), violation);    // attempts_left 0
    Bytes update(34, 0);
    update[0] = 0x16;
    update[33] = 2;
    EXPECT_EQ(kind_of(update), violation);  // request_update must be 0 or 1
    update[33] = 1;
    EXPECT_EQ(kind_of(update), Error::Kind::closed);
    EXPECT_TRUE(std::get<ServerKeyUpdate>(decode_server_message(update)).request_update);
}

TEST(Codec, ClosingRetryMsOnlyOnCode15AndNeverZero) {
    auto closing = [](std::uint16_t code, std::optional<std::uint32_t> retry, bool extra = false) {
        ByteWriter w;
        w.u8(0x04);
        w.u16(code);
        w.string("m");
        if (retry) w.u32(*retry);
        if (extra) w.u8(0);
        return w.take();
    };
    EXPECT_EQ(std::get<Closing>(decode_server_message(closing(15, std::nullopt))).reason.retry_ms, std::nullopt);
    EXPECT_EQ(std::get<Closing>(decode_server_message(closing(15, 1))).reason.retry_ms, 1u);
    EXPECT_EQ(kind_of(closing(15, 0)), Error::Kind::protocol_violation);
    EXPECT_EQ(kind_of(closing(6, 1000)), Error::Kind::protocol_violation);
    EXPECT_EQ(kind_of(closing(15, 1000, true)), Error::Kind::protocol_violation);
    // Codes are an open set.
    EXPECT_EQ(std::get<Closing>(decode_server_message(closing(999, std::nullopt))).reason.code, 999);
    EXPECT_EQ(close_code_name(999), "code 999");
    EXPECT_EQ(close_code_name(6), "wrong password");
}

TEST(Codec, FrameDecoderChecksThePrefixBeforeThePayload) {
    FrameDecoder decoder(16);
    Bytes prefix = {0, 0, 0, 17};
    EXPECT_THROW(decoder.append(prefix.data(), prefix.size()), Error);  // no payload byte needed
    FrameDecoder split(1 << 20);
    Bytes frames = encode_frame(Bytes{1, 2, 3});
    Bytes second = encode_frame({});
    frames.insert(frames.end(), second.begin(), second.end());
    for (std::uint8_t byte : frames) {
        split.append(&byte, 1);  // byte by byte: frames still come out whole
    }
    EXPECT_EQ(split.next(), (Bytes{1, 2, 3}));
    EXPECT_EQ(split.next(), Bytes{});
    EXPECT_FALSE(split.next());
    FrameDecoder huge;
    Bytes max_prefix = {0xFF, 0xFF, 0xFF, 0xFF};
    EXPECT_THROW(huge.append(max_prefix.data(), 4), Error);
}

TEST(Codec, LongStringsAreCutOnACodePointBoundary) {
    std::string text(65534, 'a');
    text += "\xC3\xA9";  // é straddles the limit
    ByteWriter w;
    w.string(text);
    ByteReader r(w.data());
    std::string read = r.string();
    EXPECT_EQ(read.size(), 65534u);
    EXPECT_TRUE(is_valid_utf8(read));
}
