"""The server hello (PROTOCOL.md §4) and the transport key certificate it carries."""

from __future__ import annotations

import struct
from dataclasses import dataclass

from .errors import ProtocolError
from .messages import Reader

MAGIC = b"LABR"
VERSION = 1
SERVER_RANDOM_SIZE = 32
CERTIFICATE_LABEL = b"laboratory v1 transport key"


class NotLaboratory(ProtocolError):
    """The first frame is neither a hello nor a closing."""


class UnsupportedVersion(ProtocolError):
    def __init__(self, version: int) -> None:
        super().__init__(f"the server speaks protocol version {version}; this client speaks {VERSION}")
        self.version = version


@dataclass(frozen=True)
class ServerHello:
    identity_spki: bytes
    transport_spki: bytes
    not_before: int  # ms since the Unix epoch
    not_after: int
    signature: bytes
    server_random: bytes
    payload: bytes  # the exact hello payload, hashed by the key derivation

    @classmethod
    def parse(cls, payload: bytes) -> "ServerHello":
        payload = bytes(payload)
        if payload[:4] != MAGIC:
            raise NotLaboratory("the server's first frame is not a Laboratory hello")
        reader = Reader(payload[4:])
        version = reader.u16()
        if version != VERSION:
            raise UnsupportedVersion(version)
        identity = reader.take(reader.u16())
        transport = reader.take(reader.u16())
        not_before = reader.u64()
        not_after = reader.u64()
        signature = reader.take(reader.u16())
        server_random = reader.take(SERVER_RANDOM_SIZE)
        reader.finish()
        return cls(identity, transport, not_before, not_after, signature, server_random, payload)

    @property
    def certificate_bytes(self) -> bytes:
        return certificate_bytes(self.transport_spki, self.not_before, self.not_after)


def certificate_bytes(transport_spki: bytes, not_before: int, not_after: int) -> bytes:
    """What the identity key signs: label, transport key length and SPKI, not_before, not_after."""
    return (
        CERTIFICATE_LABEL
        + struct.pack(">H", len(transport_spki))
        + transport_spki
        + struct.pack(">QQ", not_before, not_after)
    )
