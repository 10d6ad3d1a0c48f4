#!/usr/bin/env python3
"""Names at the handshake frame limit, and keepalive with late or wrong pongs.

    PYTHONPATH=Clients/python/src python3 scripts/attacks/names.py .build/debug/laboratory-server
"""

import asyncio
import os
import sys
import time

sys.path.insert(0, os.path.dirname(__file__))
from labattack import PASSWORD, Client, Server, describe  # noqa: E402
from laboratory_client import messages  # noqa: E402
from laboratory_client.messages import Ping  # noqa: E402


async def handshake_with_name(port: int, name: str, source: str) -> str:
    client = await Client.connect(port, source)
    try:
        return describe(await client.handshake(name=name))
    except Exception as error:
        return type(error).__name__
    finally:
        client.abort()


async def keepalive(port: int, mode: str, source: str) -> str:
    """--keepalive-interval 1 --idle-timeout 3: answer pings per `mode` for 6 s."""
    client = await Client.connect(port, source)
    accepted = await client.handshake(name=f"k{mode[:8]}")
    assert describe(accepted) == "Accepted", accepted
    started = time.monotonic()
    pings = 0
    try:
        while time.monotonic() - started < 6:
            message = await client.message(8)
            if isinstance(message, Ping):
                pings += 1
                if mode == "silent":
                    continue
                if mode == "late":
                    await asyncio.sleep(1.8)
                value = message.value + 1 if mode == "wrong value" else message.value
                client.writer.write(client.sealed(messages.pong(value)))
            else:
                return f"{describe(message)} after {time.monotonic() - started:.1f} s, {pings} pings"
        return f"alive after 6 s, {pings} pings"
    except Exception as error:
        return f"{type(error).__name__} after {pings} pings"
    finally:
        client.abort()


async def main() -> None:
    server = Server(sys.argv[1], "--keepalive-interval", "1", "--idle-timeout", "3")
    try:
        # One grapheme cluster: a base letter and combining acute accents (Mn), valid under §11.
        # Each from its own address: a refused name earns its address a penalty.
        for n, marks in enumerate((100, 511, 512, 2000, 2037, 2038, 2100, 30000)):
            name = "a" + "\u0301" * marks
            size = len(messages.name(name)) + 16
            print(f"name of 1 character, {len(name.encode())} bytes (sealed frame {size}): "
                  f"{await handshake_with_name(server.port, name, f'127.0.2.{n + 1}')}")
        # (From other addresses: the oversized names earned 127.0.0.1 a penalty.)
        for n, mode in enumerate(("prompt", "late", "wrong value", "silent")):
            print(f"keepalive, pongs {mode}: {await keepalive(server.port, mode, f'127.0.3.{n + 1}')}")
    finally:
        server.stop()


asyncio.run(main())
