"""The client side of the handshake (PROTOCOL.md §4–§6 and §9): read the hello (or a refusal),
check the identity key and the transport key's certificate before sending anything, send the
encrypted secret, then answer the password and name prompts."""

from __future__ import annotations

import asyncio
import inspect
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass

from . import messages
from .crypto import (
    CryptoFailure,
    Direction,
    check_validity,
    derive_session_keys,
    encrypt_secret,
    fingerprint,
    load_rsa_public_key,
    random_secret,
    verify_certificate,
)
from .errors import HandshakeError, ProtocolError, Step
from .framing import FrameTooLarge, encode_frame, read_frame
from .hello import NotLaboratory, ServerHello, UnsupportedVersion
from .known_hosts import ServerTrust
from .messages import Accepted, Closing, NamePrompt, NameRejected, PasswordPrompt, decode_server_message

DEFAULT_CLOCK_SKEW = 600.0  # seconds, as the reference client


@dataclass
class HandshakeResult:
    accepted: Accepted
    fingerprint: str
    hello: ServerHello
    send: Direction | None  # None in a plaintext session
    receive: Direction | None
    name: str = ""  # the display name the server accepted


#: Offers another display name after a rejection, or ``None`` to give up.
RetryName = Callable[[NameRejected], "str | None | Awaitable[str | None]"]


class _Progress:
    """The step in progress, so a timeout or network failure can name it."""

    def __init__(self) -> None:
        self.step = Step.HELLO


async def run_handshake(
    reader: asyncio.StreamReader,
    writer: asyncio.StreamWriter,
    *,
    host: str,
    port: int,
    password: str,
    name: str,
    trust: ServerTrust,
    timeout: float,
    clock_skew: float = DEFAULT_CLOCK_SKEW,
    max_payload: int,
    plaintext: bool = False,
    retry_name: RetryName | None = None,
) -> HandshakeResult:
    """``retry_name`` is called with a :class:`NameRejected` when the server refuses the display
    name and takes another: it returns the next name (or an awaitable of it), or ``None`` to give
    up. Without it the first rejection raises :class:`HandshakeError` of kind ``name rejected``."""
    progress = _Progress()
    try:
        async with asyncio.timeout(timeout):
            return await _handshake(
                reader, writer, progress, host, port, password, name, trust, clock_skew, max_payload, plaintext,
                retry_name,
            )
    except TimeoutError:
        raise HandshakeError(progress.step, "timeout", f"no answer from the server within {timeout:g} s") from None
    except FrameTooLarge as error:
        raise HandshakeError(progress.step, "protocol violation", str(error)) from None
    except (asyncio.IncompleteReadError, ConnectionError, OSError) as error:
        raise HandshakeError(progress.step, "network", f"the connection failed: {error!r}") from None


async def _handshake(
    reader: asyncio.StreamReader,
    writer: asyncio.StreamWriter,
    progress: _Progress,
    host: str,
    port: int,
    password: str,
    name: str,
    trust: ServerTrust,
    clock_skew: float,
    max_payload: int,
    plaintext: bool,
    retry_name: RetryName | None,
) -> HandshakeResult:
    hello = await read_hello(reader, max_payload)

    progress.step = Step.TRUST
    server_fingerprint = fingerprint(hello.identity_spki)
    trust.check(host, port, server_fingerprint)  # raises; nothing has been sent

    progress.step = Step.CERTIFICATE
    check_certificate(hello, clock_skew)

    progress.step = Step.KEY_EXCHANGE
    if plaintext:
        send = receive = None
        writer.write(encode_frame(b""))
    else:
        secret = random_secret()
        writer.write(encode_frame(encrypt_secret(hello.transport_spki, secret)))
        keys = derive_session_keys(secret, hello.server_random, hello.payload)
        send, receive = Direction(keys.c2s_key, keys.c2s_iv), Direction(keys.s2c_key, keys.s2c_iv)
    await writer.drain()
    await _expect(reader, receive, Step.KEY_EXCHANGE, PasswordPrompt, max_payload)

    progress.step = Step.PASSWORD
    _send(writer, send, messages.password(password))
    await writer.drain()
    await _expect(reader, receive, Step.PASSWORD, NamePrompt, max_payload)

    progress.step = Step.NAME
    while True:
        _send(writer, send, messages.name(name))
        await writer.drain()
        answer = await _expect(reader, receive, Step.NAME, (Accepted, NameRejected), max_payload)
        if isinstance(answer, Accepted):
            return HandshakeResult(answer, server_fingerprint, hello, send, receive, name)
        # The password was right; the server takes another name (PROTOCOL.md §9).
        offered = retry_name(answer) if retry_name is not None else None
        if inspect.isawaitable(offered):
            offered = await offered
        if offered is None:
            raise HandshakeError(
                Step.NAME, "name rejected", f"the server rejected the name: {answer.reason}",
                server_message=answer.reason,
            )
        name = offered


