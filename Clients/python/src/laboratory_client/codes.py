"""Close codes (``closing.code``) and response statuses, PROTOCOL.md §14. Both are open sets:
values not listed here are kept as plain integers."""

from __future__ import annotations

from enum import IntEnum


class CloseCode(IntEnum):
    NORMAL = 1
    PROTOCOL_VIOLATION = 2
    FRAME_TOO_LARGE = 3
    DECRYPTION_FAILED = 4
    HANDSHAKE_TIMEOUT = 5
    WRONG_PASSWORD = 6
    INVALID_NAME = 7
    PLAINTEXT_NOT_ALLOWED = 8
    SERVER_STOPPING = 9
    INTERNAL_ERROR = 10
    UNSUPPORTED_VERSION = 11
    PEER_CLOSED = 12
    SLOW_CONSUMER = 13
    KEY_EXHAUSTED = 14
    REFUSED = 15
    IDLE_TIMEOUT = 16
    KICKED = 17


class Status(IntEnum):
    OK = 0
    UNKNOWN_SERVICE = 1
    SERVICE_ERROR = 2
    INTERNAL_ERROR = 3
    REJECTED = 4


def code_name(code: int) -> str:
    """``wrong password`` for 6, ``code 99`` for a code this client does not know."""
    try:
        return CloseCode(code).name.lower().replace("_", " ")
    except ValueError:
        return f"code {code}"
