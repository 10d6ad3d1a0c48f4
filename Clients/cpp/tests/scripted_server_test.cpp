// A scripted server on a real loopback socket, with keys of its own (OpenSSL directly, not the
// library): it runs the handshake, then does what the reference server only does after 2^20
// frames or an hour (asks the client for a key update) or on an operator's request (kicks).
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <openssl/evp.h>
#include <openssl/rsa.h>
#include <openssl/x509.h>
#include <sys/socket.h>
#include <unistd.h>

#include <chrono>
#include <functional>
#include <thread>

#include "laboratory/client.hpp"
#include "laboratory/crypto.hpp"
#include "laboratory/frame.hpp"
#include "laboratory/hello.hpp"
#include "support/socket_pair.hpp"

using namespace laboratory;

namespace {

struct Key {
    EVP_PKEY* pkey = EVP_RSA_gen(2048);
    ~Key() { EVP_PKEY_free(pkey); }
    Bytes spki() const {
        unsigned char* der = nullptr;
        int length = i2d_PUBKEY(pkey, &der);
        Bytes out(der, der + length);
        OPENSSL_free(der);
        return out;
    }
};

Bytes sign_pss(const Key& key, const Bytes& message) {
    EVP_MD_CTX* md = EVP_MD_CTX_new();
    EVP_PKEY_CTX* pctx = nullptr;
    std::size_t length = 0;
    EVP_DigestSignInit(md, &pctx, EVP_sha256(), nullptr, key.pkey);
    EVP_PKEY_CTX_set_rsa_padding(pctx, RSA_PKCS1_PSS_PADDING);
    EVP_PKEY_CTX_set_rsa_mgf1_md(pctx, EVP_sha256());
    EVP_PKEY_CTX_set_rsa_pss_saltlen(pctx, 32);
    EVP_DigestSign(md, nullptr, &length, message.data(), message.size());
    Bytes signature(length);
    EVP_DigestSign(md, signature.data(), &length, message.data(), message.size());
    EVP_MD_CTX_free(md);
    signature.resize(length);
    return signature;
}

Bytes decrypt_oaep(const Key& key, const Bytes& ciphertext) {
    EVP_PKEY_CTX* ctx = EVP_PKEY_CTX_new_from_pkey(nullptr, key.pkey, nullptr);
    EVP_PKEY_decrypt_init(ctx);
    EVP_PKEY_CTX_set_rsa_padding(ctx, RSA_PKCS1_OAEP_PADDING);
    EVP_PKEY_CTX_set_rsa_oaep_md(ctx, EVP_sha256());
    EVP_PKEY_CTX_set_rsa_mgf1_md(ctx, EVP_sha256());
    std::size_t length = 0;
    EVP_PKEY_decrypt(ctx, nullptr, &length, ciphertext.data(), ciphertext.size());
    Bytes out(length);
    EVP_PKEY_decrypt(ctx, out.data(), &length, ciphertext.data(), ciphertext.size());
    EVP_PKEY_CTX_free(ctx);
    out.resize(length);
    return out;
}

/// One connection's server side: blocking reads and writes on an accepted socket.
class ScriptedPeer {
public:
    explicit ScriptedPeer(int fd) : fd_(fd) {
        timeval timeout{10, 0};  // a client that stays silent fails the script instead of hanging it
        ::setsockopt(fd_, SOL_SOCKET, SO_RCVTIMEO, &timeout, sizeof timeout);
    }
    ~ScriptedPeer() { ::close(fd_); }

    Bytes read_frame() {
        while (true) {
            if (auto frame = decoder_.next()) return *frame;
            std::uint8_t buffer[4096];
            ssize_t n = ::recv(fd_, buffer, sizeof buffer, 0);
            if (n <= 0) throw std::runtime_error("the client closed or stayed silent");
            decoder_.append(buffer, static_cast<std::size_t>(n));
        }
    }
    void write_frame(const Bytes& payload) {
        Bytes frame = encode_frame(payload);
        ASSERT_EQ(::send(fd_, frame.data(), frame.size(), MSG_NOSIGNAL), static_cast<ssize_t>(frame.size()));
    }
    void send(const Bytes& message) { write_frame(s2c->seal(message)); }
    Bytes receive() {
        auto opened = c2s->open(read_frame());
        if (!opened) throw std::runtime_error("a client frame did not open");
        return *opened;
    }

