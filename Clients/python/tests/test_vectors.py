"""Docs/PROTOCOL.md's test vectors, every one, against this implementation."""

from __future__ import annotations

import asyncio
import hashlib
import re

import pytest

from laboratory_client import crypto, messages
from laboratory_client.errors import HandshakeError, Step
from laboratory_client.messages import NameRejected, decode_server_message
from laboratory_client.framing import encode_frame
from laboratory_client.handshake import check_certificate, read_hello
from laboratory_client.hello import ServerHello, certificate_bytes

from vectors import document_text, load_vectors

V = load_vectors()
USED: set[str] = set()


def v(name: str) -> bytes:
    USED.add(name)
    return V[name]


def u64(name: str) -> int:
    return int.from_bytes(v(name), "big")


def session_keys() -> crypto.SessionKeys:
    return crypto.derive_session_keys(v("secret"), v("server_random"), v("hello_payload"))


def test_inputs() -> None:
    assert v("secret") == bytes(range(0x00, 0x20))
    assert v("server_random") == bytes(range(0x20, 0x40))
    assert u64("not_before") == 1_767_225_600_000
    assert u64("not_after") == u64("not_before") + 630_000


def test_identity_fingerprint_as_documented() -> None:
    documented = set(re.findall(r"SHA256:[A-Za-z0-9+/]{43}", document_text()))
    assert documented == {crypto.fingerprint(v("identity_spki"))}


def test_both_keys_are_usable_2048_bit_rsa() -> None:
    assert crypto.load_rsa_public_key(v("identity_spki")).key_size == 2048
    assert crypto.load_rsa_public_key(v("transport_spki")).key_size == 2048


def test_certificate() -> None:
    signed = certificate_bytes(v("transport_spki"), u64("not_before"), u64("not_after"))
    assert signed == v("transport_key_signed_bytes")
    crypto.verify_certificate(v("identity_spki"), signed, v("transport_key_signature"))
    with pytest.raises(crypto.CryptoFailure):
        crypto.verify_certificate(v("identity_spki"), signed[:-1] + b"\x01", v("transport_key_signature"))
    signature = bytearray(v("transport_key_signature"))
    signature[10] ^= 1
    with pytest.raises(crypto.CryptoFailure):
        crypto.verify_certificate(v("identity_spki"), signed, bytes(signature))
    with pytest.raises(crypto.CryptoFailure):  # signed by the wrong key
        crypto.verify_certificate(v("transport_spki"), signed, v("transport_key_signature"))


def test_hello() -> None:
    payload = v("hello_payload")
    assert len(payload) == 904
    assert encode_frame(payload)[:4] == v("hello_length_prefix")
    assert hashlib.sha256(payload).digest() == v("hello_sha256")
    hello = ServerHello.parse(payload)
    assert hello.identity_spki == v("identity_spki")
    assert hello.transport_spki == v("transport_spki")
    assert (hello.not_before, hello.not_after) == (u64("not_before"), u64("not_after"))
    assert hello.signature == v("transport_key_signature")
    assert hello.server_random == v("server_random")
    assert hello.certificate_bytes == v("transport_key_signed_bytes")


def test_hello_validity_window_and_tolerance() -> None:
    hello = ServerHello.parse(v("hello_payload"))
    start, end = u64("not_before") / 1000, u64("not_after") / 1000
    check_certificate(hello, clock_skew=600, now=start + 1)
    check_certificate(hello, clock_skew=600, now=start - 599)  # the client's clock is behind
    check_certificate(hello, clock_skew=600, now=end + 599)  # ahead
    for now in (start - 601, end + 601):
        with pytest.raises(HandshakeError) as failure:
            check_certificate(hello, clock_skew=600, now=now)
        assert failure.value.step is Step.CERTIFICATE


def test_hello_rejects_trailing_bytes_and_other_magic() -> None:
    with pytest.raises(Exception):
        ServerHello.parse(v("hello_payload") + b"\x00")
    with pytest.raises(Exception):
        ServerHello.parse(b"LABX" + v("hello_payload")[4:])


def test_key_schedule() -> None:
    assert crypto.session_keys_info(v("hello_payload")) == v("hkdf_info")
    okm = crypto.hkdf(v("secret"), v("server_random"), v("hkdf_info"), 88)
    assert okm == v("okm")
    keys = session_keys()
    assert keys.c2s_key == v("c2s_key")
    assert keys.s2c_key == v("s2c_key")
    assert keys.c2s_iv == v("c2s_iv")
    assert keys.s2c_iv == v("s2c_iv")


def test_nonces() -> None:
    assert crypto.nonce(v("c2s_iv"), 0) == v("c2s_nonce_0")
    assert crypto.nonce(v("c2s_iv"), 1) == v("c2s_nonce_1")
    assert crypto.nonce(v("s2c_iv"), 0) == v("s2c_nonce_0")
    assert crypto.nonce(v("s2c_iv"), 1) == v("s2c_nonce_1")
    assert crypto.nonce(v("s2c_iv"), 0x0102030405060708) == v("s2c_nonce_0102030405060708")


