"""The GUI's network side. Everything here runs on an asyncio loop in a background thread; results
go to the UI as ``(kind, ...)`` tuples on a thread-safe queue, which the window drains from Tk's
event loop (``root.after``). The UI thread never waits for the network."""

from __future__ import annotations

import asyncio
import queue
from pathlib import Path
from typing import Any

from ..blocking import LoopThread
from ..chat import Chat
from ..errors import LaboratoryError, UnknownServerKey
from ..events import Closed, ServerStopping, ServiceEvent
from ..known_hosts import KnownHosts
from ..session import Session, connect

# Messages to the UI:
#   ("log", style, text)              style: sent, received, info, error (text not yet cleaned)
#   ("unknown_key", host, port, fingerprint)
#   ("connected", session)            ("connect_failed", message)
#   ("event", event)                  a ServiceEvent or ServerStopping
#   ("closed", reason_text, by_user)  the session ended
#   ("reply", verb, argument, result) a command's result, for the UI to show
#   ("failed", verb, message)         a command failed


class NetworkWorker:
    def __init__(self, known_hosts_path: Path | None = None) -> None:
        self.inbox: queue.Queue[tuple[Any, ...]] = queue.Queue()
        self.known_hosts = KnownHosts(known_hosts_path)
        self._loop = LoopThread("laboratory-gui-network")
        self._session: Session | None = None
        self._closing_by_user = False

    def post(self, *message: Any) -> None:
        self.inbox.put(message)

    # ------------------------------------------------------------------ connecting

    def connect(self, host: str, port: int, password: str, name: str) -> None:
        self._loop.submit(self._connect(host, port, password, name))

    async def _connect(self, host: str, port: int, password: str, name: str) -> None:
        try:
            session = await connect(host, port, password=password, name=name, trust=self.known_hosts)
        except UnknownServerKey as error:
            self.post("unknown_key", host, port, error.fingerprint)
            return
        except LaboratoryError as error:
            self.post("connect_failed", str(error))
            return
        except Exception as error:  # noqa: BLE001 - reported, never a traceback
            self.post("connect_failed", f"unexpected failure: {error!r}")
            return
        self._session = session
        self._closing_by_user = False
        self.post("connected", session)
        asyncio.get_running_loop().create_task(self._pump_events(session))

    def trust(self, host: str, port: int, fingerprint: str) -> None:
        """Records a key the user confirmed (the next connect then accepts exactly that key)."""
        self.known_hosts.add(host, port, fingerprint)

    async def _pump_events(self, session: Session) -> None:
        async for event in session.events():
            if isinstance(event, (ServiceEvent, ServerStopping)):
                self.post("event", event)
            elif isinstance(event, Closed):
                if self._session is session:
                    self._session = None
                self.post("closed", str(event.reason), self._closing_by_user)

    def disconnect(self) -> None:
        self._closing_by_user = True
        session = self._session
        if session is not None:
            self._loop.submit(session.close())

    # ------------------------------------------------------------------ commands

    def run_command(self, verb: str, argument: str | None = None, target: int | None = None) -> None:
        """Runs a command on the session; posts ``reply`` or ``failed``."""
        session = self._session
        if session is None:
            self.post("failed", verb, "not connected")
            return
        self._loop.submit(self._run(session, verb, argument, target))

    async def _run(self, session: Session, verb: str, argument: str | None, target: int | None) -> None:
        try:
            if verb == "echo":
                result: Any = await session.echo(argument or "")
            elif verb == "join":
                result = await Chat(session).join(argument or "")
            elif verb == "leave":
                result = await Chat(session).leave(argument or "")
            elif verb == "who":
                result = await Chat(session).who(argument or "")
            elif verb == "rooms":
                result = await Chat(session).rooms()
            elif verb == "msg":
                result = await Chat(session).direct(target or 0, argument or "")
            elif verb == "rename":
                result = await session.rename(argument or "")
            elif verb == "rekey":
                result = await session.rekey(wait=True)
            elif verb == "ping":
                result = await session.ping()
            else:
                raise LaboratoryError(f"unknown command {verb}")
        except LaboratoryError as error:
            self.post("failed", verb, getattr(error, "message", None) or str(error))
        except Exception as error:  # noqa: BLE001
            self.post("failed", verb, repr(error))
        else:
            self.post("reply", verb, argument, result)

    def say(self, room: str, text: str) -> None:
        session = self._session
        if session is None:
            self.post("failed", "say", "not connected")
            return

        async def say() -> None:
            try:
                await Chat(session).say(room, text)
            except LaboratoryError as error:
                self.post("failed", "say", getattr(error, "message", None) or str(error))

        self._loop.submit(say())

    def shutdown(self) -> None:
        session = self._session
        if session is not None:
            try:
                self._loop.run(session.close(timeout=2), timeout=3)
            except Exception:  # noqa: BLE001
                pass
        self._loop.stop()
