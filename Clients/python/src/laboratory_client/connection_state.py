"""What a reconnecting client (:mod:`.reconnecting`) tells its application about its connection,
in the same stream as the chat events: lost, reconnecting in N s, resumed, and the end."""

from __future__ import annotations

from dataclasses import dataclass

from .errors import LaboratoryError

__all__ = ["ConnectionLost", "Reconnecting", "Resumed", "RejoinFailed", "Ended", "ConnectionStateEvent"]


@dataclass(frozen=True)
class ConnectionLost:
    """The session ended for ``reason`` in a way that allows connecting again; :class:`Reconnecting`
    follows."""

    reason: LaboratoryError


@dataclass(frozen=True)
class Reconnecting:
    """Attempt ``attempt`` (1 for the first after a loss) starts in ``delay`` seconds. ``error`` is
    why the connection or the previous attempt failed."""

    attempt: int
    delay: float
    error: LaboratoryError


@dataclass(frozen=True)
class Resumed:
    """A new session is accepted and every room rejoined (its missed events, notices first, come
    before this). ``connection_id`` is the new session's; ``downtime`` the seconds since the loss."""

    connection_id: int
    rooms: tuple[str, ...]
    attempts: int
    downtime: float


@dataclass(frozen=True)
class RejoinFailed:
    """The server refused to rejoin ``room`` after a reconnection (``error``); it is forgotten."""

    room: str
    error: LaboratoryError


@dataclass(frozen=True)
class Ended:
    """The last event: the client closed, or the connection ended in a way that forbids connecting
    again by itself (a kick, a wrong password, a changed server key, …), for ``reason``."""

    reason: LaboratoryError


ConnectionStateEvent = ConnectionLost | Reconnecting | Resumed | RejoinFailed | Ended
