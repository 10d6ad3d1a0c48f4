"""The reconnecting chat client against real laboratory-server processes: connections cut under it
by a proxy (reset, or frozen without a reset), the server killed and restarted on the same port and
state directory, more missed than the server holds, sixteen rooms restarted at once, a kick, a
wrong password, a changed key, a lockout and a give-up count. Whatever another client says while
this one is away arrives exactly once, in order; after a final ending nothing is tried again."""

from __future__ import annotations

import asyncio
import json
import secrets
import urllib.request

import pytest

import laboratory_client as lab
from cutting_proxy import CuttingProxy
from laboratory_server import PASSWORD, start_server

FAST = lab.Backoff(initial=0.05, maximum=0.4)  # quick retries, so the tests do not wait on them
QUIET_WINDOW = 1.5  # seconds watched for a reconnection that must not happen (several FAST ceilings)


def run(coroutine, limit: float = 90):
    return asyncio.run(asyncio.wait_for(coroutine, limit))


def room_name() -> str:
    return "resume-" + secrets.token_hex(4)


def reconnecting(host: str, port: int, fingerprint: str, name: str = "ada", **options) -> lab.ReconnectingChat:
    options.setdefault("trust", lab.Pinned(fingerprint))
    options.setdefault("backoff", FAST)
    return lab.ReconnectingChat(host, port, password=PASSWORD, name=name, **options)


async def collect_until(chat: lab.ReconnectingChat, predicate, timeout: float = 30.0) -> list:
    """Events up to and including the first that satisfies ``predicate``."""
    seen = []
    deadline = asyncio.get_running_loop().time() + timeout
    while True:
        remaining = deadline - asyncio.get_running_loop().time()
        try:
            event = await chat.next_event(max(remaining, 0.001))
        except TimeoutError:
            raise AssertionError(f"nothing matched within {timeout} s; saw {seen}") from None
        seen.append(event)
        if predicate(event):
            return seen
        if isinstance(event, lab.Ended):
            raise AssertionError(f"the client ended first: {event.reason}; saw {seen}")


def said(text: str):
    return lambda event: isinstance(event, lab.ChatEvent) and event.kind == "message" and event.text == text


def of_type(kind: type):
    return lambda event: isinstance(event, kind)


def messages(events: list, room: str) -> list[str]:
    return [e.text for e in events if isinstance(e, lab.ChatEvent) and e.kind == "message" and e.room == room]


def room_sequences(events: list, room: str) -> list[int]:
    return [e.sequence for e in events if isinstance(e, lab.ChatEvent) and e.room == room]


async def wait_for_left(session: lab.Session, room: str, who: str) -> None:
    """Until ``session`` sees ``who`` leave ``room`` (the server noticed the cut)."""
    while True:
        event = await session.next_event(20)
        assert not isinstance(event, lab.Closed), event.reason
        chat = event.chat if isinstance(event, lab.ServiceEvent) else None
        if chat is not None and chat.kind == "left" and chat.room == room and chat.name == who:
            return


async def quiet(proxy: CuttingProxy, chat: lab.ReconnectingChat) -> None:
    """Watches for QUIET_WINDOW seconds that the ended client opens no connection and says nothing."""
    before = len(proxy.connections)
    await asyncio.sleep(QUIET_WINDOW)
    assert len(proxy.connections) == before, "the client connected again after a final ending"
    assert chat.session is None and not chat.connected


