"""An accepted session (PROTOCOL.md §12): requests matched by id, pushed events, server name,
ping, rename, key updates in both directions, keepalive answers, bye. And :func:`connect`, the
asyncio entry point. Service clients build on it (``Chat(session)`` in :mod:`.chat`); it imports
none of them."""

from __future__ import annotations

import asyncio
import itertools
from collections import deque
from typing import AsyncIterator

from . import messages
from .codes import Status
from .crypto import CryptoFailure, Direction, random_secret
from .errors import HandshakeError, LaboratoryError, ProtocolError, RequestError, SessionClosed, Step
from .events import Closed, ServerStopping, ServiceEvent, SessionEvent
from .framing import DEFAULT_MAX_PAYLOAD, encode_frame, read_frame
from .handshake import RetryName, DEFAULT_CLOCK_SKEW, HandshakeResult, run_handshake
from .known_hosts import KnownHosts, ServerTrust
from .names import display_name_problem

DEFAULT_PORT = 12800
BYE_WAIT = 5.0  # seconds to wait for the server's closing after bye, as the reference client


class Session:
    """A connected, accepted session. Create it with :func:`connect`."""

    def __init__(
        self,
        reader: asyncio.StreamReader,
        writer: asyncio.StreamWriter,
        result: HandshakeResult,
        *,
        host: str,
        port: int,
        max_payload: int = DEFAULT_MAX_PAYLOAD,
    ) -> None:
        self.host = host
        self.port = port
        self.connection_id = result.accepted.connection_id
        self.server_name = result.accepted.server_name
        self.services = result.accepted.services
        self.server_fingerprint = result.fingerprint
        #: The display name the server accepted (the last one offered).
        self.name = result.name
        self._reader = reader
        self._writer = writer
        self._send = result.send
        self._receive = result.receive
        self._max_payload = max_payload
        self._ids = itertools.count(1)  # one counter for requests and renames, as the reference client
        self._pending: dict[int, asyncio.Future[messages.Response]] = {}
        self._pings: dict[int, asyncio.Future[None]] = {}
        self._ping_values = itertools.count(1)
        self._name_queries: deque[asyncio.Future[str]] = deque()
        self._key_update_waiters: list[asyncio.Future[None]] = []
        self._events: asyncio.Queue[SessionEvent] = asyncio.Queue()
        self._closed = asyncio.Event()
        self._reason: SessionClosed | None = None
        self._bye_sent = False
        self.server_key_updates = 0  # keyUpdate messages received (observability, tests)
        self.client_key_updates = 0  # keyUpdate messages sent
        self._reader_task = asyncio.get_running_loop().create_task(self._read_loop())

    # ------------------------------------------------------------------ state

    @property
    def closed(self) -> bool:
        return self._reason is not None

    @property
    def close_reason(self) -> SessionClosed | None:
        return self._reason

    @property
    def encrypted(self) -> bool:
        return self._send is not None

    async def wait_closed(self) -> SessionClosed:
        await self._closed.wait()
        assert self._reason is not None
        return self._reason

    # ------------------------------------------------------------------ sending

    def _check_open(self) -> None:
        if self._reason is not None:
            raise self._reason
        if self._bye_sent:
            raise LaboratoryError("the session is closing (bye was sent)")

    def _write(self, message: bytes) -> None:
        payload = self._send.seal(message) if self._send is not None else message
        self._writer.write(encode_frame(payload))

    async def _drain(self) -> None:
        try:
            await self._writer.drain()
        except (ConnectionError, OSError):
            pass  # the reader notices and ends the session

    def _send_key_update(self, request_update: bool) -> None:
        """Seal a keyUpdate under the current key, then switch (all before anything else is sent)."""
        assert self._send is not None
        secret = random_secret()
        self._write(messages.key_update(secret, request_update))
        self._send.update(secret)
        self.client_key_updates += 1

    # ------------------------------------------------------------------ requests

    async def call(self, service: str, body: bytes | str = b"") -> messages.Response:
        """Sends a request and returns the raw ``response`` (any status)."""
        self._check_open()
        if isinstance(body, str):
            body = body.encode("utf-8")
        request_id = next(self._ids)
        future: asyncio.Future[messages.Response] = asyncio.get_running_loop().create_future()
        self._pending[request_id] = future
        try:
            self._write(messages.request(request_id, service, body))
            await self._drain()
            return await future
        finally:
            self._pending.pop(request_id, None)

    async def request(self, service: str, body: bytes | str = b"") -> bytes:
        """Sends a request; returns the response body, or raises :class:`RequestError`."""
        response = await self.call(service, body)
        if response.status != Status.OK:
            retry_after = None
            # A rate limit's rejection carries the delay as a u32 of milliseconds (§12).
            if response.status == Status.REJECTED and len(response.body) == 4:
                retry_after = int.from_bytes(response.body, "big") / 1000
            raise RequestError(response.status, response.error_message, retry_after)
        return response.body

    async def echo(self, text: str) -> str:
        return (await self.request("echo", text)).decode("utf-8")

    async def rename(self, new_name: str) -> None:
        """Changes the display name; a refused name raises :class:`RequestError` (status 4)."""
        self._check_open()
        request_id = next(self._ids)
        future: asyncio.Future[messages.Response] = asyncio.get_running_loop().create_future()
        self._pending[request_id] = future
        try:
            self._write(messages.rename(request_id, new_name))
            await self._drain()
            response = await future
        finally:
            self._pending.pop(request_id, None)
        if response.status != Status.OK:
            raise RequestError(response.status, response.error_message)

    async def query_server_name(self) -> str:
        self._check_open()
        future: asyncio.Future[str] = asyncio.get_running_loop().create_future()
        self._name_queries.append(future)
        self._write(messages.server_name_query())
        await self._drain()
        return await future

    async def ping(self) -> float:
        """Pings the server; returns the round trip in seconds."""
        self._check_open()
        loop = asyncio.get_running_loop()
        value = next(self._ping_values)
        future: asyncio.Future[None] = loop.create_future()
        self._pings[value] = future
        started = loop.time()
        try:
            self._write(messages.ping(value))
            await self._drain()
            await future
        finally:
            self._pings.pop(value, None)
        return loop.time() - started

    async def rekey(self, *, wait: bool = False, timeout: float = 10.0) -> None:
        """Replaces the client's sending key and asks the server to replace its own. With ``wait``,
        returns once the server's answering keyUpdate has arrived."""
        self._check_open()
        if self._send is None:
            raise LaboratoryError("a plaintext session has no keys to update")
        future: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        if wait:
            self._key_update_waiters.append(future)
        self._send_key_update(request_update=True)
        await self._drain()
        if wait:
            await asyncio.wait_for(future, timeout)

    # ------------------------------------------------------------------ events

    async def next_event(self, timeout: float | None = None) -> SessionEvent:
        """The next pushed event; after the session ends, :class:`Closed` (again and again)."""
        if self._events.empty() and self._reason is not None:
            return Closed(self._reason)
        return await asyncio.wait_for(self._events.get(), timeout)

    def poll_event(self) -> SessionEvent | None:
        """The next pushed event if one has arrived and not been taken yet, else ``None``; never
        waits. Everything the server sent before a response is queued by the time the request
        returns, so draining with this after a request sees the events that preceded its reply."""
        try:
            return self._events.get_nowait()
        except asyncio.QueueEmpty:
            return None

    async def events(self) -> AsyncIterator[SessionEvent]:
        """Pushed events until the session ends (the :class:`Closed` event is the last one)."""
        while True:
            event = await self.next_event()
            yield event
            if isinstance(event, Closed):
                return

    # ------------------------------------------------------------------ closing

    async def close(self, timeout: float = BYE_WAIT) -> SessionClosed:
        """Says bye, waits (at most ``timeout``) for the server to answer outstanding requests and
        close, then closes the connection."""
        if self._reason is None and not self._bye_sent:
            try:
                self._write(messages.bye())
                self._bye_sent = True
                await self._drain()
            except (ConnectionError, OSError):
                pass
        try:
            await asyncio.wait_for(self._closed.wait(), timeout)
        except TimeoutError:
            self._reader_task.cancel()
            self._finish(SessionClosed(12, "the server did not close the session after bye", by_server=False))
        return self._reason  # type: ignore[return-value]

    async def abort(self, message: str = "closed by the client") -> None:
        """Closes TCP without bye; outstanding requests fail. The session ends with code 12 (peer
        closed, local) and ``message``."""
        self._reader_task.cancel()
        self._finish(SessionClosed(12, message, by_server=False))

    async def __aenter__(self) -> "Session":
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        await self.close()

    def _finish(self, reason: SessionClosed) -> None:
        if self._reason is not None:
            return
        self._reason = reason
        for future in [*self._pending.values(), *self._pings.values(), *self._name_queries]:
            if not future.done():
                future.set_exception(reason)
        for future in self._key_update_waiters:
            if not future.done():
                future.set_exception(reason)
        self._events.put_nowait(Closed(reason))
        self._closed.set()
        try:
            self._writer.close()
        except Exception:  # noqa: BLE001 - the transport may already be gone
            pass

    # ------------------------------------------------------------------ receiving

    async def _read_loop(self) -> None:
        reason: SessionClosed
        try:
            while True:
                payload = await read_frame(self._reader, self._max_payload)
                if payload is None:
                    reason = SessionClosed(12, "the server closed the connection", by_server=False)
                    break
                message_bytes = self._receive.open(payload) if self._receive is not None else payload
                message = messages.decode_server_message(message_bytes)
                if isinstance(message, messages.Closing):
                    reason = SessionClosed(message.code, message.message)
                    break
                self._dispatch(message)
        except CryptoFailure as error:
            reason = SessionClosed(4, str(error), by_server=False)
        except ProtocolError as error:
            reason = SessionClosed(2, f"the server sent something invalid: {error}", by_server=False)
        except (asyncio.IncompleteReadError, ConnectionError, OSError) as error:
            reason = SessionClosed(12, f"the connection was lost: {error!r}", by_server=False)
        except asyncio.CancelledError:
            reason = SessionClosed(12, "closed by the client", by_server=False)
        self._finish(reason)

    def _dispatch(self, message: messages.ServerMessage) -> None:
        match message:
            case messages.Response(request_id=request_id):
                future = self._pending.get(request_id)
                if future is not None and not future.done():
                    future.set_result(message)
            case messages.Event(service=service, body=body):
                self._events.put_nowait(ServiceEvent(service, body))
            case messages.ServerName(name=name):
                self.server_name = name
                if self._name_queries:
                    future = self._name_queries.popleft()
                    if not future.done():
                        future.set_result(name)
            case messages.Ping(value=value):
                if self._reason is None:
                    self._write(messages.pong(value))  # answered even after bye: any frame is fine
            case messages.Pong(value=value):
                future = self._pings.get(value)
                if future is not None and not future.done():
                    future.set_result(None)
            case messages.ServerStopping(grace_ms=grace_ms):
                self._events.put_nowait(ServerStopping(grace_ms))
            case messages.KeyUpdate(secret=secret, request_update=request_update):
                if self._receive is None:
                    raise ProtocolError("key update in a plaintext session")
                self._receive.update(secret)
                self.server_key_updates += 1
                if request_update:
                    self._send_key_update(request_update=False)
                waiters, self._key_update_waiters = self._key_update_waiters, []
                for future in waiters:
                    if not future.done():
                        future.set_result(None)
            case _:
                raise ProtocolError(f"unexpected {type(message).__name__} during the session")


