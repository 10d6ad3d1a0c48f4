"""A chat client that reconnects by itself after a network cut or a server restart and resumes its
rooms (PROTOCOL.md §17, *Ordering and replay*): backoff with full jitter (:mod:`.backoff`), the
rooms' resumption (:mod:`.resume`) and the connection's state (:mod:`.connection_state`) put
together over sessions and the chat service.

    async with lab.ReconnectingChat("127.0.0.1", 12800, password=..., name="ada", trust=...) as chat:
        await chat.join("lobby")
        async for event in chat.events():   # chat events, notices, connection states; Ended last
            ...
"""

from __future__ import annotations

import asyncio
import random as _random
from typing import Any, AsyncIterator, Awaitable, Callable

from .backoff import Backoff, retry_floor
from .chat import Chat, ChatMember, ChatReply, ChatRoom
from .connection_state import ConnectionLost, Ended, Reconnecting, RejoinFailed, Resumed
from .errors import LaboratoryError, NotConnected, RequestError, ServerKeyMismatch, SessionClosed
from .events import ChatEvent, Closed, ServerStopping, ServiceEvent
from .known_hosts import KnownHosts, ServerTrust
from .resume import HistoryGap, NumberingRestarted, RejoinFromStart, RoomResume
from .session import DEFAULT_PORT, Session, connect

__all__ = ["ReconnectingChat", "ReconnectingEvent"]

ReconnectingEvent = (
    ChatEvent | HistoryGap | NumberingRestarted | ServiceEvent | ServerStopping | ConnectionLost | Reconnecting
    | Resumed | RejoinFailed | Ended
)
"""What :meth:`ReconnectingChat.events` yields: chat events (``message``, ``joined``, …; each room
event once, in order), the two resumption notices, other services' events, the server stopping,
and the connection's states, :class:`Ended` last."""


class _SameServer:
    """The trust for reconnections: the key the first session was accepted with, and the
    application's own trust as well. Another key ends the client (nothing is sent to it)."""

    def __init__(self, trust: ServerTrust, fingerprint: str) -> None:
        self._trust = trust
        self._fingerprint = fingerprint

    def check(self, host: str, port: int, fingerprint: str) -> None:
        if fingerprint != self._fingerprint:
            raise ServerKeyMismatch(
                f"the server's identity key changed since the first connection: was {self._fingerprint},"
                f" now {fingerprint}; not reconnecting",
                fingerprint,
                self._fingerprint,
            )
        self._trust.check(host, port, fingerprint)