def strip_prefix(frame: bytes) -> bytes:
    assert int.from_bytes(frame[:4], "big") == len(frame) - 4
    return frame[4:]


def test_sealed_handshake() -> None:
    keys = session_keys()
    client_send = crypto.Direction(keys.c2s_key, keys.c2s_iv)
    client_receive = crypto.Direction(keys.s2c_key, keys.s2c_iv)

    assert client_receive.open(strip_prefix(v("s2c_0_frame"))) == v("s2c_0_payload")
    assert messages.decode_server_message(v("s2c_0_payload")) == messages.PasswordPrompt()

    assert messages.password("correct horse battery staple") == v("c2s_0_payload")
    assert encode_frame(client_send.seal(v("c2s_0_payload"))) == v("c2s_0_frame")

    assert client_receive.open(strip_prefix(v("s2c_1_frame"))) == v("s2c_1_payload")
    assert messages.decode_server_message(v("s2c_1_payload")) == messages.NamePrompt()

    assert messages.name("Ada") == v("c2s_1_payload")
    assert encode_frame(client_send.seal(v("c2s_1_payload"))) == v("c2s_1_frame")

    assert client_receive.open(strip_prefix(v("s2c_2_frame"))) == v("s2c_2_payload")
    assert messages.decode_server_message(v("s2c_2_payload")) == messages.Accepted(1, "Laboratory", ("echo",))
    assert (client_send.counter, client_receive.counter) == (2, 3)


def test_replayed_or_reordered_frames_fail_to_open() -> None:
    keys = session_keys()
    receive = crypto.Direction(keys.s2c_key, keys.s2c_iv)
    with pytest.raises(crypto.CryptoFailure):
        receive.open(strip_prefix(v("s2c_1_frame")))  # counter 1 first
    assert receive.counter == 0  # a failed frame does not advance the counter
    receive.open(strip_prefix(v("s2c_0_frame")))
    with pytest.raises(crypto.CryptoFailure):
        receive.open(strip_prefix(v("s2c_0_frame")))  # replay


def test_unsealed_frames() -> None:
    assert encode_frame(b"") == v("plaintext_key_exchange_frame")
    assert encode_frame(messages.request(1, "echo", b"hi")) == v("request_frame")
    assert messages.decode_server_message(strip_prefix(v("response_frame"))) == messages.Response(1, 0, "", b"hi")
    assert messages.decode_server_message(strip_prefix(v("closing_frame"))) == messages.Closing(6, "wrong password")


def test_refusal_instead_of_hello() -> None:
    async def scenario() -> HandshakeError:
        reader = asyncio.StreamReader()
        reader.feed_data(v("refusal_frame"))
        reader.feed_eof()
        with pytest.raises(HandshakeError) as failure:
            await read_hello(reader, 1 << 20)
        return failure.value

    error = asyncio.run(scenario())
    assert (error.step, error.kind, error.code) == (Step.HELLO, "refused", 15)
    assert error.server_message == "too many failures from your address; try again in 4m 30s"
    assert error.retry_after == 270.0
    assert "code 15" in str(error) and "locked out for 4m 30s" in str(error)


def test_name_rejected() -> None:
    assert decode_server_message(v("name_rejected_frame")[4:]) == NameRejected("display name is empty", 2)


def test_key_update() -> None:
    keys = session_keys()
    send = crypto.Direction(keys.c2s_key, keys.c2s_iv)
    send.seal(v("c2s_0_payload"))
    send.seal(v("c2s_1_payload"))
    assert crypto.nonce(v("c2s_iv"), 2) == v("c2s_nonce_2")
    update = messages.key_update(v("key_update_secret"), request_update=True)
    assert update == v("c2s_2_payload")
    assert encode_frame(send.seal(update)) == v("c2s_2_frame")

    assert crypto.KEY_UPDATE_INFO == v("key_update_info")
    assert crypto.hkdf(v("key_update_secret"), v("c2s_key"), v("key_update_info"), 44) == v("key_update_okm")
    send.update(v("key_update_secret"))
    assert (send.key, send.iv, send.counter) == (v("updated_c2s_key"), v("updated_c2s_iv"), 0)

    assert messages.ping(1) == v("updated_c2s_0_payload")
    assert encode_frame(send.seal(v("updated_c2s_0_payload"))) == v("updated_c2s_0_frame")


def test_every_vector_is_checked() -> None:
    """Runs last in this module: a vector added to the document must get a check here."""
    unchecked = set(V) - USED
    assert not unchecked, f"vectors in PROTOCOL.md not checked by this test: {sorted(unchecked)}"