    /// The whole handshake, as the reference server runs it, with fresh keys.
    void handshake(const Key& identity, const Key& transport, const std::string& expected_password) {
        std::uint64_t now = static_cast<std::uint64_t>(
            std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::system_clock::now().time_since_epoch()).count());
        Bytes transport_spki = transport.spki();
        Bytes signature = sign_pss(identity, certificate_bytes(transport_spki, now - 1000, now + 630'000));
        ByteWriter hello;
        hello.raw(reinterpret_cast<const std::uint8_t*>("LABR"), 4);
        hello.u16(1);
        Bytes identity_spki = identity.spki();
        hello.u16(static_cast<std::uint16_t>(identity_spki.size()));
        hello.raw(identity_spki);
        hello.u16(static_cast<std::uint16_t>(transport_spki.size()));
        hello.raw(transport_spki);
        hello.u64(now - 1000);
        hello.u64(now + 630'000);
        hello.u16(static_cast<std::uint16_t>(signature.size()));
        hello.raw(signature);
        Bytes server_random = crypto::random_bytes(32);
        hello.raw(server_random);
        write_frame(hello.data());
        Bytes secret = decrypt_oaep(transport, read_frame());
        ASSERT_EQ(secret.size(), 32u);
        SessionKeys keys = SessionKeys::derive(secret, server_random, hello.data());
        c2s.emplace(keys.c2s_key, keys.c2s_iv);
        s2c.emplace(keys.s2c_key, keys.s2c_iv);
        send({0x01});
        ASSERT_EQ(receive(), client_message::password(expected_password));
        send({0x02});
        ASSERT_EQ(receive()[0], 0x82);
        ByteWriter accepted;
        accepted.u8(0x03);
        accepted.u64(42);
        accepted.string("Scripted");
        accepted.u16(1);
        accepted.string("echo");
        send(accepted.data());
    }

    std::optional<DirectionKeys> c2s, s2c;

private:
    int fd_;
    FrameDecoder decoder_;
};

/// Runs `script` as the server of one connection in a thread, with keys made up front.
class ScriptedServer {
public:
    explicit ScriptedServer(std::function<void(ScriptedPeer&, const Key&, const Key&)> script) {
        fingerprint_ = crypto::fingerprint(identity_.spki());
        listener_ = test::listen_loopback(port_);
        thread_ = std::thread([this, script = std::move(script)] {
            int fd = ::accept4(listener_, nullptr, nullptr, SOCK_CLOEXEC);
            ScriptedPeer peer(fd);
            try {
                script(peer, identity_, transport_);
            } catch (const std::exception& error) {
                failure_ = error.what();
            }
        });
    }
    ~ScriptedServer() {
        if (thread_.joinable()) thread_.join();
        ::close(listener_);
    }
    std::uint16_t port() const { return port_; }
    const std::string& fingerprint() const { return fingerprint_; }
    /// Waits for the script to end; what it failed on, if anything.
    std::string finish() {
        if (thread_.joinable()) thread_.join();
        return failure_;
    }

private:
    Key identity_, transport_;
    int listener_ = -1;
    std::uint16_t port_ = 0;
    std::thread thread_;
    std::string fingerprint_, failure_;
};

ClientOptions options_for(ScriptedServer& server) {
    ClientOptions options;
    options.port = server.port();
    options.password = "scripted";
    options.name = "Ada";
    return options;
}

}  // namespace

TEST(ScriptedServer, AServerRequestedKeyUpdateIsAnsweredAndBothSidesSwitch) {
    ScriptedServer server([](ScriptedPeer& peer, const Key& identity, const Key& transport) {
        peer.handshake(identity, transport, "scripted");
        Secret secret = crypto::random_secret();
        Bytes update = client_message::key_update(secret, true);  // the same layout as the server's
        update[0] = 0x16;                                          // keyUpdate, under its own type
        peer.send(update);
        peer.s2c->update(secret);
        // The client answers at once with its own update, request_update 0, sealed under its old key.
        Bytes answer = peer.receive();
        ASSERT_EQ(answer.size(), 34u);
        ASSERT_EQ(answer[0], 0x97);
        ASSERT_EQ(answer[33], 0);
        Secret client_secret{};
        std::copy(answer.begin() + 1, answer.begin() + 33, client_secret.begin());
        peer.c2s->update(client_secret);
        // Both directions work under the new keys: a ping under the server's, the pong under the client's.
        ByteWriter ping;
        ping.u8(0x13);
        ping.u64(7);
        peer.send(ping.data());
        ASSERT_EQ(peer.receive(), client_message::pong(7));
        ByteWriter closing;
        closing.u8(0x04);
        closing.u16(17);
        closing.string("kicked by the operator");
        peer.send(closing.data());
    });
    ClientOptions options = options_for(server);
    options.trust = Trust::pinned(server.fingerprint());
    auto client = Client::connect(options);
    EXPECT_EQ(client->acceptance().connection_id, 42u);
    std::optional<Closed> closed;
    while (auto event = client->wait_event(std::chrono::seconds(10))) {
        if (auto* c = std::get_if<Closed>(&*event)) closed = *c;
    }
    EXPECT_EQ(server.finish(), "");
    EXPECT_EQ(client->key_updates_received(), 1u);
    EXPECT_EQ(client->key_updates_sent(), 1u);
    ASSERT_TRUE(closed);
    ASSERT_TRUE(closed->reason);
    EXPECT_EQ(closed->reason->code, close_code::kicked);  // final: the reason is the operator's
    EXPECT_EQ(closed->reason->message, "kicked by the operator");
}

TEST(ScriptedServer, AMessageOutOfPlaceDuringTheSessionEndsIt) {
    ScriptedServer server([](ScriptedPeer& peer, const Key& identity, const Key& transport) {
        peer.handshake(identity, transport, "scripted");
        peer.send({0x01});  // a passwordPrompt after acceptance
        try {
            peer.read_frame();
        } catch (const std::exception&) {  // the client closed: what the test wants
        }
    });
    ClientOptions options = options_for(server);
    options.trust = Trust::pinned(server.fingerprint());
    auto client = Client::connect(options);
    auto event = client->wait_event(std::chrono::seconds(10));
    ASSERT_TRUE(event && std::holds_alternative<Closed>(*event));
    EXPECT_EQ(std::get<Closed>(*event).error, Error::Kind::protocol_violation);
    EXPECT_EQ(server.finish(), "");
}