class ReconnectingChat:
    """Chat over a session that is replaced when it is lost, following PROTOCOL.md §17,
    *Reconnecting and resuming*. ``join``, ``leave``, ``say``, ``direct``, ``who``, ``list_rooms``
    and ``rename`` act on the current session and raise :class:`NotConnected` while there is none
    (nothing is sent; a request cut off by the loss raises :class:`SessionClosed` and may or may not
    have been carried out: it is not sent again).

    The first connection's failures are raised by :meth:`start` (or ``async with``). After a loss
    that allows it (:func:`~laboratory_client.backoff.retry_floor`: not a kick, a wrong password,
    a changed server key, …), it waits ``backoff.delay(attempt)`` (at least the lockout a refusal
    names), connects again to the same server key, rejoins every room with ``after`` set to the
    last sequence number seen there, and delivers what was missed once and in order. With
    ``give_up_after``, it ends after that many failed attempts in a row. Every
    ``liveness_interval`` seconds (``None``: never) it pings the server, and a ping unanswered for
    as long ends the connection as lost: a network that fails silently (no reset ever arrives)
    is noticed in at most twice that time. ``on_state``, if given,
    is called with each :class:`ConnectionLost`, :class:`Reconnecting`, :class:`Resumed`,
    :class:`RejoinFailed` and :class:`Ended` as well (``connect_options`` go to :func:`connect`)."""

    def __init__(
        self,
        host: str,
        port: int = DEFAULT_PORT,
        *,
        password: str,
        name: str,
        trust: ServerTrust | None = None,
        backoff: Backoff = Backoff(),
        give_up_after: int | None = None,
        liveness_interval: float | None = 15.0,
        on_state: Callable[[Any], None] | None = None,
        random: Callable[[], float] = _random.random,
        **connect_options: Any,
    ) -> None:
        self.host = host
        self.port = port
        self.backoff = backoff
        self.give_up_after = give_up_after
        self.liveness_interval = liveness_interval
        self._password = password
        self.name = name
        self._trust: ServerTrust = trust if trust is not None else KnownHosts()
        self._options = connect_options
        self._on_state = on_state
        self._random = random
        self._resume = RoomResume()
        self._out: asyncio.Queue[ReconnectingEvent] = asyncio.Queue()
        self._session: Session | None = None
        self._chat: Chat | None = None  # set while a session is up and resumed
        self._pump: asyncio.Task[None] | None = None
        self._liveness: asyncio.Task[None] | None = None
        self._supervisor: asyncio.Task[None] | None = None
        self._stop = asyncio.Event()
        self._ended: Ended | None = None
        self.fingerprint: str | None = None
        #: Sessions accepted so far (1 after start, one more for each reconnection).
        self.sessions = 0

    # ---- life cycle ------------------------------------------------------------------------------

    async def start(self) -> "ReconnectingChat":
        """Connects for the first time; raises what :func:`connect` raises."""
        session = await connect(
            self.host, self.port, password=self._password, name=self.name, trust=self._trust, **self._options
        )
        self.fingerprint = session.server_fingerprint
        self._trust = _SameServer(self._trust, session.server_fingerprint)
        self._attach(session)
        self._chat = Chat(session)
        self._supervisor = asyncio.get_running_loop().create_task(self._supervise())
        return self

    async def close(self) -> Ended:
        """Says bye (or stops reconnecting); returns the :class:`Ended` event, also the last one
        :meth:`events` yields."""
        self._stop.set()
        self._chat = None
        if self._supervisor is not None:
            await asyncio.shield(self._supervisor)
        if self._ended is None:
            self._end(SessionClosed(1, "closed by the client", by_server=False))
        return self._ended  # type: ignore[return-value]

    async def __aenter__(self) -> "ReconnectingChat":
        return await self.start()

    async def __aexit__(self, *exc_info: object) -> None:
        await self.close()

    # ---- state -----------------------------------------------------------------------------------

    @property
    def connected(self) -> bool:
        """Whether a session is up and its rooms resumed (requests can be sent)."""
        return self._chat is not None

    @property
    def session(self) -> Session | None:
        """The current session (``None`` between sessions)."""
        return self._session

    @property
    def rooms(self) -> list[str]:
        """The rooms joined, resumed after each reconnection."""
        return self._resume.rooms

    def last_seen(self, room: str) -> int | None:
        """The last sequence number delivered for ``room`` (``None`` if not in it)."""
        return self._resume.last_seen(room)

    # ---- requests --------------------------------------------------------------------------------

    def _current(self) -> tuple[Session, Chat]:
        if self._chat is None or self._session is None:
            state = "has ended" if self._ended is not None or self._stop.is_set() else "is reconnecting"
            raise NotConnected(f"not connected: the client {state}")
        return self._session, self._chat

    async def join(self, room: str) -> ChatReply:
        """Joins ``room`` and keeps it joined across reconnections."""
        session, chat = self._current()
        new = self._resume.last_seen(room) is None
        self._resume.joining(room)
        try:
            reply = await chat.join(room)
        except BaseException:
            if new:
                self._resume.left(room)
            raise
        self._drain(session)
        self._resume.joined(room, reply.sequence)
        return reply

    async def leave(self, room: str) -> ChatReply:
        session, chat = self._current()
        reply = await chat.leave(room)
        self._drain(session)
        self._resume.left(room)
        return reply

    async def rename(self, new_name: str) -> None:
        """Changes the display name (:meth:`Session.rename`); reconnections then use the new one."""
        await self._current()[0].rename(new_name)
        self.name = new_name

    async def say(self, room: str, text: str) -> int | None:
        return await self._current()[1].say(room, text)

    async def direct(self, to: int, text: str) -> None:
        await self._current()[1].direct(to, text)

    async def who(self, room: str) -> list[ChatMember]:
        return await self._current()[1].who(room)

    async def list_rooms(self) -> list[ChatRoom]:
        """Every room on the server (``rooms`` is the ones this client is in)."""
        return await self._current()[1].rooms()

    # ---- events ----------------------------------------------------------------------------------

    async def next_event(self, timeout: float | None = None) -> ReconnectingEvent:
        """The next event; after the end, :class:`Ended` again and again."""
        if self._out.empty() and self._ended is not None:
            return self._ended
        return await asyncio.wait_for(self._out.get(), timeout)

    async def events(self) -> AsyncIterator[ReconnectingEvent]:
        """Events until the end (:class:`Ended` is the last one)."""
        while True:
            event = await self.next_event()
            yield event
            if isinstance(event, Ended):
                return

    def _put(self, event: ReconnectingEvent) -> None:
        self._out.put_nowait(event)
        if self._on_state is not None and isinstance(event, (ConnectionLost, Reconnecting, Resumed, RejoinFailed, Ended)):
            self._on_state(event)

    def _end(self, reason: LaboratoryError) -> None:
        if self._ended is None:
            self._ended = Ended(reason)
            self._put(self._ended)

    # Every event of a session goes through _feed exactly once, in arrival order: from the pump
    # task, or from _drain right after a reply (which takes what preceded the reply, so that the
    # reply is handled in its place). Both run without awaiting in between.
    def _feed(self, event: Any) -> None:
        if isinstance(event, ServiceEvent):
            chat_event = event.chat
            if chat_event is None:
                self._put(event)
                return
            for delivered in self._resume.event(chat_event):
                self._put(delivered)
        elif isinstance(event, ServerStopping):
            self._put(event)
        # Closed: the supervisor learns of the end from the session itself.

    def _drain(self, session: Session) -> None:
        while (event := session.poll_event()) is not None:
            self._feed(event)

    async def _pump_events(self, session: Session) -> None:
        # No timeout: with one, Python 3.11 runs the queue's get in a task of its own, which could
        # take an event out before a drain and hand it over after, out of order.
        while not isinstance(event := await session.next_event(), Closed):
            self._feed(event)

    def _attach(self, session: Session) -> None:
        self._session = session
        self.sessions += 1
        loop = asyncio.get_running_loop()
        self._pump = loop.create_task(self._pump_events(session))
        if self.liveness_interval is not None:
            self._liveness = loop.create_task(self._watch_liveness(session, self.liveness_interval))

    async def _watch_liveness(self, session: Session, interval: float) -> None:
        while not session.closed:
            await asyncio.sleep(interval)  # a period, not a wait for something else
            try:
                await asyncio.wait_for(session.ping(), interval)
            except TimeoutError:
                await session.abort(f"the connection was lost: no answer to a ping within {interval:g} s")
                return
            except LaboratoryError:
                return  # the session ended; the supervisor has its reason

    async def _detach(self) -> None:
        session, pump, liveness = self._session, self._pump, self._liveness
        self._chat = None
        self._session = self._pump = self._liveness = None
        if session is not None:
            if not session.closed:
                await session.abort()  # an attempt that failed half-way
            self._drain(session)  # what arrived before the end is still delivered
        for task in (pump, liveness):
            if task is not None:
                task.cancel()
                await asyncio.gather(task, return_exceptions=True)

    # ---- reconnecting ----------------------------------------------------------------------------

    async def _session_ended(self, session: Session) -> LaboratoryError:
        """Waits for ``session`` to end, saying bye first if the client is closed meanwhile."""
        ended = asyncio.ensure_future(session.wait_closed())
        stop = asyncio.ensure_future(self._stop.wait())
        try:
            await asyncio.wait({ended, stop}, return_when=asyncio.FIRST_COMPLETED)
        finally:
            stop.cancel()
        if not ended.done():
            await session.close()
        return await ended

    async def _supervise(self) -> None:
        loop = asyncio.get_running_loop()
        by_client = SessionClosed(1, "closed by the client", by_server=False)
        try:
            while True:
                assert self._session is not None
                reason = await self._session_ended(self._session)
                await self._detach()
                if self._stop.is_set():
                    return self._end(reason if reason.code == 1 else by_client)
                floor = retry_floor(reason)
                if floor is None:
                    return self._end(reason)
                self._put(ConnectionLost(reason))
                lost_at = loop.time()
                attempt = 0
                error: LaboratoryError = reason
                while True:
                    delay = self.backoff.delay(attempt, floor, self._random)
                    attempt += 1
                    self._put(Reconnecting(attempt, delay, error))
                    if await self._stopped_within(delay):
                        return self._end(by_client)
                    try:
                        await self._reconnect()
                    except (LaboratoryError, OSError, TimeoutError) as failure:
                        await self._detach()
                        error = failure if isinstance(failure, LaboratoryError) else SessionClosed(
                            12, f"the connection failed: {failure!r}", by_server=False
                        )
                        if self._stop.is_set():
                            return self._end(by_client)
                        floor = retry_floor(error)
                        if floor is None or (self.give_up_after is not None and attempt >= self.give_up_after):
                            return self._end(error)
                        continue
                    break
                assert self._session is not None
                if not self._stop.is_set():
                    self._chat = Chat(self._session)
                    self._put(Resumed(self._session.connection_id, tuple(self._resume.rooms), attempt, loop.time() - lost_at))
        except asyncio.CancelledError:
            self._end(SessionClosed(12, "the client was cancelled", by_server=False))
            raise
        except Exception as error:  # noqa: BLE001 - a bug here must still end the stream
            await self._detach()
            self._end(LaboratoryError(f"the reconnecting client failed: {error!r}"))

    async def _stopped_within(self, delay: float) -> bool:
        try:
            await asyncio.wait_for(self._stop.wait(), delay)
            return True
        except TimeoutError:
            return False

    async def _reconnect(self) -> None:
        """One attempt: a new session, then every room rejoined from its last sequence number."""
        session = await connect(
            self.host, self.port, password=self._password, name=self.name, trust=self._trust, **self._options
        )
        self._attach(session)
        chat = Chat(session)
        for room, after in self._resume.reconnected().items():
            try:
                await self._rejoin(session, chat, room, after)
            except RequestError as error:  # the server refused the room (its limit, its name, …)
                self._drain(session)
                self._resume.rejoin_failed(room)
                self._put(RejoinFailed(room, error))

    async def _rejoin(self, session: Session, chat: Chat, room: str, after: int) -> None:
        reply = await _patiently(lambda: chat.join(room, after=after))
        self._drain(session)
        results = self._resume.rejoined(room, after, reply.sequence, reply.missed_from, reply.missed_to)
        if any(isinstance(result, RejoinFromStart) for result in results):
            # A new numbering: join again from its start, to be replayed the new run's events that
            # the first rejoin took for already seen (PROTOCOL.md §17 asks at least for the notice).
            self._put(next(result for result in results if isinstance(result, NumberingRestarted)))
            await _patiently(lambda: chat.leave(room))
            reply = await _patiently(lambda: chat.join(room, after=0))
            self._drain(session)
            results = self._resume.rejoined(room, 0, reply.sequence, reply.missed_from, reply.missed_to)
        for result in results:
            self._put(result)  # type: ignore[arg-type]


async def _patiently(request: Callable[[], Awaitable[ChatReply]]) -> ChatReply:
    """``request()``, asked again after the wait a rate limit's rejection names (PROTOCOL.md §12):
    a client in 16 rooms whose numbering restarted makes 48 membership requests at once, beyond
    the server's burst of 40."""
    while True:
        try:
            return await request()
        except RequestError as error:
            if error.retry_after is None:
                raise
            await asyncio.sleep(error.retry_after)
