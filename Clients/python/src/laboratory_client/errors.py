"""Exceptions. Every failure is a :class:`LaboratoryError`; handshake failures name the step that
failed and, when the server said why, its close code and message."""

from __future__ import annotations

import math
from enum import Enum

from .codes import code_name


class LaboratoryError(Exception):
    """Base class of everything this package raises on purpose."""


class ProtocolError(LaboratoryError):
    """The peer sent something the protocol does not allow (a malformed message, a frame too large,
    a message out of place)."""


class Step(str, Enum):
    """Where in the handshake (PROTOCOL.md §9) a connection failed."""

    CONNECT = "connect"  # opening TCP
    HELLO = "hello"  # waiting for and parsing the server hello (or a refusal instead)
    TRUST = "trust"  # checking the identity key against the pin or known hosts
    CERTIFICATE = "certificate"  # the transport key's signature, validity window and size
    KEY_EXCHANGE = "key exchange"  # sending the secret, waiting for passwordPrompt
    PASSWORD = "password"  # sending the password, waiting for namePrompt
    NAME = "name"  # sending the name, waiting for accepted


class HandshakeError(LaboratoryError):
    """The handshake failed at ``step``.

    ``kind`` is a short machine-readable reason (``refused``, ``closed``, ``timeout``,
    ``server key mismatch``, ``unknown server key``, ``bad certificate``, ``not laboratory``,
    ``unsupported version``, ``decryption failed``, ``protocol violation``, ``network``,
    ``invalid name``, ``name rejected``). ``code`` and ``server_message`` are the server's
    ``closing`` when it sent one (``code`` is ``None`` otherwise). ``retry_after`` is, for a
    refusal because the address is locked out, the seconds until the server lets it in again.
    For ``name rejected`` (the server refused the display name after the right password),
    ``server_message`` is its reason.
    """

    def __init__(
        self,
        step: Step,
        kind: str,
        detail: str,
        *,
        code: int | None = None,
        server_message: str | None = None,
        retry_after: float | None = None,
    ) -> None:
        self.step = step
        self.kind = kind
        self.detail = detail
        self.code = code
        self.server_message = server_message
        self.retry_after = retry_after
        text = f"handshake failed at step '{step.value}': {detail}"
        if code is not None:
            text += f" (server closed with code {code}, {code_name(code)}: {server_message!r})"
        if retry_after is not None:
            text += f"; locked out for {spoken_duration(retry_after)}"
        super().__init__(text)


def spoken_duration(seconds: float) -> str:
    """A wait as a person reads it, rounded up to whole seconds: ``45s``, ``4m 30s``, ``1h 2m 5s``."""
    whole = max(1, math.ceil(seconds))
    parts = [(whole // 3600, "h"), (whole // 60 % 60, "m"), (whole % 60, "s")]
    return " ".join(f"{value}{unit}" for value, unit in parts if value)


class ServerKeyMismatch(HandshakeError):
    """The server's identity key is not the pinned one or the one recorded in the known-hosts file.
    Nothing was sent to the server."""

    def __init__(self, detail: str, fingerprint: str, expected: str | None) -> None:
        super().__init__(Step.TRUST, "server key mismatch", detail)
        self.fingerprint = fingerprint
        self.expected = expected


class UnknownServerKey(HandshakeError):
    """The known-hosts file has no key for this server and the policy does not accept new keys.
    Nothing was sent. Show ``fingerprint`` to the user, record it if they trust it
    (:meth:`KnownHosts.add`), and connect again."""

    def __init__(self, endpoint: str, fingerprint: str) -> None:
        super().__init__(Step.TRUST, "unknown server key", f"unknown server key {fingerprint} for {endpoint}")
        self.endpoint = endpoint
        self.fingerprint = fingerprint


class SessionClosed(LaboratoryError):
    """The session has ended. ``code`` and ``message`` are from the server's ``closing`` or, when it
    sent none, a local reason (code 12, peer closed, when TCP just ended)."""

    def __init__(self, code: int, message: str, *, by_server: bool = True) -> None:
        self.code = code
        self.message = message
        self.by_server = by_server
        source = "the server closed the session" if by_server else "the session ended"
        super().__init__(f"{source}: {message} (code {code}, {code_name(code)})")


class NotConnected(LaboratoryError):
    """A reconnecting client was asked to send while it has no session (it is reconnecting, or has
    ended). Nothing was sent; ask again after its ``Resumed`` event."""


class RequestError(LaboratoryError):
    """A ``response`` with a status other than 0 (PROTOCOL.md §14)."""

    def __init__(self, status: int, message: str, retry_after: float | None = None) -> None:
        self.status = status
        self.message = message
        #: For status 4 (rejected) because of a rate limit: seconds to wait before asking again
        #: (PROTOCOL.md §12, *Request rates*); otherwise ``None``.
        self.retry_after = retry_after
        super().__init__(f"request failed with status {status}: {message}")