def test_a_cut_connection_resumes_with_every_missed_message_once_in_order(server) -> None:
    async def scenario():
        proxy = CuttingProxy(server.host, server.port)
        port = await proxy.start()
        states = []
        room = room_name()
        chat = await reconnecting("127.0.0.1", port, server.fingerprint, on_state=states.append).start()
        seen = []
        try:
            await chat.join(room)
            async with lab.connect(server.host, server.port, password=PASSWORD, name="bob",
                                   trust=lab.Pinned(server.fingerprint)) as bob:
                bob_chat = lab.Chat(bob)
                await bob_chat.join(room)
                for i in range(5):
                    await bob_chat.say(room, f"before {i}")
                seen += await collect_until(chat, said("before 4"))
                last_before_cut = chat.last_seen(room)

                proxy.cut(hold=True)
                seen += await collect_until(chat, of_type(lab.ConnectionLost))
                await wait_for_left(bob, room, "ada")
                # Attempts fail at the proxy while it holds; Bob talks meanwhile.
                seen += await collect_until(chat, lambda e: isinstance(e, lab.Reconnecting) and e.attempt >= 3)
                assert not chat.connected
                with pytest.raises(lab.NotConnected):
                    await chat.say(room, "while away")
                for i in range(30):
                    await bob_chat.say(room, f"during {i}")
                proxy.release()
                seen += await collect_until(chat, of_type(lab.Resumed))
                for i in range(5):
                    await bob_chat.say(room, f"after {i}")
                seen += await collect_until(chat, said("after 4"))
            ended = await chat.close()
        finally:
            proxy.close()

        expected = [f"before {i}" for i in range(5)] + [f"during {i}" for i in range(30)] + [f"after {i}" for i in range(5)]
        assert messages(seen, room) == expected
        numbers = room_sequences(seen, room)
        assert numbers == sorted(set(numbers)), numbers  # once each, in order
        # Nothing lost in between either: the room's events are consecutive, Ada's own `left` (the
        # server noticed the cut) replayed to her first.
        assert numbers == list(range(numbers[0], numbers[-1] + 1))
        left = next(e for e in seen if isinstance(e, lab.ChatEvent) and e.kind == "left")
        assert (left.name, left.sequence) == ("ada", last_before_cut + 1)
        assert not any(isinstance(e, (lab.HistoryGap, lab.NumberingRestarted)) for e in seen)
        # The missed messages come before Resumed; the states in order, also to on_state.
        resumed_at = next(i for i, e in enumerate(seen) if isinstance(e, lab.Resumed))
        assert messages(seen[:resumed_at], room)[-1] == "during 29"
        kinds = [type(s).__name__ for s in states]
        assert kinds[0] == "ConnectionLost" and kinds[-2:] == ["Resumed", "Ended"]
        assert set(kinds[1:-2]) == {"Reconnecting"} and len(kinds[1:-2]) >= 3
        attempts = [s for s in states if isinstance(s, lab.Reconnecting)]
        assert [a.attempt for a in attempts] == list(range(1, len(attempts) + 1))
        assert all(0 <= a.delay < FAST.ceiling(a.attempt - 1) for a in attempts)
        resumed = next(s for s in states if isinstance(s, lab.Resumed))
        assert resumed.rooms == (room,) and resumed.attempts == len(attempts) and chat.sessions == 2
        assert isinstance(ended.reason, lab.SessionClosed) and ended.reason.code == lab.CloseCode.NORMAL

    run(scenario())


def test_a_gap_beyond_the_history_window_is_announced_and_the_rest_delivered(server) -> None:
    async def scenario():
        proxy = CuttingProxy(server.host, server.port)
        port = await proxy.start()
        room = room_name()
        chat = await reconnecting("127.0.0.1", port, server.fingerprint).start()
        try:
            await chat.join(room)
            async with lab.connect(server.host, server.port, password=PASSWORD, name="bob",
                                   trust=lab.Pinned(server.fingerprint)) as bob:
                bob_chat = lab.Chat(bob)
                await bob_chat.join(room)
                await bob_chat.say(room, "before")
                await collect_until(chat, said("before"))
                after = chat.last_seen(room)
                proxy.cut(hold=True)
                await wait_for_left(bob, room, "ada")
                for i in range(120):  # with Ada's `left`, 121 events: 21 more than the room holds
                    await bob_chat.say(room, f"during {i}")
                proxy.release()
                seen = await collect_until(chat, of_type(lab.Resumed))
            await chat.close()
        finally:
            proxy.close()
        gaps = [e for e in seen if isinstance(e, lab.HistoryGap)]
        assert gaps == [lab.HistoryGap(room, after + 1, after + 21)]
        gap_at = seen.index(gaps[0])
        assert messages(seen[:gap_at], room) == []  # the notice comes first
        assert messages(seen, room) == [f"during {i}" for i in range(20, 120)]
        assert room_sequences(seen, room)[0] == after + 22

    run(scenario())


