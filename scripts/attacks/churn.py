#!/usr/bin/env python3
"""Connect/close churn of thousands of connections (reset at once, closed after the hello, reset
after the key exchange, reset during a wrong password's delay), from many addresses; the server's
RSS before, at its peak and after it settles; then SIGTERM while the unfinished-handshake table is
full of silent connections: every one must get code 9 at once, and the process must exit 0.

    PYTHONPATH=Clients/python/src python3 scripts/attacks/churn.py .build/debug/laboratory-server [--count 6000] [--rounds 1]
"""

import argparse
import asyncio
import os
import signal
import sys
import time

sys.path.insert(0, os.path.dirname(__file__))
from labattack import Client, Server, census, describe  # noqa: E402
from laboratory_client import messages  # noqa: E402
from laboratory_client.hello import ServerHello  # noqa: E402

KINDS = ("rst", "fin-after-hello", "rst-after-key", "rst-in-delay")


async def one(port: int, source: str, kind: str) -> str:
    try:
        client = await Client.connect(port, source)
    except OSError as error:
        return f"connect errno {error.errno}"
    try:
        if kind == "rst":
            return "rst"
        first = await client.hello_or_closing(20)
        if not isinstance(first, ServerHello):
            return describe(first)
        if kind == "fin-after-hello":
            client.close()
            return kind
        client.writer.write(client.key_exchange())
        await client.message(20)
        if kind == "rst-after-key":
            return kind
        client.writer.write(client.sealed(messages.password("wrong")))
        await asyncio.sleep(0.2)
        return kind
    except Exception as error:
        return type(error).__name__
    finally:
        client.abort()


async def churn(port: int, count: int) -> dict[str, int]:
    tally: dict[str, int] = {}
    semaphore = asyncio.Semaphore(200)

    async def run(i: int) -> None:
        async with semaphore:
            # 100 /24s x 250 addresses: per-address penalties rarely bite.
            result = await one(port, f"127.{100 + i % 100}.{i // 100 % 250}.{1 + i // 25000 % 250}", KINDS[i % 4])
            tally[result] = tally.get(result, 0) + 1

    await asyncio.gather(*(run(i) for i in range(count)))
    return tally


async def shutdown_when_full(server: Server) -> None:
    holders = []
    for i in range(300):
        try:
            holders.append(await Client.connect(server.port, f"127.150.{i}.1"))
        except OSError:
            pass
    firsts = await asyncio.gather(*(h.hello_or_closing(20) for h in holders), return_exceptions=True)
    waiting = [h for h, f in zip(holders, firsts) if isinstance(f, ServerHello)]
    await asyncio.sleep(0.5)
    sent = time.monotonic()
    server.signal(signal.SIGTERM)

    async def ending(client: Client) -> tuple[str, float]:
        try:
            return describe(await client.message(40)), time.monotonic() - sent
        except Exception as error:
            return type(error).__name__, time.monotonic() - sent

    results = await asyncio.gather(*(ending(c) for c in waiting))
    code = await asyncio.get_running_loop().run_in_executor(None, server.wait, 60)
    tally: dict[str, int] = {}
    for name, _ in results:
        tally[name] = tally.get(name, 0) + 1
    print(f"SIGTERM with {len(waiting)} silent handshakes in the table: {tally}, the last within "
          f"{max(t for _, t in results):.2f} s; exit {code} after {time.monotonic() - sent:.2f} s")


async def main(args) -> None:
    server = Server(args.server)
    try:
        await asyncio.sleep(1)
        before, _ = server.rss()
        mib = lambda v: f"{v / 1048576:.1f} MiB"
        for round in range(args.rounds):
            started = time.monotonic()
            tally = await churn(server.port, args.count)
            elapsed = time.monotonic() - started
            end, peak = server.rss()
            await asyncio.sleep(args.settle)
            settled, _ = server.rss()
            print(f"round {round + 1}: {args.count} connections in {elapsed:.1f} s: {tally}")
            print(f"  RSS before the first round {mib(before)}, peak {mib(peak)}, at the end {mib(end)}, "
                  f"{args.settle:g} s later {mib(settled)} ({(settled - before) / before * 100:+.1f} %)")
        print("census of 256 fresh /24s afterwards:", await census(server.port, 256, "127.199"))
        await asyncio.sleep(2)
        await shutdown_when_full(server)
    finally:
        server.stop()


parser = argparse.ArgumentParser()
parser.add_argument("server")
parser.add_argument("--count", type=int, default=6000)
parser.add_argument("--settle", type=float, default=15)
parser.add_argument("--rounds", type=int, default=1)
asyncio.run(main(parser.parse_args()))
