"""Chat between this Python client and the Swift terminal client (``laboratory connect`` in piped
mode), both on a real server."""

from __future__ import annotations

import asyncio
import os
import subprocess

import laboratory_client as lab
from laboratory_client.events import Closed, ServiceEvent
from laboratory_server import PASSWORD, LineReader, client_binary


async def next_chat(session, predicate, timeout=20.0):
    while True:
        event = await session.next_event(timeout)
        assert not isinstance(event, Closed), event.reason
        if isinstance(event, ServiceEvent) and event.chat is not None and predicate(event.chat):
            return event.chat


def test_chat_with_the_swift_terminal_client(server, tmp_path) -> None:
    home = tmp_path / "swift-home"
    home.mkdir()
    environment = {
        **os.environ, "HOME": str(home), "XDG_CONFIG_HOME": str(home / ".config"),
        "LABORATORY_PASSWORD": PASSWORD, "NO_COLOR": "1", "TERM": "dumb",
    }
    swift = subprocess.Popen(
        [str(client_binary()), "connect", f"{server.host}:{server.port}", "--name", "swift", "--accept-new"],
        stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, env=environment,
    )
    output = LineReader(swift.stdout)

    def type_line(line: str) -> None:
        swift.stdin.write(line + "\n")
        swift.stdin.flush()

    async def scenario() -> None:
        trust = lab.Pinned(server.fingerprint)
        async with lab.connect(server.host, server.port, password=PASSWORD, name="python", trust=trust) as py:
            await lab.Chat(py).join("interop")
            await asyncio.to_thread(output.wait_for, r"Connected to Laboratory")
            type_line("/join interop")
            joined = await next_chat(py, lambda e: e.kind == "joined" and e.name == "swift")
            await asyncio.to_thread(output.wait_for, r"joined interop; members: .*python")

            await lab.Chat(py).say("interop", "hello from python")
            await asyncio.to_thread(output.wait_for, r"\[interop\] python: hello from python")

            type_line("hello from swift")
            message = await next_chat(py, lambda e: e.kind == "message" and e.name == "swift")
            assert (message.text, message.room, message.sender) == ("hello from swift", "interop", joined.sender)

            await py.rename("python 2")
            await asyncio.to_thread(output.wait_for, r"python \(#\d+\) renamed to python 2 in interop")
            type_line("/who")
            await asyncio.to_thread(output.wait_for, r"members of interop: .*python 2")

            type_line("/quit")
            left = await next_chat(py, lambda e: e.kind == "left")
            assert left.sender == joined.sender and left.name == "swift"

    try:
        asyncio.run(asyncio.wait_for(scenario(), 60))
        assert swift.wait(15) == 0, output.seen
    finally:
        if swift.poll() is None:
            swift.kill()
        swift.wait()
    # The Swift client recorded the key in its own known-hosts file, in the format this package reads.
    recorded = lab.KnownHosts(home / ".config" / "laboratory" / "known_hosts").lookup(server.host, server.port)
    assert recorded == server.fingerprint