def test_a_restarted_server_is_resumed_with_the_restart_announced(tmp_path) -> None:
    async def scenario():
        state = tmp_path / "state"
        first = start_server(state)
        second = None
        proxy = CuttingProxy(first.host, first.port)
        port = await proxy.start()
        room = room_name()
        ada = await reconnecting("127.0.0.1", port, first.fingerprint).start()
        bob = await reconnecting(first.host, first.port, first.fingerprint, name="bob").start()
        try:
            await ada.join(room)
            await bob.join(room)
            for i in range(20):
                await bob.say(room, f"old {i}")
            await collect_until(ada, said("old 19"))
            after = ada.last_seen(room)
            assert after >= 22

            proxy.cut(hold=True)  # Ada stays away until Bob has talked on the new run
            first.kill()
            await collect_until(ada, of_type(lab.ConnectionLost))
            await collect_until(bob, of_type(lab.ConnectionLost))
            # The same port and host key, an empty memory.
            second = await asyncio.to_thread(start_server, state, first.port)
            assert second.fingerprint == first.fingerprint
            bob_seen = await collect_until(bob, of_type(lab.Resumed))
            assert any(isinstance(e, lab.NumberingRestarted) for e in bob_seen)
            for i in range(5):
                await bob.say(room, f"new {i}")
            proxy.release()
            seen = await collect_until(ada, of_type(lab.Resumed))
            await bob.say(room, "later")
            seen += await collect_until(ada, said("later"))
        finally:
            await ada.close()
            await bob.close()
            proxy.close()
            for running in (first, second):
                if running is not None:
                    running.stop()
        restarts = [e for e in seen if isinstance(e, lab.NumberingRestarted)]
        assert len(restarts) == 1 and restarts[0].room == room and restarts[0].after == after
        assert restarts[0].sequence <= after
        restart_at = seen.index(restarts[0])
        assert messages(seen[:restart_at], room) == []
        # Bob's words on the new run were numbered below Ada's `after`: a plain rejoin would have
        # skipped them. Each arrives once, in order, and nothing from the old run again.
        assert messages(seen, room) == [f"new {i}" for i in range(5)] + ["later"]
        numbers = room_sequences(seen, room)
        assert numbers == sorted(set(numbers)) and numbers[0] == 1

    run(scenario())


def admin(server, method: str, path: str, body: dict | None = None) -> dict:
    token = (server.state_dir / "admin_token").read_text().strip()
    request = urllib.request.Request(
        f"{server.http_origin}{path}", method=method, data=json.dumps(body).encode() if body is not None else None,
        headers={"Authorization": f"Bearer {token}", "Content-Type": "application/json"},
    )
    with urllib.request.urlopen(request, timeout=10) as response:
        return json.loads(response.read())


def test_no_reconnection_after_a_kick(tmp_path) -> None:
    server = start_server(tmp_path / "state", arguments=("--http-port", "0"))

    async def scenario():
        proxy = CuttingProxy(server.host, server.port)
        port = await proxy.start()
        states = []
        chat = await reconnecting("127.0.0.1", port, server.fingerprint, on_state=states.append).start()
        try:
            await chat.join(room_name())
            identifier = chat.session.connection_id
            kicked = await asyncio.to_thread(
                admin, server, "POST", f"/admin/sessions/{identifier}/kick", {"reason": "spamming"}
            )
            assert kicked == {"kicked": identifier}
            seen = await collect_until(chat, of_type(lab.Ended))
            await quiet(proxy, chat)
            sessions = await asyncio.to_thread(admin, server, "GET", "/admin/sessions")
        finally:
            proxy.close()
        ended = seen[-1]
        assert isinstance(ended.reason, lab.SessionClosed)
        assert (ended.reason.code, ended.reason.message) == (lab.CloseCode.KICKED, "spamming")
        assert [type(s).__name__ for s in states] == ["Ended"]  # never lost-and-reconnecting
        assert len(proxy.connections) == 1 and chat.sessions == 1
        assert sessions == {"sessions": []}
        with pytest.raises(lab.NotConnected):
            await chat.say("lobby", "still there?")
        assert (await chat.close()) is ended

    try:
        run(scenario())
    finally:
        server.stop()


