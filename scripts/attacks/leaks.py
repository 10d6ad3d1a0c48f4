#!/usr/bin/env python3
"""Does any way of ending a pre-authentication connection leak an admission ticket?

The server runs with a small connection cap (`--max-connections C`) and table (`--max-startups
C/4:30:C/2`). Each attack below is run, then, once its connections have ended, C connections from C
fresh /24s must all get a hello: a leaked ticket (total or unfinished) would show as a refusal
(`too many connections`, `busy`) or an eviction.

    PYTHONPATH=Clients/python/src python3 scripts/attacks/leaks.py .build/debug/laboratory-server
"""

import asyncio
import os
import struct
import sys
import time

sys.path.insert(0, os.path.dirname(__file__))
from labattack import Client, Server, census, describe, PASSWORD  # noqa: E402
from laboratory_client import messages  # noqa: E402
from laboratory_client.hello import ServerHello  # noqa: E402

CAP = 48


async def one(port: int, source: str, kind: str) -> str:
    try:
        client = await Client.connect(port, source)
    except OSError as error:
        return f"connect {error.errno}"
    try:
        if kind == "rst-at-once":
            client.abort()
            return "aborted"
        first = await client.hello_or_closing(20)
        if not isinstance(first, ServerHello):
            return describe(first)
        if kind == "fin-after-hello":
            client.close()
            return "closed"
        if kind == "oversized-hello-step":
            client.writer.write(struct.pack(">I", 4097) + b"x" * 4097)
            return describe(await client.message(20))
        if kind == "exact-4096-key-exchange":
            client.writer.write(struct.pack(">I", 4096) + os.urandom(4096))
            return describe(await client.message(20))
        if kind == "silent":
            return describe(await client.message(20))
        client.writer.write(client.key_exchange())
        prompt = await client.message(20)
        if kind == "rst-after-key":
            client.abort()
            return "aborted"
        if kind == "oversized-password-step":
            client.writer.write(struct.pack(">I", 4097) + b"x" * 4097)
            return describe(await client.message(20))
        if kind == "exact-4096-password":
            # A sealed password message of exactly 4,096 bytes: 4,080 of plaintext.
            text = "p" * (4080 - 3)
            frame = client.sealed(messages.password(text))
            assert len(frame) == 4100, len(frame)
            client.writer.write(frame)
            return describe(await client.message(20))
        client.writer.write(client.sealed(messages.password("wrong")))
        if kind == "wrong-then-rst":
            await asyncio.sleep(0.3)
            client.abort()
            return "aborted in delay"
        if kind == "wrong-then-fin":
            await asyncio.sleep(0.3)
            client.close()
            return "closed in delay"
        if kind == "wrong-then-flood":
            big = struct.pack(">I", 1 << 20) + os.urandom(1 << 20)
            for _ in range(4):
                client.writer.write(big)
            return describe(await client.message(20))
        return describe(await client.message(20))
    except Exception as error:
        return type(error).__name__
    finally:
        client.abort()


async def attack(port: int, kind: str, count: int, base: int) -> dict[str, int]:
    # Every attacker in its own /24, so none is refused for its address's or network's cap.
    results = await asyncio.gather(*(one(port, f"127.{base}.{i}.9", kind) for i in range(count)))
    tally: dict[str, int] = {}
    for result in results:
        tally[result] = tally.get(result, 0) + 1
    return tally


async def evict_in_delay(port: int, base: int) -> dict[str, int]:
    """Fills the table with connections that sent a wrong password (in their delay), then evicts
    them all with newcomers from fresh /24s."""
    async def hold(i: int) -> Client:
        client = await Client.connect(port, f"127.{base}.{i}.7")
        first = await client.hello_or_closing(20)
        if isinstance(first, ServerHello):
            client.writer.write(client.key_exchange())
            await client.message(20)
            client.writer.write(client.sealed(messages.password("wrong")))
        return client

    holders = await asyncio.gather(*(hold(i) for i in range(CAP // 2)))
    results = await asyncio.gather(*(one(port, f"127.{base}.{100 + i}.7", "silent") for i in range(CAP // 2)))
    tally: dict[str, int] = {}
    for holder in holders:
        outcome = describe(await holder.message(20))
        tally["holder " + outcome] = tally.get("holder " + outcome, 0) + 1
        holder.abort()
    for result in results:
        tally["newcomer " + result] = tally.get("newcomer " + result, 0) + 1
    return tally


async def main() -> None:
    server = Server(sys.argv[1], "--max-connections", str(CAP), "--max-startups", f"{CAP // 4}:30:{CAP // 2}",
                    "--handshake-step-timeout", "3", "--handshake-timeout", "6")
    failures = 0
    try:
        print("census before:", await census(server.port, CAP, "127.200"))
        base = 10
        for kind in ["rst-at-once", "fin-after-hello", "oversized-hello-step", "exact-4096-key-exchange",
                     "rst-after-key", "oversized-password-step", "exact-4096-password", "wrong-then-rst",
                     "wrong-then-fin", "wrong-then-flood", "silent", "evicted"]:
            started = time.monotonic()
            if kind == "evicted":
                tally = await evict_in_delay(server.port, base)
            else:
                tally = await attack(server.port, kind, CAP, base)
            # Let every connection end (the longest: a silent one at the 6 s handshake deadline).
            await asyncio.sleep(7 if kind in ("silent", "evicted") else 1.5)
            after = await census(server.port, CAP, f"127.{base + 1}")
            ok = after == {"hello": CAP}
            failures += not ok
            print(f"{kind:26} {time.monotonic() - started:5.1f} s  {tally}  census after: {after}"
                  f"{'' if ok else '  <-- LEAK?'}")
            base += 2
    finally:
        server.stop()
    sys.exit(1 if failures else 0)


asyncio.run(main())
