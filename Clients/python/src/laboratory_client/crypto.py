"""The cryptography of protocol v1: fingerprints, the transport key certificate (RSA-PSS), the key
exchange (RSA-OAEP), the key schedule (HKDF-SHA256), the record layer (AES-256-GCM with counter
nonces) and key updates. PROTOCOL.md §4–§8."""

from __future__ import annotations

import base64
import hashlib
import os
import struct
from dataclasses import dataclass

from cryptography.exceptions import InvalidSignature, InvalidTag
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import padding, rsa
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

SECRET_SIZE = 32
TAG_SIZE = 16
SESSION_KEYS_INFO = b"laboratory v1 session keys"
KEY_UPDATE_INFO = b"laboratory v1 key update"
MIN_RSA_BITS = 2048
MAX_RSA_BITS = 4096
MAX_COUNTER = (1 << 64) - 2  # 2^64 - 1 is never used


class CryptoFailure(Exception):
    """A signature, key or sealed frame did not check out."""


def fingerprint(spki: bytes) -> str:
    """``SHA256:`` and the unpadded standard base64 of SHA-256 over the SPKI bytes (as ssh-keygen)."""
    digest = hashlib.sha256(spki).digest()
    return "SHA256:" + base64.b64encode(digest).decode("ascii").rstrip("=")


def load_rsa_public_key(spki: bytes) -> rsa.RSAPublicKey:
    """An RSA public key of 2048 to 4096 bits from DER SubjectPublicKeyInfo."""
    try:
        key = serialization.load_der_public_key(spki)
    except (ValueError, TypeError) as error:
        raise CryptoFailure(f"not a DER public key: {error}") from None
    if not isinstance(key, rsa.RSAPublicKey):
        raise CryptoFailure("not an RSA key")
    if not MIN_RSA_BITS <= key.key_size <= MAX_RSA_BITS:
        raise CryptoFailure(f"RSA key of {key.key_size} bits; {MIN_RSA_BITS} to {MAX_RSA_BITS} are accepted")
    return key


def verify_certificate(identity_spki: bytes, signed_bytes: bytes, signature: bytes) -> None:
    """RSASSA-PSS, SHA-256, MGF1-SHA256, salt length 32, by the identity key."""
    key = load_rsa_public_key(identity_spki)
    try:
        key.verify(
            signature,
            signed_bytes,
            padding.PSS(mgf=padding.MGF1(hashes.SHA256()), salt_length=32),
            hashes.SHA256(),
        )
    except InvalidSignature:
        raise CryptoFailure("the transport key's signature does not verify under the identity key") from None


def check_validity(not_before: int, not_after: int, now_ms: int, tolerance_ms: int) -> None:
    if not_before > not_after:
        raise CryptoFailure("the transport key's validity window ends before it begins")
    if now_ms < not_before - tolerance_ms:
        raise CryptoFailure("the transport key is not valid yet (check the clocks)")
    if now_ms > not_after + tolerance_ms:
        raise CryptoFailure("the transport key has expired (check the clocks)")


def encrypt_secret(transport_spki: bytes, secret: bytes) -> bytes:
    """RSAES-OAEP with SHA-256, MGF1-SHA256 and an empty label, to the transport key."""
    key = load_rsa_public_key(transport_spki)
    return key.encrypt(
        secret, padding.OAEP(mgf=padding.MGF1(hashes.SHA256()), algorithm=hashes.SHA256(), label=None)
    )


def hkdf(ikm: bytes, salt: bytes, info: bytes, length: int) -> bytes:
    return HKDF(algorithm=hashes.SHA256(), length=length, salt=salt, info=info).derive(ikm)


def session_keys_info(hello_payload: bytes) -> bytes:
    return SESSION_KEYS_INFO + hashlib.sha256(hello_payload).digest()


@dataclass(frozen=True)
class SessionKeys:
    c2s_key: bytes
    s2c_key: bytes
    c2s_iv: bytes
    s2c_iv: bytes


def derive_session_keys(secret: bytes, server_random: bytes, hello_payload: bytes) -> SessionKeys:
    okm = hkdf(secret, server_random, session_keys_info(hello_payload), 88)
    return SessionKeys(okm[0:32], okm[32:64], okm[64:76], okm[76:88])


def derive_key_update(secret: bytes, current_key: bytes) -> tuple[bytes, bytes]:
    """The new (key, iv) of a direction after a key update sealed under ``current_key``."""
    okm = hkdf(secret, current_key, KEY_UPDATE_INFO, 44)
    return okm[:32], okm[32:]


def nonce(iv: bytes, counter: int) -> bytes:
    """The IV with the counter's 8 big-endian bytes XORed into its last 8 bytes."""
    tail = int.from_bytes(iv[4:], "big") ^ counter
    return iv[:4] + struct.pack(">Q", tail)


def random_secret() -> bytes:
    return os.urandom(SECRET_SIZE)


class Direction:
    """One direction's key, IV and frame counter: seals (sending) or opens (receiving) frames in
    order, and switches keys on a key update."""

    def __init__(self, key: bytes, iv: bytes) -> None:
        self._install(key, iv)

    def _install(self, key: bytes, iv: bytes) -> None:
        self.key = key
        self.iv = iv
        self.counter = 0
        self._aead = AESGCM(key)

    def _next_nonce(self) -> bytes:
        if self.counter > MAX_COUNTER:
            raise CryptoFailure("the frame counter is exhausted")
        return nonce(self.iv, self.counter)

    def seal(self, message: bytes) -> bytes:
        sealed = self._aead.encrypt(self._next_nonce(), message, None)
        self.counter += 1
        return sealed

    def open(self, payload: bytes) -> bytes:
        if len(payload) < TAG_SIZE:
            raise CryptoFailure("sealed frame shorter than its tag")
        try:
            message = self._aead.decrypt(self._next_nonce(), bytes(payload), None)
        except InvalidTag:
            raise CryptoFailure("a frame failed to open (decryption failed)") from None
        self.counter += 1
        return message

    def update(self, secret: bytes) -> None:
        """Switch to the key and IV that follow from ``secret`` and the current key; counter 0."""
        self._install(*derive_key_update(secret, self.key))