def test_no_reconnection_after_a_wrong_password(tmp_path) -> None:
    state = tmp_path / "state"
    first = start_server(state)
    servers = [first]

    async def scenario():
        proxy = CuttingProxy(first.host, first.port)
        port = await proxy.start()
        chat = await reconnecting("127.0.0.1", port, first.fingerprint).start()
        try:
            await chat.join(room_name())
            # Graceful: serverStopping, then closing code 9, which allows reconnecting.
            await asyncio.to_thread(first.stop)
            seen = await collect_until(chat, of_type(lab.ConnectionLost))
            # The server comes back with another password (same key, same port).
            servers.append(await asyncio.to_thread(start_server, state, first.port, password="another password"))
            seen += await collect_until(chat, of_type(lab.Ended))
            await quiet(proxy, chat)
        finally:
            proxy.close()
        assert any(isinstance(e, lab.ServerStopping) for e in seen)
        lost = next(e for e in seen if isinstance(e, lab.ConnectionLost))
        assert lost.reason.code == lab.CloseCode.SERVER_STOPPING
        ended = seen[-1]
        assert isinstance(ended.reason, lab.HandshakeError)
        assert (ended.reason.step, ended.reason.code) == (lab.Step.PASSWORD, lab.CloseCode.WRONG_PASSWORD)
        # Exactly one attempt reached the password step: the last connection, and nothing after.
        assert proxy.relayed[-1] is proxy.connections[-1] and chat.sessions == 1

    try:
        run(scenario())
    finally:
        for server in servers:
            server.stop()


def test_no_reconnection_to_a_server_with_another_key(tmp_path) -> None:
    first = start_server(tmp_path / "state")
    servers = [first]

    async def scenario():
        proxy = CuttingProxy(first.host, first.port)
        port = await proxy.start()
        # A trust that accepts any key: only the client's memory of the first key refuses the new one.
        chat = await reconnecting("127.0.0.1", port, first.fingerprint, trust=lab.Custom(lambda *_: True)).start()
        try:
            await chat.join(room_name())
            first.kill()
            await collect_until(chat, of_type(lab.ConnectionLost))
            impostor = await asyncio.to_thread(start_server, tmp_path / "another-state", first.port)
            servers.append(impostor)
            assert impostor.fingerprint != first.fingerprint
            seen = await collect_until(chat, of_type(lab.Ended))
            await quiet(proxy, chat)
        finally:
            proxy.close()
        ended = seen[-1]
        assert isinstance(ended.reason, lab.ServerKeyMismatch)
        assert (ended.reason.fingerprint, ended.reason.expected) == (impostor.fingerprint, first.fingerprint)
        # Nothing was sent to it: not the secret, not the password.
        assert proxy.relayed[-1].client_bytes == 0 and chat.sessions == 1

    try:
        run(scenario())
    finally:
        for server in servers:
            server.stop()


def test_a_lockout_is_waited_out(tmp_path) -> None:
    # A locked-out address's refusal carries retry_ms; the next attempt waits at least that long.
    fresh_server = start_server(tmp_path / "state")

    async def scenario():
        proxy = CuttingProxy(fresh_server.host, fresh_server.port)
        port = await proxy.start()
        chat = await reconnecting("127.0.0.1", port, fresh_server.fingerprint).start()
        try:
            await chat.join(room_name())
            # Six wrong passwords at once from this address, each admitted before the others have
            # earned their penalties: 5 s each (PROTOCOL.md §9, Admission), about 30 s together,
            # so the lockout has many seconds left when the client comes back, however slow the
            # machine. (One at a time, the first refusal can leave only a few milliseconds.)
            async def wrong_password() -> int | None:
                with pytest.raises(lab.HandshakeError) as failure:
                    await lab.connect(fresh_server.host, fresh_server.port, password="wrong", name="eve",
                                      trust=lab.Pinned(fresh_server.fingerprint))
                return failure.value.code

            codes = await asyncio.gather(*(wrong_password() for _ in range(6)))
            assert codes.count(lab.CloseCode.WRONG_PASSWORD) >= 4, codes
            proxy.cut(hold=False)
            seen = await collect_until(chat, lambda e: isinstance(e, lab.Reconnecting) and e.attempt == 2)
        finally:
            await chat.close()
            proxy.close()
        refusal = seen[-1].error
        assert isinstance(refusal, lab.HandshakeError) and refusal.code == lab.CloseCode.REFUSED
        assert refusal.retry_after is not None and refusal.retry_after > 5 * FAST.maximum  # ~18 s measured
        assert seen[-1].delay >= refusal.retry_after

    try:
        run(scenario())
    finally:
        fresh_server.stop()


def test_giving_up_after_a_number_of_attempts(tmp_path) -> None:
    server = start_server(tmp_path / "state")

    async def scenario():
        chat = await reconnecting(server.host, server.port, server.fingerprint, give_up_after=3).start()
        await chat.join(room_name())
        await asyncio.to_thread(server.kill)  # and not started again: every attempt fails
        seen = await collect_until(chat, of_type(lab.Ended))
        attempts = [e for e in seen if isinstance(e, lab.Reconnecting)]
        assert [a.attempt for a in attempts] == [1, 2, 3]
        ended = seen[-1]
        assert isinstance(ended.reason, lab.HandshakeError) and ended.reason.step is lab.Step.CONNECT
        assert (await chat.close()) is ended

    try:
        run(scenario())
    finally:
        server.stop()


