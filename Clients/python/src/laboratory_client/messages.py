"""Message encodings (PROTOCOL.md §2 and §10): the client's messages as bytes, the server's as
values. Parsing is strict: a short field, invalid UTF-8, an unknown type or trailing bytes raise
:class:`ProtocolError`."""

from __future__ import annotations

import struct
from dataclasses import dataclass

from .errors import ProtocolError

MAX_STRING = 0xFFFF

# Client → server types.
PASSWORD = 0x81
NAME = 0x82
REQUEST = 0x90
SERVER_NAME_QUERY = 0x92
PING = 0x93
PONG = 0x94
BYE = 0x95
RENAME = 0x96
KEY_UPDATE = 0x97

KEY_UPDATE_SECRET_SIZE = 32


# ----------------------------------------------------------------------------- encoding


def truncate_utf8(text: str, limit: int = MAX_STRING) -> bytes:
    """``text`` as UTF-8, cut to its longest prefix of at most ``limit`` bytes that ends on a code
    point boundary (for free text only)."""
    data = text.encode("utf-8")
    if len(data) <= limit:
        return data
    end = limit
    while end > 0 and (data[end] & 0xC0) == 0x80:  # data[end] starts the code point that is cut
        end -= 1
    return data[:end]


def encode_string(text: str) -> bytes:
    data = text.encode("utf-8")
    if len(data) > MAX_STRING:
        raise ValueError(f"string of {len(data)} bytes does not fit a string field (at most {MAX_STRING})")
    return struct.pack(">H", len(data)) + data


def encode_bytes(data: bytes) -> bytes:
    return struct.pack(">I", len(data)) + bytes(data)


def password(text: str) -> bytes:
    return bytes([PASSWORD]) + encode_string(text)


def name(text: str) -> bytes:
    return bytes([NAME]) + encode_string(text)


def request(request_id: int, service: str, body: bytes) -> bytes:
    return bytes([REQUEST]) + struct.pack(">Q", request_id) + encode_string(service) + encode_bytes(body)


def server_name_query() -> bytes:
    return bytes([SERVER_NAME_QUERY])


def ping(value: int) -> bytes:
    return bytes([PING]) + struct.pack(">Q", value)


def pong(value: int) -> bytes:
    return bytes([PONG]) + struct.pack(">Q", value)


def bye() -> bytes:
    return bytes([BYE])


def rename(request_id: int, new_name: str) -> bytes:
    return bytes([RENAME]) + struct.pack(">Q", request_id) + encode_string(new_name)


def key_update(secret: bytes, request_update: bool) -> bytes:
    if len(secret) != KEY_UPDATE_SECRET_SIZE:
        raise ValueError("a key update secret is 32 bytes")
    return bytes([KEY_UPDATE]) + bytes(secret) + bytes([1 if request_update else 0])


# ----------------------------------------------------------------------------- decoding


class Reader:
    """Reads fields from one message payload, front to back."""

    def __init__(self, data: bytes) -> None:
        self.data = bytes(data)
        self.offset = 0

    def take(self, count: int) -> bytes:
        if self.offset + count > len(self.data):
            raise ProtocolError("a field runs past the end of the message")
        chunk = self.data[self.offset : self.offset + count]
        self.offset += count
        return chunk

    def u8(self) -> int:
        return self.take(1)[0]

    def u16(self) -> int:
        return struct.unpack(">H", self.take(2))[0]

    def u32(self) -> int:
        return struct.unpack(">I", self.take(4))[0]

    def u64(self) -> int:
        return struct.unpack(">Q", self.take(8))[0]

    def string(self) -> str:
        raw = self.take(self.u16())
        try:
            return raw.decode("utf-8")
        except UnicodeDecodeError:
            raise ProtocolError("a string field is not valid UTF-8") from None

    def bytes_field(self) -> bytes:
        return self.take(self.u32())

    def finish(self) -> None:
        if self.offset != len(self.data):
            raise ProtocolError(f"{len(self.data) - self.offset} bytes remain after the last field")


@dataclass(frozen=True)
class PasswordPrompt:
    pass


@dataclass(frozen=True)
class NamePrompt:
    pass


@dataclass(frozen=True)
class Accepted:
    connection_id: int
    server_name: str
    services: tuple[str, ...]


@dataclass(frozen=True)
class Closing:
    code: int
    message: str
    #: For a refusal (code 15) of a locked-out address: milliseconds until the server lets it in
    #: again (PROTOCOL.md §9, *Admission*); ``None`` otherwise.
    retry_ms: int | None = None


@dataclass(frozen=True)
class NameRejected:
    """The server refused the display name and takes another (PROTOCOL.md §9)."""

    reason: str
    attempts_left: int


@dataclass(frozen=True)
class Response:
    request_id: int
    status: int
    error_message: str
    body: bytes


@dataclass(frozen=True)
class Event:
    service: str
    body: bytes


@dataclass(frozen=True)
class ServerName:
    name: str


@dataclass(frozen=True)
class Ping:
    value: int


@dataclass(frozen=True)
class Pong:
    value: int


@dataclass(frozen=True)
class ServerStopping:
    grace_ms: int


@dataclass(frozen=True)
class KeyUpdate:
    secret: bytes
    request_update: bool


ServerMessage = (
    PasswordPrompt | NamePrompt | Accepted | Closing | Response | Event | ServerName | Ping | Pong
    | ServerStopping | KeyUpdate | NameRejected
)


def _accepted(r: Reader) -> Accepted:
    connection_id = r.u64()
    server_name = r.string()
    services = tuple(r.string() for _ in range(r.u16()))
    return Accepted(connection_id, server_name, services)


def _closing(r: Reader) -> Closing:
    code = r.u16()
    message = r.string()
    # Only a refusal may carry retry_ms (a locked-out address).
    retry_ms = r.u32() if code == 15 and r.offset < len(r.data) else None
    if retry_ms == 0:
        raise ProtocolError("a refusal's retry_ms is 0")
    return Closing(code, message, retry_ms)


def _key_update(r: Reader) -> KeyUpdate:
    secret = r.take(KEY_UPDATE_SECRET_SIZE)
    flag = r.u8()
    if flag not in (0, 1):
        raise ProtocolError(f"key update with request_update {flag}")
    return KeyUpdate(secret, flag == 1)


_DECODERS = {
    0x01: lambda r: PasswordPrompt(),
    0x02: lambda r: NamePrompt(),
    0x03: _accepted,
    0x04: _closing,
    0x10: lambda r: Response(r.u64(), r.u16(), r.string(), r.bytes_field()),
    0x11: lambda r: Event(r.string(), r.bytes_field()),
    0x12: lambda r: ServerName(r.string()),
    0x13: lambda r: Ping(r.u64()),
    0x14: lambda r: Pong(r.u64()),
    0x15: lambda r: ServerStopping(r.u32()),
    0x16: _key_update,
    0x17: lambda r: NameRejected(r.string(), r.u8()),
}


def decode_server_message(payload: bytes) -> ServerMessage:
    if not payload:
        raise ProtocolError("empty message")
    decoder = _DECODERS.get(payload[0])
    if decoder is None:
        raise ProtocolError(f"unknown server message type 0x{payload[0]:02x}")
    reader = Reader(payload[1:])
    message = decoder(reader)
    reader.finish()
    return message
