"""What a session pushes to its application: service events, the server stopping, the end."""

from __future__ import annotations

from dataclasses import dataclass

from .chat import SERVICE as CHAT_SERVICE
from .chat import ChatEvent
from .errors import SessionClosed


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
