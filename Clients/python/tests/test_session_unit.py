"""The session against a scripted fake server that holds the document's session keys: a server
key update with request_update = 1 (the server's automatic renewal), keepalive pings, responses out
of order, and a closing."""

from __future__ import annotations

import asyncio

from laboratory_client import crypto, messages
from laboratory_client.errors import SessionClosed
from laboratory_client.events import Closed, ServiceEvent
from laboratory_client.framing import encode_frame, read_frame
from laboratory_client.handshake import HandshakeResult
from laboratory_client.messages import Accepted
from laboratory_client.session import Session

from vectors import load_vectors

V = load_vectors()


class FakeServer:
    """The server's side of the sealed session, after accepted."""

    def __init__(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        keys = crypto.derive_session_keys(V["secret"], V["server_random"], V["hello_payload"])
        self.send = crypto.Direction(keys.s2c_key, keys.s2c_iv)
        self.receive = crypto.Direction(keys.c2s_key, keys.c2s_iv)
        self.reader, self.writer = reader, writer

    def write(self, message: bytes) -> None:
        self.writer.write(encode_frame(self.send.seal(message)))

    async def read(self) -> bytes:
        payload = await read_frame(self.reader)
        assert payload is not None
        return self.receive.open(payload)


def client_directions() -> tuple[crypto.Direction, crypto.Direction]:
    keys = crypto.derive_session_keys(V["secret"], V["server_random"], V["hello_payload"])
    return crypto.Direction(keys.c2s_key, keys.c2s_iv), crypto.Direction(keys.s2c_key, keys.s2c_iv)


async def run_against(script, client_action):
    """Runs ``script(server)`` as the fake server and ``client_action(session)`` as the client;
    returns both results."""
    done: asyncio.Future = asyncio.get_running_loop().create_future()

    async def handle(reader, writer):
        try:
            done.set_result(await script(FakeServer(reader, writer)))
        except BaseException as error:  # noqa: BLE001
            done.set_exception(error)

    server = await asyncio.start_server(handle, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    send, receive = client_directions()
    result = HandshakeResult(Accepted(7, "Fake", ("echo",)), "SHA256:fake", None, send, receive)  # type: ignore[arg-type]
    session = Session(reader, writer, result, host="127.0.0.1", port=port)
    try:
        client_result = await asyncio.wait_for(client_action(session), 10)
        return await asyncio.wait_for(done, 10), client_result, session
    finally:
        await session.abort()
        server.close()


def test_server_key_update_request_is_applied_and_answered() -> None:
    async def script(server: FakeServer):
        secret = bytes(range(0x60, 0x80))
        server.write(bytes([0x16]) + secret + b"\x01")  # the server's keyUpdate, request_update = 1
        server.send.update(secret)  # the server switches right after sealing the update
        server.write(bytes([0x13]) + (42).to_bytes(8, "big"))  # a keepalive ping under the new key
        answer = await server.read()  # the client's keyUpdate(request 0), under its old key
        assert answer[0] == 0x97 and len(answer) == 34 and answer[33] == 0
        server.receive.update(answer[1:33])
        assert server.receive.counter == 0
        pong = await server.read()  # sealed under the client's new key, counter 0
        assert pong == messages.pong(42)
        request = await server.read()
        assert request[0] == 0x90
        return "ok"

    async def client(session: Session):
        while session.server_key_updates == 0:
            assert not session.closed, session.close_reason
            await asyncio.sleep(0.01)
        request = asyncio.ensure_future(session.request("echo", b"after update"))
        await asyncio.sleep(0.3)
        request.cancel()

    outcome, _, session = asyncio.run(run_against(script, client))
    assert outcome == "ok"
    assert session.server_key_updates == 1 and session.client_key_updates == 1


def test_responses_matched_by_id_and_events_and_closing() -> None:
    async def main():
        done: asyncio.Future = asyncio.get_running_loop().create_future()

        async def handle(reader, writer):
            server = FakeServer(reader, writer)
            first, second = await server.read(), await server.read()
            ids = [int.from_bytes(m[1:9], "big") for m in (first, second)]
            server.write(bytes([0x11]) + messages.encode_string("chat") + messages.encode_bytes(
                b'{"kind":"message","room":"lobby","sequence":1,"from":2,"name":"Bob","text":"hi","time":1}'))
            # Answer in reverse order: each future must get its own response.
            for request_id, body in ((ids[1], b"two"), (ids[0], b"one")):
                server.write(bytes([0x10]) + request_id.to_bytes(8, "big") + b"\x00\x00" + messages.encode_string("")
                             + messages.encode_bytes(body))
            await asyncio.sleep(0.1)
            server.write(bytes([0x04]) + (9).to_bytes(2, "big") + messages.encode_string("server stopping"))
            await writer.drain()
            done.set_result(True)

        server = await asyncio.start_server(handle, "127.0.0.1", 0)
        port = server.sockets[0].getsockname()[1]
        reader, writer = await asyncio.open_connection("127.0.0.1", port)
        send, receive = client_directions()
        result = HandshakeResult(Accepted(7, "Fake", ("echo",)), "SHA256:fake", None, send, receive)  # type: ignore[arg-type]
        session = Session(reader, writer, result, host="127.0.0.1", port=port)
        one = asyncio.ensure_future(session.request("echo", b"one"))
        two = asyncio.ensure_future(session.request("echo", b"two"))
        assert await one == b"one" and await two == b"two"
        event = await session.next_event(5)
        assert isinstance(event, ServiceEvent) and event.chat is not None and event.chat.text == "hi"
        closed = await session.next_event(5)
        assert isinstance(closed, Closed) and closed.reason.code == 9
        try:
            await session.request("echo", b"late")
        except SessionClosed as error:
            assert error.code == 9
        else:
            raise AssertionError("a request after closing must fail")
        await done
        server.close()

    asyncio.run(main())
