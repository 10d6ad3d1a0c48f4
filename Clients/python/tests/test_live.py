"""The library against a real laboratory-server."""

from __future__ import annotations

import asyncio
import random

import pytest

import laboratory_client as lab
from laboratory_client import blocking
from laboratory_client.events import Closed, ServerStopping, ServiceEvent
from laboratory_server import PASSWORD, start_server


def run(coroutine):
    return asyncio.run(asyncio.wait_for(coroutine, 60))


def connect(server, name="ada", password=PASSWORD, **options):
    options.setdefault("trust", lab.Pinned(server.fingerprint))
    return lab.connect(server.host, server.port, password=password, name=name, **options)


async def next_chat(session, predicate=lambda event: True, timeout=10.0):
    """The next chat event satisfying ``predicate``, skipping others."""
    while True:
        event = await session.next_event(timeout)
        assert not isinstance(event, Closed), event.reason
        if isinstance(event, ServiceEvent) and event.chat is not None and predicate(event.chat):
            return event.chat


class CountingProxy:
    """A TCP proxy that counts the bytes the client sends, to prove that nothing was sent."""

    def __init__(self, target_host: str, target_port: int) -> None:
        self.target = (target_host, target_port)
        self.client_bytes = 0

    async def start(self) -> int:
        self._server = await asyncio.start_server(self._handle, "127.0.0.1", 0)
        return self._server.sockets[0].getsockname()[1]

    async def _handle(self, client_reader, client_writer) -> None:
        server_reader, server_writer = await asyncio.open_connection(*self.target)

        async def pipe(reader, writer, count: bool) -> None:
            try:
                while data := await reader.read(65536):
                    if count:
                        self.client_bytes += len(data)
                    writer.write(data)
                    await writer.drain()
            except (ConnectionError, OSError):
                pass
            finally:
                writer.close()

        await asyncio.gather(pipe(client_reader, server_writer, True), pipe(server_reader, client_writer, False))

    def close(self) -> None:
        self._server.close()


def test_handshake_echo_server_name_and_ping(server) -> None:
    async def scenario():
        async with connect(server) as session:
            assert session.server_fingerprint == server.fingerprint
            assert session.server_name == "Laboratory"
            assert session.services == ("echo", "chat")
            assert session.connection_id >= 1
            assert session.encrypted
            assert await session.echo("hello, Laboratory") == "hello, Laboratory"
            assert await session.request("echo", b"\x00\xffbinary") == b"\x00\xffbinary"
            assert await session.query_server_name() == "Laboratory"
            assert await session.ping() >= 0
            with pytest.raises(lab.RequestError) as failure:
                await session.request("no-such-service", b"")
            assert failure.value.status == lab.Status.UNKNOWN_SERVICE
        assert session.close_reason.code == lab.CloseCode.NORMAL

    run(scenario())


def test_wrong_password_names_the_step_and_code_6(fresh_server) -> None:
    with pytest.raises(lab.HandshakeError) as failure:
        run(connect(fresh_server, password="not the password"))
    error = failure.value
    assert error.step is lab.Step.PASSWORD
    assert error.code == 6 and error.server_message == "wrong password"
    assert "password" in str(error) and "code 6" in str(error)


def test_refusal_at_accept_after_repeated_failures(fresh_server) -> None:
    # Each wrong password earns 5 s of penalty, draining in real time; once 15 s or more remain,
    # connections are refused at accept: after the fourth failure in a row at the latest.
    codes = []
    while not codes or codes[-1] == 6:
        assert len(codes) < 6, codes
        with pytest.raises(lab.HandshakeError) as failure:
            run(connect(fresh_server, password="wrong"))
        codes.append(failure.value.code)
    assert codes[-1] == 15 and len(codes) >= 4, codes
    assert failure.value.step is lab.Step.HELLO and failure.value.kind == "refused"
    assert failure.value.code == 15 and "try again in " in failure.value.server_message
    # The refusal says how long the address stays locked out, and so does the error's text.
    assert failure.value.retry_after is not None and 0 < failure.value.retry_after <= 600
    assert "locked out for " in str(failure.value)


def test_pin_mismatch_sends_nothing(fresh_server) -> None:
    async def scenario():
        proxy = CountingProxy(fresh_server.host, fresh_server.port)
        port = await proxy.start()
        wrong = "SHA256:" + "A" * 43
        try:
            with pytest.raises(lab.ServerKeyMismatch) as failure:
                await lab.connect("127.0.0.1", port, password=PASSWORD, name="ada", trust=lab.Pinned(wrong))
            await asyncio.sleep(0.2)
            return failure.value, proxy.client_bytes
        finally:
            proxy.close()

    error, sent = run(scenario())
    assert error.step is lab.Step.TRUST and error.fingerprint == fresh_server.fingerprint
    assert error.expected == "SHA256:" + "A" * 43
    assert sent == 0