async def read_hello(reader: asyncio.StreamReader, max_payload: int) -> ServerHello:
    """The server's first frame as a hello; a ``closing`` instead (a refusal) raises."""
    payload = await read_frame(reader, max_payload)
    if payload is None:
        raise HandshakeError(Step.HELLO, "closed", "the server closed the connection before its hello")
    if payload[:1] == b"\x04":
        try:
            closing = decode_server_message(payload)
        except ProtocolError as error:
            raise HandshakeError(Step.HELLO, "protocol violation", f"malformed closing instead of hello: {error}")
        kind = "refused" if closing.code == 15 else "closed"
        raise HandshakeError(
            Step.HELLO,
            kind,
            "the server refused the connection" if kind == "refused" else "the server closed the connection",
            code=closing.code,
            server_message=closing.message,
            retry_after=closing.retry_ms / 1000 if closing.retry_ms is not None else None,
        )
    try:
        return ServerHello.parse(payload)
    except NotLaboratory as error:
        raise HandshakeError(Step.HELLO, "not laboratory", str(error)) from None
    except UnsupportedVersion as error:
        raise HandshakeError(Step.HELLO, "unsupported version", str(error)) from None
    except ProtocolError as error:
        raise HandshakeError(Step.HELLO, "protocol violation", f"malformed hello: {error}") from None


def check_certificate(hello: ServerHello, clock_skew: float, now: float | None = None) -> None:
    """Key sizes, the identity key's signature over the transport key, and the validity window."""
    now_ms = int((time.time() if now is None else now) * 1000)
    try:
        load_rsa_public_key(hello.identity_spki)
        load_rsa_public_key(hello.transport_spki)
        verify_certificate(hello.identity_spki, hello.certificate_bytes, hello.signature)
        check_validity(hello.not_before, hello.not_after, now_ms, int(clock_skew * 1000))
    except CryptoFailure as error:
        raise HandshakeError(Step.CERTIFICATE, "bad certificate", str(error)) from None


def _send(writer: asyncio.StreamWriter, send: Direction | None, message: bytes) -> None:
    writer.write(encode_frame(send.seal(message) if send else message))


async def _expect(reader, receive: Direction | None, step: Step, expected: type | tuple[type, ...], max_payload: int):
    payload = await read_frame(reader, max_payload)
    if payload is None:
        raise HandshakeError(step, "closed", "the server closed the connection without a reason")
    try:
        message_bytes = receive.open(payload) if receive else payload
    except CryptoFailure:
        # Before keys are installed the server's closing is plaintext (codes 3, 5, 8, 9, 10).
        if step is Step.KEY_EXCHANGE:
            try:
                closing = decode_server_message(payload)
            except ProtocolError:
                closing = None
            if isinstance(closing, Closing):
                raise HandshakeError(
                    step, "closed", "the server closed the connection", code=closing.code,
                    server_message=closing.message,
                ) from None
        raise HandshakeError(
            step, "decryption failed", "the server's reply failed to open (it could not use the key exchange)"
        ) from None
    try:
        message = decode_server_message(message_bytes)
    except ProtocolError as error:
        raise HandshakeError(step, "protocol violation", f"malformed message: {error}") from None
    if isinstance(message, Closing):
        raise HandshakeError(
            step, "name rejected" if message.code == 7 else "closed", "the server closed the connection",
            code=message.code, server_message=message.message
        )
    if not isinstance(message, expected):
        names = " or ".join(t.__name__ for t in (expected if isinstance(expected, tuple) else (expected,)))
        raise HandshakeError(step, "protocol violation", f"expected {names}, got {type(message).__name__}")
    return message
