"""Server trust: pinning one fingerprint, or a known-hosts file with trust on first use.

The known-hosts file is the format PROTOCOL.md §4 defines, shared with the Swift clients
(``~/.config/laboratory/known_hosts``): one ``ENDPOINT SHA256:...`` entry a line, where ENDPOINT is
``host:port`` with the host's ASCII letters in lower case and an IPv6 literal in brackets
(``[::1]:12800``); blank lines and lines starting with ``#`` are comments; any other line that is
not exactly two fields, a valid endpoint and a ``SHA256:`` fingerprint is malformed: it never
matches, and it is kept unchanged when the file is rewritten. The first entry for an endpoint
counts."""

from __future__ import annotations

import os
import re
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Callable, Protocol

from .errors import ServerKeyMismatch, UnknownServerKey


def config_directory() -> Path:
    """``$XDG_CONFIG_HOME/laboratory``, else ``~/.config/laboratory``."""
    base = os.environ.get("XDG_CONFIG_HOME") or os.path.join(os.path.expanduser("~"), ".config")
    return Path(base) / "laboratory"


def default_known_hosts_path() -> Path:
    return config_directory() / "known_hosts"


_ASCII_LOWER = str.maketrans("ABCDEFGHIJKLMNOPQRSTUVWXYZ", "abcdefghijklmnopqrstuvwxyz")


def endpoint_key(host: str, port: int) -> str:
    """How a server is named in the file: ``host:port``, ASCII letters in lower case, an IPv6
    literal (any host containing ``:``) in brackets. Nothing else is normalized."""
    host = host.translate(_ASCII_LOWER)
    if host.startswith("[") and host.endswith("]"):
        host = host[1:-1]
    return f"[{host}]:{port}" if ":" in host else f"{host}:{port}"


def canonical_endpoint(field: str) -> str | None:
    """An endpoint field in canonical form, or ``None`` if it is not one. Also reads the
    unbracketed IPv6 form (``::1:12800``) that earlier clients wrote, splitting at the last colon."""
    host, colon, port_text = field.rpartition(":")
    if not colon or not port_text.isascii() or not port_text.isdigit():
        return None
    port = int(port_text)
    if not 1 <= port <= 65535 or str(port) != port_text:
        return None
    if host.startswith("["):
        if not host.endswith("]") or len(host) <= 2:
            return None
        host = host[1:-1]
    elif "[" in host or "]" in host:
        return None
    if not host:
        return None
    return endpoint_key(host, port)


def parse_entry(line: str) -> tuple[str, str] | None:
    """The ``(endpoint, fingerprint)`` a line holds, or ``None`` for a comment, a blank or a
    malformed line."""
    fields = line.replace("\t", " ").split(" ")
    fields = [field for field in fields if field]
    if len(fields) != 2 or fields[0].startswith("#") or not fields[1].startswith("SHA256:"):
        return None
    endpoint = canonical_endpoint(fields[0])
    return (endpoint, fields[1]) if endpoint is not None else None


class ServerTrust(Protocol):
    """Decides whether to trust a server's identity key; raises a :class:`HandshakeError` (before
    anything is sent) when it does not."""

    def check(self, host: str, port: int, fingerprint: str) -> None: ...


def is_well_formed_fingerprint(text: str) -> bool:
    """Whether ``text`` has the form of a key fingerprint (PROTOCOL.md §4): ``SHA256:`` and the 43
    characters of an unpadded standard base64 SHA-256 digest. The Swift clients check the same."""
    return re.fullmatch(r"SHA256:[A-Za-z0-9+/]{43}", text) is not None


@dataclass(frozen=True)
class Pinned:
    """Accept only the key with this fingerprint (``SHA256:...``, as the server prints it). A pin
    of any other form raises ``ValueError`` at once: a typo must not read as a key mismatch."""

    fingerprint: str

    def __post_init__(self) -> None:
        if not is_well_formed_fingerprint(self.fingerprint):
            raise ValueError(
                f"{self.fingerprint!r} is not a key fingerprint; give it as the server prints it: "
                "SHA256: and 43 base64 characters"
            )

    def check(self, host: str, port: int, fingerprint: str) -> None:
        if fingerprint != self.fingerprint:
            raise ServerKeyMismatch(
                f"the server's key {fingerprint} is not the pinned {self.fingerprint}", fingerprint, self.fingerprint
            )


@dataclass(frozen=True)
class Custom:
    """Trust decided by ``decide(host, port, fingerprint) -> bool``; called during the handshake,
    so it must answer quickly (the server's step deadline is running)."""

    decide: Callable[[str, int, str], bool]

    def check(self, host: str, port: int, fingerprint: str) -> None:
        if not self.decide(host, port, fingerprint):
            raise ServerKeyMismatch(f"the server's key {fingerprint} was not trusted", fingerprint, None)


class KnownHosts:
    """A known-hosts file. A recorded key must match; a new one is recorded when ``accept_new``,
    otherwise :class:`UnknownServerKey` is raised so the caller can ask its user, :meth:`add` the
    key and connect again."""

    def __init__(self, path: str | os.PathLike[str] | None = None, *, accept_new: bool = False) -> None:
        self.path = Path(path) if path is not None else default_known_hosts_path()
        self.accept_new = accept_new

    def lines(self) -> list[str]:
        """Every line of the file, without line breaks (``\\n`` or ``\\r\\n``)."""
        try:
            text = self.path.read_bytes().decode("utf-8")
        except FileNotFoundError:
            return []
        lines = text.split("\n")
        if lines and lines[-1] == "":
            lines.pop()
        return [line[:-1] if line.endswith("\r") else line for line in lines]

    def entries(self) -> list[tuple[str, str]]:
        """The well-formed entries, in file order, endpoints in canonical form."""
        return [entry for entry in map(parse_entry, self.lines()) if entry is not None]

    def lookup(self, host: str, port: int) -> str | None:
        key = endpoint_key(host, port)
        for endpoint, fingerprint in self.entries():
            if endpoint == key:
                return fingerprint
        return None

    def add(self, host: str, port: int, fingerprint: str) -> None:
        """Records (or replaces) the key for ``host:port``, writing the file atomically; comments
        and malformed lines are kept."""
        key = endpoint_key(host, port)
        kept = [line for line in self.lines() if (parse_entry(line) or ("",))[0] != key]
        self.path.parent.mkdir(parents=True, exist_ok=True)
        text = "".join(f"{line}\n" for line in kept + [f"{key} {fingerprint}"])
        handle, temporary = tempfile.mkstemp(dir=self.path.parent, prefix=".known_hosts.")
        try:
            with os.fdopen(handle, "w", encoding="utf-8") as file:
                file.write(text)
            os.replace(temporary, self.path)
        except BaseException:
            os.unlink(temporary)
            raise

    def check(self, host: str, port: int, fingerprint: str) -> None:
        known = self.lookup(host, port)
        if known is None:
            if not self.accept_new:
                raise UnknownServerKey(endpoint_key(host, port), fingerprint)
            self.add(host, port, fingerprint)
        elif known != fingerprint:
            raise ServerKeyMismatch(
                f"the key of {endpoint_key(host, port)} changed: it is {fingerprint}, but {self.path} "
                f"records {known}; if the change is expected, remove that line",
                fingerprint,
                known,
            )
