"""A blocking API for scripts: an asyncio loop runs in a background thread and every call waits for
its result.

    with laboratory_client.blocking.connect("127.0.0.1", 12800, password=..., name="bot") as session:
        print(session.echo("hello"))
"""

from __future__ import annotations

import asyncio
import queue
import threading
from typing import Any, Coroutine, TypeVar

from .chat import Chat, ChatMember, ChatReply, ChatRoom
from .connection_state import Ended
from .events import Closed, SessionEvent
from .reconnecting import ReconnectingChat, ReconnectingEvent
from .session import DEFAULT_PORT, Session
from .session import connect as async_connect

T = TypeVar("T")


class LoopThread:
    """An asyncio event loop running in a daemon thread."""

    def __init__(self, name: str = "laboratory-client") -> None:
        self.loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self.loop.run_forever, name=name, daemon=True)
        self._thread.start()

    def run(self, coroutine: Coroutine[Any, Any, T], timeout: float | None = None) -> T:
        return asyncio.run_coroutine_threadsafe(coroutine, self.loop).result(timeout)

    def submit(self, coroutine: Coroutine[Any, Any, T]):
        """Schedules ``coroutine``; returns a :class:`concurrent.futures.Future`."""
        return asyncio.run_coroutine_threadsafe(coroutine, self.loop)

    def stop(self) -> None:
        if self.loop.is_running():
            self.loop.call_soon_threadsafe(self.loop.stop)
            self._thread.join(5)
        if not self.loop.is_running():
            self.loop.close()


class BlockingChat:
    def __init__(self, session: "BlockingSession") -> None:
        self._session = session
        self._chat = Chat(session.session)

    def join(self, room: str, after: int | None = None) -> ChatReply:
        return self._session._run(self._chat.join(room, after))

    def leave(self, room: str) -> ChatReply:
        return self._session._run(self._chat.leave(room))

    def rooms(self) -> list[ChatRoom]:
        return self._session._run(self._chat.rooms())

    def who(self, room: str) -> list[ChatMember]:
        return self._session._run(self._chat.who(room))

    def say(self, room: str, text: str) -> int | None:
        return self._session._run(self._chat.say(room, text))

    def direct(self, to: int, text: str) -> None:
        self._session._run(self._chat.direct(to, text))


class BlockingSession:
    """The blocking face of a :class:`Session`; the same methods, without ``await``."""

    def __init__(self, session: Session, loop_thread: LoopThread, owns_loop: bool) -> None:
        self.session = session
        self._loop_thread = loop_thread
        self._owns_loop = owns_loop
        self.chat = BlockingChat(self)
        self._events: queue.Queue[SessionEvent] = queue.Queue()
        loop_thread.submit(self._pump_events())

    async def _pump_events(self) -> None:
        async for event in self.session.events():
            self._events.put(event)

    def _run(self, coroutine: Coroutine[Any, Any, T], timeout: float | None = None) -> T:
        return self._loop_thread.run(coroutine, timeout)

    # Properties of the accepted session.
    @property
    def connection_id(self) -> int:
        return self.session.connection_id

    @property
    def server_name(self) -> str:
        return self.session.server_name

    @property
    def services(self) -> tuple[str, ...]:
        return self.session.services

    @property
    def server_fingerprint(self) -> str:
        return self.session.server_fingerprint

    @property
    def closed(self) -> bool:
        return self.session.closed

    def request(self, service: str, body: bytes | str = b"", timeout: float | None = None) -> bytes:
        return self._run(self.session.request(service, body), timeout)

    def echo(self, text: str, timeout: float | None = None) -> str:
        return self._run(self.session.echo(text), timeout)

    def rename(self, new_name: str) -> None:
        self._run(self.session.rename(new_name))

    def query_server_name(self) -> str:
        return self._run(self.session.query_server_name())

    def ping(self) -> float:
        return self._run(self.session.ping())

    def rekey(self, *, wait: bool = False) -> None:
        self._run(self.session.rekey(wait=wait))

    def next_event(self, timeout: float | None = None) -> SessionEvent:
        """The next pushed event (:class:`Closed` once the session has ended); raises
        :class:`queue.Empty` after ``timeout`` seconds."""
        if self.session.closed and self._events.empty():
            return Closed(self.session.close_reason)  # type: ignore[arg-type]
        return self._events.get(timeout=timeout)

    def close(self) -> None:
        try:
            self._run(self.session.close())
        finally:
            if self._owns_loop:
                self._loop_thread.stop()

    def __enter__(self) -> "BlockingSession":
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()


def connect(
    host: str, port: int = DEFAULT_PORT, *, loop_thread: LoopThread | None = None, **options: Any
) -> BlockingSession:
    """Connects like :func:`laboratory_client.connect` (same keyword options) and blocks until the
    session is accepted; raises the same errors."""
    owns_loop = loop_thread is None
    thread = loop_thread or LoopThread()

    async def open_session() -> Session:
        return await async_connect(host, port, **options)

    try:
        session = thread.run(open_session())
    except BaseException:
        if owns_loop:
            thread.stop()
        raise
    return BlockingSession(session, thread, owns_loop)


class BlockingReconnectingChat:
    """The blocking face of a :class:`ReconnectingChat`; the same methods, without ``await``."""

    def __init__(self, chat: ReconnectingChat, loop_thread: LoopThread, owns_loop: bool) -> None:
        self.chat = chat
        self._loop_thread = loop_thread
        self._owns_loop = owns_loop

    def _run(self, coroutine: Coroutine[Any, Any, T], timeout: float | None = None) -> T:
        return self._loop_thread.run(coroutine, timeout)

    @property
    def connected(self) -> bool:
        return self.chat.connected

    @property
    def rooms(self) -> list[str]:
        return self.chat.rooms

    def join(self, room: str) -> ChatReply:
        return self._run(self.chat.join(room))

    def leave(self, room: str) -> ChatReply:
        return self._run(self.chat.leave(room))

    def say(self, room: str, text: str) -> int | None:
        return self._run(self.chat.say(room, text))

    def direct(self, to: int, text: str) -> None:
        self._run(self.chat.direct(to, text))

    def who(self, room: str) -> list[ChatMember]:
        return self._run(self.chat.who(room))

    def list_rooms(self) -> list[ChatRoom]:
        return self._run(self.chat.list_rooms())

    def rename(self, new_name: str) -> None:
        self._run(self.chat.rename(new_name))

    def next_event(self, timeout: float | None = None) -> ReconnectingEvent:
        """The next event (:class:`Ended` once the client has ended); raises :class:`queue.Empty`
        after ``timeout`` seconds."""
        try:
            return self._run(self.chat.next_event(timeout))
        except TimeoutError:
            raise queue.Empty from None

    def close(self) -> Ended:
        try:
            return self._run(self.chat.close())
        finally:
            if self._owns_loop:
                self._loop_thread.stop()

    def __enter__(self) -> "BlockingReconnectingChat":
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()


def reconnecting_chat(
    host: str, port: int = DEFAULT_PORT, *, loop_thread: LoopThread | None = None, **options: Any
) -> BlockingReconnectingChat:
    """Starts a :class:`ReconnectingChat` (same keyword options) and blocks until its first session
    is accepted; raises what :func:`laboratory_client.connect` raises."""
    owns_loop = loop_thread is None
    thread = loop_thread or LoopThread()

    async def start() -> ReconnectingChat:
        return await ReconnectingChat(host, port, **options).start()

    try:
        chat = thread.run(start())
    except BaseException:
        if owns_loop:
            thread.stop()
        raise
    return BlockingReconnectingChat(chat, thread, owns_loop)
