#include "laboratory/hello.hpp"

#include <cstring>

#include "laboratory/error.hpp"

namespace laboratory {

ServerHello ServerHello::parse(const Bytes& payload) {
    ByteReader r(payload);
    Bytes magic = r.raw(4);
    if (std::memcmp(magic.data(), "LABR", 4) != 0) {
        throw Error(Error::Kind::protocol_violation, "not a Laboratory server (the hello's magic is not LABR)");
    }
    std::uint16_t version = r.u16();
    if (version != 1) {
        throw Error(Error::Kind::protocol_violation,
                    "unsupported protocol version " + std::to_string(version) + " (this client speaks 1)");
    }
    ServerHello hello;
    hello.payload = payload;
    hello.identity_spki = r.raw(r.u16());
    hello.transport_spki = r.raw(r.u16());
    hello.not_before = r.u64();
    hello.not_after = r.u64();
    hello.signature = r.raw(r.u16());
    hello.server_random = r.raw(32);
    r.finish("hello");
    return hello;
}

Bytes ServerHello::certificate_bytes() const {
    return laboratory::certificate_bytes(transport_spki, not_before, not_after);
}

Bytes certificate_bytes(const Bytes& transport_spki, std::uint64_t not_before, std::uint64_t not_after) {
    static const char label[] = "laboratory v1 transport key";
    ByteWriter w;
    w.raw(reinterpret_cast<const std::uint8_t*>(label), sizeof label - 1);
    w.u16(static_cast<std::uint16_t>(transport_spki.size()));
    w.raw(transport_spki);
    w.u64(not_before);
    w.u64(not_after);
    return w.take();
}

}  // namespace laboratory
