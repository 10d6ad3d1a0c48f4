"""What a session pushes to its application: service events (and the chat service's events,
PROTOCOL.md §17), the server stopping, the end. The bottom of the session layers: the session
module builds on this one and the chat module on both; this one imports neither."""

from __future__ import annotations

import json
import math
from dataclasses import dataclass, field
from typing import Any

from .errors import SessionClosed

CHAT_SERVICE = "chat"
"""The chat service's name."""


def _integer(digits: str) -> int:
    """An integer of a chat body, refused beyond a double's range as PROTOCOL.md §17 says (from
    2^1024 − 2^970 on): every integer of up to 308 digits is within it, none of 310 or more is
    (10^309 is beyond it), and one of 309 digits is parsed to see, so a long run of digits costs
    no conversion."""
    count = len(digits) - digits.startswith("-")
    if count > 309 or (count == 309 and math.isinf(float(digits))):
        raise ValueError("integer beyond a double's range")
    return int(digits)


def chat_json(body: bytes) -> Any:
    """A chat reply's or event's JSON, with §17's integer range (``ValueError`` beyond it)."""
    return json.loads(body.decode("utf-8"), parse_int=_integer)


@dataclass(frozen=True)
class ChatEvent:
    """A pushed chat event: ``kind`` is ``message``, ``joined``, ``left``, ``renamed`` or ``direct``
    (or a kind this client does not know). ``room`` and ``sequence`` are ``None`` for ``direct``."""

    kind: str
    sender: int  # the "from" connection id
    name: str
    room: str | None = None
    sequence: int | None = None
    text: str | None = None
    old_name: str | None = None
    time: int | None = None
    raw: dict[str, Any] = field(default_factory=dict)

    @classmethod
    def parse(cls, body: bytes) -> "ChatEvent":
        data = chat_json(body)
        if not isinstance(data, dict):
            raise ValueError("a chat event is a JSON object")
        return cls(
            kind=str(data["kind"]),
            sender=int(data["from"]),
            name=str(data["name"]),
            room=data.get("room"),
            sequence=data.get("sequence"),
            text=data.get("text"),
            old_name=data.get("oldName"),
            time=data.get("time"),
            raw=data,
        )


@dataclass(frozen=True)
class ServiceEvent:
    service: str
    body: bytes

    @property
    def chat(self) -> ChatEvent | None:
        """The body as a chat event when it is one (service ``chat`` and well-formed), else ``None``."""
        if self.service != CHAT_SERVICE:
            return None
        try:
            return ChatEvent.parse(self.body)
        except (ValueError, KeyError, TypeError):
            return None


@dataclass(frozen=True)
class ServerStopping:
    grace_ms: int


@dataclass(frozen=True)
class Closed:
    """The last event: the session ended for ``reason``."""

    reason: SessionClosed


SessionEvent = ServiceEvent | ServerStopping | Closed
