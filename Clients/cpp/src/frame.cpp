#include "laboratory/frame.hpp"

#include "laboratory/error.hpp"

namespace laboratory {

Bytes encode_frame(const Bytes& payload) {
    ByteWriter w;
    w.bytes(payload);
    return w.take();
}

void FrameDecoder::append(const std::uint8_t* data, std::size_t count) {
    if (start_ > 0 && start_ == buffer_.size()) {
        buffer_.clear();
        start_ = 0;
    }
    buffer_.insert(buffer_.end(), data, data + count);
    // Check a prefix that has just become complete before holding on to more of the payload.
    if (buffered() >= 4) {
        ByteReader r(buffer_.data() + start_, 4);
        std::uint32_t length = r.u32();
        if (length > max_payload_) {
            throw Error(Error::Kind::protocol_violation, "the server announced a frame of " + std::to_string(length) +
                                                             " bytes, over the maximum of " +
                                                             std::to_string(max_payload_));
        }
    }
}

std::optional<Bytes> FrameDecoder::next() {
    if (buffered() < 4) return std::nullopt;
    ByteReader r(buffer_.data() + start_, 4);
    std::uint32_t length = r.u32();
    if (length > max_payload_) {
        throw Error(Error::Kind::protocol_violation, "a frame over the maximum payload size");
    }
    if (buffered() - 4 < length) return std::nullopt;
    auto begin = buffer_.begin() + static_cast<std::ptrdiff_t>(start_ + 4);
    Bytes payload(begin, begin + length);
    start_ += 4 + length;
    if (start_ > 65536 && start_ * 2 > buffer_.size()) {
        buffer_.erase(buffer_.begin(), buffer_.begin() + static_cast<std::ptrdiff_t>(start_));
        start_ = 0;
    }
    return payload;
}

}  // namespace laboratory