def test_known_hosts_trust_on_first_use_then_changed_key(tmp_path) -> None:
    known_hosts = lab.KnownHosts(tmp_path / "known_hosts")
    first = start_server(tmp_path / "first")
    try:
        # Unknown key, not accepting new ones: refused before sending, with the key to show the user.
        with pytest.raises(lab.UnknownServerKey) as failure:
            run(connect(first, trust=known_hosts))
        assert failure.value.fingerprint == first.fingerprint
        assert known_hosts.lookup(first.host, first.port) is None
        # Trust on first use records the key; later connections check against it.
        run(_echo(connect(first, trust=lab.KnownHosts(known_hosts.path, accept_new=True))))
        assert known_hosts.lookup(first.host, first.port) == first.fingerprint
        run(_echo(connect(first, trust=known_hosts)))
    finally:
        first.stop()
    # Another server (another identity key) on the same address is refused.
    second = start_server(tmp_path / "second", port=first.port)
    try:
        assert second.fingerprint != first.fingerprint
        with pytest.raises(lab.ServerKeyMismatch) as failure:
            run(connect(second, trust=lab.KnownHosts(known_hosts.path, accept_new=True)))
        assert failure.value.fingerprint == second.fingerprint and failure.value.expected == first.fingerprint
        assert str(known_hosts.path) in str(failure.value)
        assert known_hosts.lookup(first.host, first.port) == first.fingerprint
    finally:
        second.stop()


async def _echo(connecting) -> None:
    async with connecting as session:
        assert await session.echo("hi") == "hi"


def test_invalid_name_is_refused_before_sending(server) -> None:
    with pytest.raises(lab.HandshakeError) as failure:
        run(connect(server, name=" padded"))
    assert failure.value.step is lab.Step.NAME and failure.value.kind == "invalid name"


def test_concurrent_requests_matched_by_id(server) -> None:
    async def scenario():
        async with connect(server) as session:
            bodies = [random.randbytes(random.randint(0, 2000)) for _ in range(60)]
            replies = await asyncio.gather(*(session.request("echo", body) for body in bodies))
            assert replies == bodies

    run(scenario())


def test_rekey_under_traffic(server) -> None:
    async def scenario():
        async with connect(server) as session:
            limit = asyncio.Semaphore(48)  # under the server's 64 outstanding requests

            async def echo(index: int) -> None:
                async with limit:
                    body = f"message {index} ".encode() * (index % 50 + 1)
                    assert await session.request("echo", body) == body

            async def rekeys() -> None:
                for _ in range(6):
                    await session.rekey(wait=True)
                    await asyncio.sleep(0.01)

            await asyncio.gather(rekeys(), *(echo(i) for i in range(600)))
            # Every client update asked the server to update too, and it did.
            assert session.client_key_updates >= 6 and session.server_key_updates >= 6
            assert await session.echo("still fine") == "still fine"

    run(scenario())


def test_rename_is_visible_in_the_room(server) -> None:
    async def scenario():
        async with connect(server, name="alice") as alice, connect(server, name="bob") as bob:
            await lab.Chat(alice).join("renames")
            await lab.Chat(bob).join("renames")
            await next_chat(alice, lambda e: e.kind == "joined" and e.sender == bob.connection_id)
            await alice.rename("Alice L.")
            renamed = await next_chat(bob, lambda e: e.kind == "renamed")
            assert (renamed.sender, renamed.old_name, renamed.name) == (alice.connection_id, "alice", "Alice L.")
            assert renamed.room == "renames"
            members = await lab.Chat(bob).who("renames")
            assert {m.name for m in members} == {"Alice L.", "bob"}
            with pytest.raises(lab.RequestError) as failure:
                await alice.rename("trailing ")
            assert failure.value.status == lab.Status.REJECTED and "whitespace" in failure.value.message
            assert await alice.echo("still connected") == "still connected"

    run(scenario())