def test_the_blocking_face_resumes_too(server) -> None:
    # The blocking API runs the same client on a loop thread; the proxy runs on a loop of its own.
    from laboratory_client import blocking

    proxy_loop = blocking.LoopThread("proxy")
    proxy = CuttingProxy(server.host, server.port)
    port = proxy_loop.run(proxy.start())
    room = room_name()
    try:
        with blocking.reconnecting_chat("127.0.0.1", port, password=PASSWORD, name="ada",
                                        trust=lab.Pinned(server.fingerprint), backoff=FAST) as chat, \
                blocking.connect(server.host, server.port, password=PASSWORD, name="bob",
                                 trust=lab.Pinned(server.fingerprint)) as bob:
            chat.join(room)
            bob.chat.join(room)
            proxy_loop.loop.call_soon_threadsafe(proxy.cut, False)
            kinds = []
            while not kinds or kinds[-1] != "Resumed":
                kinds.append(type(chat.next_event(timeout=20)).__name__)
            assert "ConnectionLost" in kinds and "Reconnecting" in kinds
            bob.chat.say(room, "welcome back")
            while not isinstance(event := chat.next_event(timeout=20), lab.ChatEvent) or event.kind != "message":
                pass
            assert (event.name, event.text) == ("bob", "welcome back")
            assert chat.connected and chat.rooms == [room]
    finally:
        proxy_loop.loop.call_soon_threadsafe(proxy.close)
        proxy_loop.stop()


def test_a_silently_failed_network_is_noticed_by_pinging(server) -> None:
    # The proxy drops every byte and never resets: without pings the client would wait for TCP to
    # give up (many minutes). With a liveness interval of 0.5 s, its unanswered ping ends the
    # connection (the reason says so) and it reconnects.
    async def scenario():
        proxy = CuttingProxy(server.host, server.port)
        port = await proxy.start()
        room = room_name()
        chat = await reconnecting("127.0.0.1", port, server.fingerprint, liveness_interval=0.5).start()
        try:
            await chat.join(room)
            proxy.freeze()
            seen = await collect_until(chat, of_type(lab.ConnectionLost))
            seen += await collect_until(chat, of_type(lab.Resumed))
            assert chat.connected and chat.rooms == [room] and chat.sessions == 2
        finally:
            await chat.close()
            proxy.close()
        lost = next(e for e in seen if isinstance(e, lab.ConnectionLost))
        assert lost.reason.code == lab.CloseCode.PEER_CLOSED and "no answer to a ping within 0.5 s" in lost.reason.message

    run(scenario())


def test_sixteen_rooms_restarted_at_once_are_all_resumed(tmp_path) -> None:
    # Each restarted room costs a join, a leave and a join: 48 membership requests, beyond the
    # server's burst of 40 a session (PROTOCOL.md §17, Limits): the rate limit's wait is honoured
    # and no room is dropped.
    state = tmp_path / "state"
    first = start_server(state)
    servers = [first]

    async def scenario():
        rooms = [f"{room_name()}-{i}" for i in range(16)]
        chat = await reconnecting(first.host, first.port, first.fingerprint).start()
        try:
            for room in rooms:
                await chat.join(room)
            await asyncio.to_thread(first.kill)
            await collect_until(chat, of_type(lab.ConnectionLost))
            servers.append(await asyncio.to_thread(start_server, state, first.port))
            seen = await collect_until(chat, of_type(lab.Resumed), timeout=60)
            for room in rooms:
                await chat.say(room, f"back in {room}")
            seen += await collect_until(chat, said(f"back in {rooms[-1]}"))
        finally:
            await chat.close()
        assert not any(isinstance(e, lab.RejoinFailed) for e in seen)
        assert sorted(e.room for e in seen if isinstance(e, lab.NumberingRestarted)) == sorted(rooms)
        assert seen[[type(e) for e in seen].index(lab.Resumed)].rooms == tuple(rooms)
        assert [e.text for e in seen if isinstance(e, lab.ChatEvent) and e.kind == "message"] == [
            f"back in {room}" for room in rooms
        ]

    try:
        run(scenario())
    finally:
        for server in servers:
            server.stop()
