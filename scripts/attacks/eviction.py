#!/usr/bin/env python3
"""Can attackers use eviction to kick an honest client that is mid-handshake?

NETWORKS attacker /24s (127.60.0.0/24, 127.60.1.0/24, ...) each keep PER_NETWORK silent
connections open, reconnecting as soon as one ends (evicted, refused, timed out), each time from
the next address of the /24 (so per-address penalties never bite). Meanwhile an honest client on
127.0.0.1 runs full handshakes one after another, optionally pausing PAUSE seconds before each of
its three messages (a slow link), and the script reports its success rate and latencies.

    PYTHONPATH=Clients/python/src python3 scripts/attacks/eviction.py .build/debug/laboratory-server \
        --networks 200 --per-network 2 --pause 0.5 --duration 40
"""

import argparse
import asyncio
import os
import sys
import time

sys.path.insert(0, os.path.dirname(__file__))
from labattack import Client, Server, describe  # noqa: E402
from laboratory_client.messages import Accepted, Closing  # noqa: E402
from laboratory_client.hello import ServerHello  # noqa: E402

stats = {"attacker connections": 0, "attacker evicted": 0, "attacker refused": 0, "attacker other": 0}


async def holder(port: int, network: int, slot: int, stop: asyncio.Event, reconnect_delay: float) -> None:
    host = 1 + slot
    while not stop.is_set():
        source = f"127.{60 + network // 256}.{network % 256}.{host}"
        host = host % 250 + 1
        try:
            client = await Client.connect(port, source)
        except OSError:
            await asyncio.sleep(0.5)
            continue
        stats["attacker connections"] += 1
        try:
            first = await client.hello_or_closing(40)
            if isinstance(first, ServerHello):
                ending = await client.message(40)
                if isinstance(ending, Closing) and "evicted" in ending.message:
                    stats["attacker evicted"] += 1
                else:
                    stats["attacker other"] += 1
            else:
                stats["attacker refused"] += 1
        except Exception:
            stats["attacker other"] += 1
        finally:
            client.abort()
        await asyncio.sleep(reconnect_delay)


async def honest(port: int, pause: float, stop: asyncio.Event, results: list) -> None:
    while not stop.is_set():
        started = time.monotonic()
        try:
            client = await Client.connect(port, "127.0.0.1")
            outcome = await client.handshake(pause=pause)
            client.abort()
        except Exception as error:
            outcome = type(error).__name__
        results.append((describe(outcome) if not isinstance(outcome, str) else outcome,
                        time.monotonic() - started))
        await asyncio.sleep(0.05)


async def main(args) -> None:
    server = Server(args.server, *args.server_args)
    stop = asyncio.Event()
    results: list = []
    try:
        attackers = [asyncio.create_task(holder(server.port, n, s, stop, args.reconnect_delay))
                     for n in range(args.networks) for s in range(args.per_network)]
        await asyncio.sleep(args.warmup)
        honest_task = asyncio.create_task(honest(server.port, args.pause, stop, results))
        await asyncio.sleep(args.duration)
        stop.set()
        await honest_task
        for task in attackers:
            task.cancel()
        await asyncio.gather(*attackers, return_exceptions=True)
    finally:
        server.stop()
    tally: dict[str, int] = {}
    for outcome, _ in results:
        tally[outcome] = tally.get(outcome, 0) + 1
    successes = sorted(t for o, t in results if o == "Accepted")
    rate = len(successes) / max(len(results), 1) * 100
    p = lambda q: successes[min(len(successes) - 1, int(q * len(successes)))] if successes else float("nan")
    print(f"attackers: {args.networks} networks x {args.per_network}, {stats}")
    print(f"honest (pause {args.pause} s per step): {len(results)} handshakes, {tally}, "
          f"success {rate:.1f} %, latency p50 {p(0.5):.2f} s p99 {p(0.99):.2f} s max {p(1.0):.2f} s")


parser = argparse.ArgumentParser()
parser.add_argument("server")
parser.add_argument("--networks", type=int, default=200)
parser.add_argument("--per-network", type=int, default=2)
parser.add_argument("--pause", type=float, default=0)
parser.add_argument("--duration", type=float, default=30)
parser.add_argument("--warmup", type=float, default=5)
parser.add_argument("--reconnect-delay", type=float, default=0.0)
parser.add_argument("server_args", nargs="*")
asyncio.run(main(parser.parse_args()))