def test_chat_between_python_clients(server) -> None:
    async def scenario():
        async with connect(server, name="ada") as ada, connect(server, name="bob") as bob:
            reply = await lab.Chat(ada).join("lobby-py")
            assert [m.name for m in reply.members] == ["ada"]
            await lab.Chat(bob).join("lobby-py")
            sequence = await lab.Chat(bob).say("lobby-py", "hi ada")
            message = await next_chat(ada, lambda e: e.kind == "message")
            assert (message.name, message.text, message.room, message.sequence) == ("bob", "hi ada", "lobby-py", sequence)
            await lab.Chat(ada).direct(bob.connection_id, "psst")
            direct = await next_chat(bob, lambda e: e.kind == "direct")
            assert (direct.text, direct.sender, direct.room) == ("psst", ada.connection_id, None)
            rooms = await lab.Chat(ada).rooms()
            assert any(room.name == "lobby-py" and room.members == 2 for room in rooms)
            # One page at a time: following `next` visits every room once, in name order.
            await lab.Chat(ada).join("lobby-py-2")
            paged, cursor = [], None
            while True:
                page = await lab.Chat(ada).rooms_page(after=cursor, limit=1)
                assert len(page.rooms) == 1
                paged += page.rooms
                cursor = page.next
                if cursor is None:
                    break
            assert [room.name for room in paged] == sorted(room.name for room in await lab.Chat(ada).rooms())
            assert {"lobby-py", "lobby-py-2"} <= {room.name for room in paged}
            members = await lab.Chat(ada).who_page("lobby-py", limit=1)
            assert len(members.members) == 1 and members.next is not None
            assert [m.name for m in await lab.Chat(ada).who("lobby-py")] == ["ada", "bob"]
            await lab.Chat(ada).leave("lobby-py-2")
            await lab.Chat(bob).leave("lobby-py")
            left = await next_chat(ada, lambda e: e.kind == "left")
            assert left.sender == bob.connection_id
            with pytest.raises(lab.RequestError) as failure:
                await lab.Chat(ada).join("Not A Room")
            assert failure.value.status == lab.Status.SERVICE_ERROR

    run(scenario())


def test_blocking_api(server) -> None:
    with blocking.connect(
        server.host, server.port, password=PASSWORD, name="script", trust=lab.Pinned(server.fingerprint)
    ) as session:
        assert session.echo("blocking hello") == "blocking hello"
        assert session.query_server_name() == "Laboratory"
        session.rekey(wait=True)
        session.chat.join("scripts")
        session.chat.say("scripts", "from a script")
        kinds = []
        while "message" not in kinds:
            event = session.next_event(timeout=10)
            assert isinstance(event, ServiceEvent)
            kinds.append(event.chat.kind)
        assert kinds == ["joined", "message"]
        session.rename("script 2")
    assert session.closed


def test_blocking_api_reports_handshake_errors(server) -> None:
    with pytest.raises(lab.HandshakeError) as failure:
        blocking.connect(server.host, server.port, password=PASSWORD, name="x", trust=lab.Pinned("SHA256:" + "B" * 43))
    assert failure.value.step is lab.Step.TRUST


def test_server_stopping_ends_the_session_with_code_9(fresh_server) -> None:
    async def scenario():
        session = await connect(fresh_server)
        fresh_server.process.send_signal(2)  # SIGINT: graceful shutdown
        stopping = await session.next_event(10)
        assert isinstance(stopping, ServerStopping) and stopping.grace_ms == 5000
        assert await session.echo("during the grace period") == "during the grace period"
        closed = await session.next_event(10)
        assert isinstance(closed, Closed) and closed.reason.code == 9 and closed.reason.by_server
        with pytest.raises(lab.SessionClosed):
            await session.echo("too late")

    run(scenario())


def _run_to_name_step(server, name, retry_name=None):
    """The real handshake against a real server, without the library's own name check first, so
    the server's verdict on ``name`` is what the client meets."""
    from laboratory_client.handshake import run_handshake

    async def scenario():
        reader, writer = await asyncio.open_connection(server.host, server.port)
        try:
            return await run_handshake(
                reader, writer, host=server.host, port=server.port, password=PASSWORD, name=name,
                trust=lab.Pinned(server.fingerprint), timeout=20, max_payload=1 << 20, retry_name=retry_name,
            )
        finally:
            writer.close()

    return run(scenario())


def test_rejected_name_is_retried_on_the_same_connection(server) -> None:
    seen = []

    async def another(rejection):
        seen.append(rejection)
        return "ada"

    result = _run_to_name_step(server, " ada", another)
    assert result.name == "ada" and result.accepted.connection_id > 0
    assert seen == [lab.NameRejected("display name starts or ends with whitespace", 2)]


def test_rejected_name_without_retry_is_reported_with_the_reason(fresh_server) -> None:
    with pytest.raises(lab.HandshakeError) as failure:
        _run_to_name_step(fresh_server, "")
    assert failure.value.step is lab.Step.NAME and failure.value.kind == "name rejected"
    assert failure.value.server_message == "display name is empty"
    # Out of attempts: the server closes with code 7, reported as a rejected name too.
    with pytest.raises(lab.HandshakeError) as closed:
        _run_to_name_step(fresh_server, "", lambda rejection: "")
    assert closed.value.kind == "name rejected" and closed.value.code == 7
    # None of it cost the address anything: many more rejected names, then a normal session.
    for _ in range(8):
        with pytest.raises(lab.HandshakeError):
            _run_to_name_step(fresh_server, "", lambda rejection: "")
    run(_echo(connect(fresh_server)))
