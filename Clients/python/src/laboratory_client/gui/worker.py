"""The GUI's network side. Everything here runs on an asyncio loop in a background thread; results
go to the UI as ``(kind, ...)`` tuples on a thread-safe queue, which the window drains from Tk's
event loop (``root.after``). The UI thread never waits for the network. The chat client reconnects
by itself after a lost connection and resumes its rooms (:class:`ReconnectingChat`)."""

from __future__ import annotations

import asyncio
import queue
from pathlib import Path
from typing import Any

from ..backoff import Backoff
from ..blocking import LoopThread
from ..connection_state import ConnectionLost, Ended, Reconnecting, RejoinFailed, Resumed
from ..errors import LaboratoryError, UnknownServerKey
from ..known_hosts import KnownHosts
from ..reconnecting import ReconnectingChat

# Messages to the UI:
#   ("log", style, text)              style: sent, received, info, error (text not yet cleaned)
#   ("unknown_key", host, port, fingerprint)
#   ("connected", session)            ("connect_failed", message)
#   ("event", event, connection_id)   a ChatEvent (each room event once, in order), another
#                                     service's ServiceEvent, ServerStopping, HistoryGap or
#                                     NumberingRestarted; the id of the session it came through
#   ("lost", reason_text)             the connection was lost; reconnecting follows
#   ("reconnecting", attempt, delay)  attempt number, seconds until it starts
#   ("resumed", session)              a new session; rooms rejoined (who replies follow)
#   ("closed", reason_text, by_user)  the client ended (the user, or an ending that forbids
#                                     reconnecting: a kick, a wrong password, a changed key)
#   ("reply", verb, argument, result) a command's result, for the UI to show
#   ("failed", verb, message)         a command failed


class NetworkWorker:
    def __init__(self, known_hosts_path: Path | None = None, backoff: Backoff = Backoff()) -> None:
        self.inbox: queue.Queue[tuple[Any, ...]] = queue.Queue()
        self.known_hosts = KnownHosts(known_hosts_path)
        self.backoff = backoff
        self._loop = LoopThread("laboratory-gui-network")
        self._chat: ReconnectingChat | None = None
        self._closing_by_user = False

    def post(self, *message: Any) -> None:
        self.inbox.put(message)

    # ------------------------------------------------------------------ connecting

    def connect(self, host: str, port: int, password: str, name: str) -> None:
        self._loop.submit(self._connect(host, port, password, name))

    async def _connect(self, host: str, port: int, password: str, name: str) -> None:
        chat = ReconnectingChat(host, port, password=password, name=name, trust=self.known_hosts, backoff=self.backoff)
        try:
            await chat.start()
        except UnknownServerKey as error:
            self.post("unknown_key", host, port, error.fingerprint)
            return
        except LaboratoryError as error:
            self.post("connect_failed", str(error))
            return
        except Exception as error:  # noqa: BLE001 - reported, never a traceback
            self.post("connect_failed", f"unexpected failure: {error!r}")
            return
        self._chat = chat
        self._closing_by_user = False
        self.post("connected", chat.session)
        asyncio.get_running_loop().create_task(self._pump_events(chat))

    def trust(self, host: str, port: int, fingerprint: str) -> None:
        """Records a key the user confirmed (the next connect then accepts exactly that key)."""
        self.known_hosts.add(host, port, fingerprint)

    async def _pump_events(self, chat: ReconnectingChat) -> None:
        async for event in chat.events():
            if isinstance(event, ConnectionLost):
                self.post("lost", str(event.reason))
            elif isinstance(event, Reconnecting):
                self.post("reconnecting", event.attempt, event.delay)
            elif isinstance(event, Resumed):
                self.post("resumed", chat.session)
                for room in chat.rooms:  # the member lists, as they are now
                    await self._run(chat, "who", room, None)
            elif isinstance(event, RejoinFailed):
                self.post("log", "error", f"Could not rejoin {event.room}: {event.error}")
            elif isinstance(event, Ended):
                if self._chat is chat:
                    self._chat = None
                self.post("closed", str(event.reason), self._closing_by_user)
            else:
                # Whether an event is this client's own is judged by the id of the session it came
                # through (the new one, for what a rejoin replays); ids restart with the server.
                self.post("event", event, chat.session.connection_id if chat.session else None)

    def disconnect(self) -> None:
        self._closing_by_user = True
        chat = self._chat
        if chat is not None:
            self._loop.submit(chat.close())

    # ------------------------------------------------------------------ commands

    def run_command(self, verb: str, argument: str | None = None, target: int | None = None) -> None:
        """Runs a command on the session; posts ``reply`` or ``failed``."""
        chat = self._chat
        if chat is None:
            self.post("failed", verb, "not connected")
            return
        self._loop.submit(self._run(chat, verb, argument, target))

    async def _run(self, chat: ReconnectingChat, verb: str, argument: str | None, target: int | None) -> None:
        try:
            session = chat.session
            if session is None or not chat.connected:
                raise LaboratoryError("not connected (reconnecting)")
            if verb == "echo":
                result: Any = await session.echo(argument or "")
            elif verb == "join":
                result = await chat.join(argument or "")
            elif verb == "leave":
                result = await chat.leave(argument or "")
            elif verb == "who":
                result = await chat.who(argument or "")
            elif verb == "rooms":
                result = await chat.list_rooms()
            elif verb == "msg":
                result = await chat.direct(target or 0, argument or "")
            elif verb == "rename":
                result = await chat.rename(argument or "")
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
        chat = self._chat
        if chat is None:
            self.post("failed", "say", "not connected")
            return

        async def say() -> None:
            try:
                await chat.say(room, text)
            except LaboratoryError as error:
                self.post("failed", "say", getattr(error, "message", None) or str(error))

        self._loop.submit(say())

    def shutdown(self) -> None:
        chat = self._chat
        if chat is not None:
            try:
                self._loop.run(asyncio.wait_for(chat.close(), 3), timeout=4)
            except Exception:  # noqa: BLE001
                pass
        self._loop.stop()
