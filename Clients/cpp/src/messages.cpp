#include "laboratory/messages.hpp"

#include <algorithm>

#include "laboratory/error.hpp"

namespace laboratory {

std::string close_code_name(std::uint16_t code) {
    switch (code) {
        case close_code::normal: return "normal";
        case close_code::protocol_violation: return "protocol violation";
        case close_code::frame_too_large: return "frame too large";
        case close_code::decryption_failed: return "decryption failed";
        case close_code::handshake_timeout: return "handshake timeout";
        case close_code::wrong_password: return "wrong password";
        case close_code::invalid_name: return "invalid name";
        case close_code::plaintext_not_allowed: return "plaintext not allowed";
        case close_code::server_stopping: return "server stopping";
        case close_code::internal_error: return "internal error";
        case close_code::unsupported_version: return "unsupported version";
        case close_code::peer_closed: return "peer closed";
        case close_code::slow_consumer: return "slow consumer";
        case close_code::key_exhausted: return "key exhausted";
        case close_code::refused: return "refused";
        case close_code::idle_timeout: return "idle timeout";
        case close_code::kicked: return "kicked";
        default: return "code " + std::to_string(code);
    }
}

namespace client_message {
namespace {
ByteWriter typed(std::uint8_t type) {
    ByteWriter writer;
    writer.u8(type);
    return writer;
}
}  // namespace

Bytes password(const std::string& password) {
    ByteWriter w = typed(0x81);
    w.string(password);
    return w.take();
}
Bytes name(const std::string& name) {
    ByteWriter w = typed(0x82);
    w.string(name);
    return w.take();
}
Bytes request(std::uint64_t id, const std::string& service, const Bytes& body) {
    ByteWriter w = typed(0x90);
    w.u64(id);
    w.string(service);
    w.bytes(body);
    return w.take();
}
Bytes server_name_query() { return typed(0x92).take(); }
Bytes ping(std::uint64_t value) {
    ByteWriter w = typed(0x93);
    w.u64(value);
    return w.take();
}
Bytes pong(std::uint64_t value) {
    ByteWriter w = typed(0x94);
    w.u64(value);
    return w.take();
}
Bytes bye() { return typed(0x95).take(); }
Bytes rename(std::uint64_t request_id, const std::string& name) {
    ByteWriter w = typed(0x96);
    w.u64(request_id);
    w.string(name);
    return w.take();
}
Bytes key_update(const Secret& secret, bool request_update) {
    ByteWriter w = typed(0x97);
    w.raw(secret.data(), secret.size());
    w.u8(request_update ? 1 : 0);
    return w.take();
}
}  // namespace client_message

ServerMessage decode_server_message(const Bytes& payload) {
    ByteReader r(payload);
    std::uint8_t type = r.u8();
    ServerMessage message;
    const char* what = "a server message";
    switch (type) {
        case 0x01: message = PasswordPrompt{}, what = "passwordPrompt"; break;
        case 0x02: message = NamePrompt{}, what = "namePrompt"; break;
        case 0x03: {
            Accepted accepted;
            accepted.connection_id = r.u64();
            accepted.server_name = r.string();
            std::uint16_t count = r.u16();
            for (std::uint16_t i = 0; i < count; ++i) accepted.services.push_back(r.string());
            message = std::move(accepted), what = "accepted";
            break;
        }
        case 0x04: {
            Closing closing;
            closing.reason.code = r.u16();
            closing.reason.message = r.string();
            if (closing.reason.code == close_code::refused && r.remaining() == 4) {
                std::uint32_t retry = r.u32();
                if (retry == 0) throw Error(Error::Kind::protocol_violation, "closing: a retry_ms of 0");
                closing.reason.retry_ms = retry;
            }
            message = std::move(closing), what = "closing";
            break;
        }
        case 0x10: {
            Response response;
            response.request_id = r.u64();
            response.status = r.u16();
            response.error_message = r.string();
            response.body = r.bytes();
            message = std::move(response), what = "response";
            break;
        }
        case 0x11: {
            ServiceEvent event;
            event.service = r.string();
            event.body = r.bytes();
            message = std::move(event), what = "event";
            break;
        }
        case 0x12: message = ServerName{r.string()}, what = "serverName"; break;
        case 0x13: message = Ping{r.u64()}, what = "ping"; break;
        case 0x14: message = Pong{r.u64()}, what = "pong"; break;
        case 0x15: message = ServerStopping{r.u32()}, what = "serverStopping"; break;
        case 0x16: {
            ServerKeyUpdate update;
            Bytes secret = r.raw(32);
            std::copy(secret.begin(), secret.end(), update.secret.begin());
            std::uint8_t flag = r.u8();
            if (flag > 1) throw Error(Error::Kind::protocol_violation, "keyUpdate: request_update is not 0 or 1");
            update.request_update = flag == 1;
            message = update, what = "keyUpdate";
            break;
        }
        case 0x17: {
            NameRejected rejected;
            rejected.reason = r.string();
            rejected.attempts_left = r.u8();
            if (rejected.attempts_left == 0) throw Error(Error::Kind::protocol_violation, "nameRejected: attempts_left is 0");
            message = std::move(rejected), what = "nameRejected";
            break;
        }
        default:
            throw Error(Error::Kind::protocol_violation, "unknown server message type " + std::to_string(type));
    }
    r.finish(what);
    return message;
}

const char* message_name(const ServerMessage& message) {
    static const char* names[] = {"passwordPrompt", "namePrompt", "accepted", "closing", "response", "event",
                                  "serverName", "ping", "pong", "serverStopping", "keyUpdate", "nameRejected"};
    return names[message.index()];
}

const char* to_string(Error::Kind kind) {
    switch (kind) {
        case Error::Kind::connection_failed: return "connection failed";
        case Error::Kind::closed_by_server: return "closed by server";
        case Error::Kind::bad_certificate: return "bad certificate";
        case Error::Kind::untrusted_key: return "untrusted key";
        case Error::Kind::decryption_failed: return "decryption failed";
        case Error::Kind::protocol_violation: return "protocol violation";
        case Error::Kind::name_rejected: return "name rejected";
        case Error::Kind::timed_out: return "timed out";
        case Error::Kind::invalid_argument: return "invalid argument";
        case Error::Kind::crypto_failure: return "crypto failure";
        case Error::Kind::closed: return "closed";
    }
    return "error";
}

}  // namespace laboratory
