"""Server trust: pinning one fingerprint, or a known-hosts file with trust on first use.

The known-hosts file is the Swift terminal client's format, so both clients can share
``~/.config/laboratory/known_hosts``: one ``HOST:PORT SHA256:...`` per line, ``#`` comments."""

from __future__ import annotations

import os
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


def endpoint_key(host: str, port: int) -> str:
    return f"{host}:{port}"


class ServerTrust(Protocol):
    """Decides whether to trust a server's identity key; raises a :class:`HandshakeError` (before
    anything is sent) when it does not."""

    def check(self, host: str, port: int, fingerprint: str) -> None: ...


@dataclass(frozen=True)
class Pinned:
    """Accept only the key with this fingerprint (``SHA256:...``)."""

    fingerprint: str

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

    def entries(self) -> list[tuple[str, str]]:
        try:
            text = self.path.read_text(encoding="utf-8")
        except FileNotFoundError:
            return []
        result = []
        for line in text.splitlines():
            fields = line.split()
            if len(fields) >= 2 and not fields[0].startswith("#"):
                result.append((fields[0], fields[1]))
        return result

    def lookup(self, host: str, port: int) -> str | None:
        key = endpoint_key(host, port)
        for endpoint, fingerprint in self.entries():
            if endpoint == key:
                return fingerprint
        return None

    def add(self, host: str, port: int, fingerprint: str) -> None:
        """Records (or replaces) the key for ``host:port``, writing the file atomically."""
        key = endpoint_key(host, port)
        entries = [entry for entry in self.entries() if entry[0] != key] + [(key, fingerprint)]
        self.path.parent.mkdir(parents=True, exist_ok=True)
        text = "".join(f"{endpoint} {value}\n" for endpoint, value in entries)
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
