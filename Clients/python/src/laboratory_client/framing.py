"""Frames (PROTOCOL.md §3): a ``u32`` big-endian payload length, then the payload."""

from __future__ import annotations

import asyncio
import struct

from .errors import ProtocolError

DEFAULT_MAX_PAYLOAD = 1 << 20  # 1 MiB, as on the reference server and client


class FrameTooLarge(ProtocolError):
    pass


def encode_frame(payload: bytes) -> bytes:
    if len(payload) > 0xFFFFFFFF:
        raise ValueError("frame payload too large")
    return struct.pack(">I", len(payload)) + payload


async def read_frame(reader: asyncio.StreamReader, max_payload: int = DEFAULT_MAX_PAYLOAD) -> bytes | None:
    """The next frame's payload, or ``None`` if the stream ended cleanly before a frame began.

    The length is checked as soon as its four bytes arrive, before any payload is read.
    Raises :class:`asyncio.IncompleteReadError` if the stream ends inside a frame.
    """
    try:
        prefix = await reader.readexactly(4)
    except asyncio.IncompleteReadError as error:
        if not error.partial:
            return None
        raise
    (length,) = struct.unpack(">I", prefix)
    if length > max_payload:
        raise FrameTooLarge(f"frame of {length} bytes exceeds the maximum of {max_payload}")
    return await reader.readexactly(length) if length else b""
