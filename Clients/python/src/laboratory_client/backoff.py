"""When to try again after a lost connection: exponential backoff with full jitter, and which
endings allow trying again at all. Pure values and functions: no I/O, no clock (the caller sleeps)."""

from __future__ import annotations

import random as _random
from dataclasses import dataclass
from typing import Callable

from .codes import CloseCode
from .errors import HandshakeError, LaboratoryError, SessionClosed

__all__ = ["Backoff", "FINAL_CLOSE_CODES", "retry_floor"]


@dataclass(frozen=True)
class Backoff:
    """Exponential backoff with full jitter: before retry ``attempt`` (0 for the first) the wait is
    uniform in ``[0, min(maximum, initial * multiplier ** attempt))``, never below the server's own
    ``floor`` (a locked-out address's ``retry_ms``). Defaults: 0.5 s doubling to at most 30 s.
    PROTOCOL.md §17 (*Reconnecting and resuming*) asks for at least 100 ms and 10 s; smaller values
    are accepted for tests on loopback."""

    initial: float = 0.5
    maximum: float = 30.0
    multiplier: float = 2.0

    def __post_init__(self) -> None:
        if not (self.initial > 0 and self.maximum >= self.initial and self.multiplier >= 1):
            raise ValueError(
                f"backoff needs 0 < initial <= maximum and multiplier >= 1, not {self.initial}, "
                f"{self.maximum}, {self.multiplier}"
            )

    def ceiling(self, attempt: int) -> float:
        """The largest wait before retry ``attempt``: ``initial * multiplier ** attempt``, capped."""
        if attempt < 0:
            raise ValueError("attempt counts from 0")
        ceiling = self.initial
        for _ in range(attempt):  # stops growing once capped, so a huge attempt cannot overflow
            ceiling *= self.multiplier
            if ceiling >= self.maximum:
                return self.maximum
        return min(ceiling, self.maximum)

    def delay(self, attempt: int, floor: float = 0.0, random: Callable[[], float] = _random.random) -> float:
        """The wait before retry ``attempt``: ``random()`` (in ``[0, 1)``) times the ceiling, at
        least ``floor``."""
        return max(random() * self.ceiling(attempt), floor)


#: Close codes after which a client does not connect again by itself (PROTOCOL.md §17, *Reconnecting
#: and resuming*): MUST NOT after its own ``bye`` (1), a wrong password (6), an invalid name (7),
#: plaintext refused (8), an unsupported version (11) and a kick by the operator (17); SHOULD NOT
#: after a protocol violation (2), a frame too large (3), a failed decryption (4) or an exhausted
#: key (14), which say that the client or the path is broken. Every other code, known or not, is
#: worth another attempt: the server stopping (9) or failing (10), the connection lost (12), a
#: handshake timeout (5), a slow consumer (13), a refusal for now (15; a lockout's refusal says how
#: long, ``retry_ms``), an idle timeout (16).
FINAL_CLOSE_CODES = frozenset(
    {
        CloseCode.NORMAL,
        CloseCode.PROTOCOL_VIOLATION,
        CloseCode.FRAME_TOO_LARGE,
        CloseCode.DECRYPTION_FAILED,
        CloseCode.WRONG_PASSWORD,
        CloseCode.INVALID_NAME,
        CloseCode.PLAINTEXT_NOT_ALLOWED,
        CloseCode.UNSUPPORTED_VERSION,
        CloseCode.KEY_EXHAUSTED,
        CloseCode.KICKED,
    }
)

# Handshake failures that happen to a healthy client while the server is away or restarting.
_TRANSIENT_HANDSHAKE_KINDS = frozenset({"network", "timeout", "closed", "refused"})


def retry_floor(error: BaseException) -> float | None:
    """Whether the ending ``error`` allows connecting again by itself: ``None`` if not (it would
    fail the same way, or the server forbids it), else the least wait in seconds the server asked
    for (a lockout's ``retry_ms``; 0 when it asked for none).

    A changed server key (:class:`ServerKeyMismatch`), an unknown key, a bad certificate, a wrong
    password or a rejected name are final, as is every close code in :data:`FINAL_CLOSE_CODES`.
    Network errors, timeouts and a server that closes before its hello (restarting) are not."""
    if isinstance(error, HandshakeError):
        if error.kind not in _TRANSIENT_HANDSHAKE_KINDS:
            return None
        if error.code in FINAL_CLOSE_CODES:
            return None
        return error.retry_after or 0.0
    if isinstance(error, SessionClosed):
        return None if error.code in FINAL_CLOSE_CODES else 0.0
    if isinstance(error, LaboratoryError):
        return None  # a protocol error of this side's making would repeat
    if isinstance(error, (OSError, TimeoutError)):
        return 0.0
    return None