class _Connecting:
    """What :func:`connect` returns: await it for a :class:`Session`, or use it with ``async with``
    (the session says bye at the end of the block)."""

    def __init__(self, coroutine) -> None:
        self._coroutine = coroutine
        self._session: Session | None = None

    def __await__(self):
        return self._coroutine.__await__()

    async def __aenter__(self) -> Session:
        self._session = await self._coroutine
        return self._session

    async def __aexit__(self, *exc_info: object) -> None:
        if self._session is not None:
            await self._session.close()


def connect(
    host: str,
    port: int = DEFAULT_PORT,
    *,
    password: str,
    name: str,
    trust: ServerTrust | None = None,
    connect_timeout: float = 10.0,
    handshake_timeout: float = 30.0,
    clock_skew: float = DEFAULT_CLOCK_SKEW,
    max_payload: int = DEFAULT_MAX_PAYLOAD,
    plaintext: bool = False,
    retry_name: RetryName | None = None,
) -> _Connecting:
    """Connects, checks the server's key with ``trust`` (default: the known-hosts file, refusing
    unknown keys), and completes the handshake.

    If the server rejects ``name`` (the password was right), ``retry_name`` is called with the
    :class:`~laboratory_client.messages.NameRejected` (its ``reason`` and ``attempts_left``) and
    returns another name, or ``None`` to give up; without it, or on ``None``, a
    :class:`HandshakeError` of kind ``name rejected`` is raised. A refusal because the address is
    locked out raises a :class:`HandshakeError` whose ``retry_after`` is the seconds to wait.

    ``async with connect("127.0.0.1", 12800, password=..., name="ada") as session: ...``
    """
    return _Connecting(
        _connect(
            host, port, password, name, trust if trust is not None else KnownHosts(), connect_timeout,
            handshake_timeout, clock_skew, max_payload, plaintext, retry_name,
        )
    )


async def _connect(
    host, port, password, name, trust, connect_timeout, handshake_timeout, clock_skew, max_payload, plaintext,
    retry_name=None,
) -> Session:
    problem = display_name_problem(name)
    if problem is not None:
        raise HandshakeError(Step.NAME, "invalid name", f"{problem} (not sent)")
    try:
        reader, writer = await asyncio.wait_for(
            asyncio.open_connection(host, port, limit=max_payload + 64), connect_timeout
        )
    except TimeoutError:
        raise HandshakeError(Step.CONNECT, "timeout", f"could not connect to {host}:{port} within {connect_timeout:g} s") from None
    except OSError as error:
        raise HandshakeError(Step.CONNECT, "network", f"could not connect to {host}:{port}: {error}") from None
    try:
        result = await run_handshake(
            reader, writer, host=host, port=port, password=password, name=name, trust=trust,
            timeout=handshake_timeout, clock_skew=clock_skew, max_payload=max_payload, plaintext=plaintext,
            retry_name=retry_name,
        )
    except BaseException:
        writer.close()
        raise
    return Session(reader, writer, result, host=host, port=port, max_payload=max_payload)
