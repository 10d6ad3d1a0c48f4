"""How long the reconnecting client takes from a cut connection to a resumed room, against a real
laboratory-server on loopback (measured, not asserted anywhere).

    LABORATORY_SERVER_BIN=.build/debug/laboratory-server PYTHONPATH=Clients/python/src \\
        python3 Clients/python/benchmarks/reconnect.py [--trials 30] [--missed 20]

Each trial cuts the client's connection at a proxy (a reset, as a network cut) and holds new
connections off while another client says ``--missed`` messages, then lets them through and times
that moment to ``Resumed`` (every missed message delivered by then, in order, which is checked):
what is left of the pending attempt's backoff wait, plus the reconnection. Twice: with the default
backoff (0.5 s doubling, full jitter), and with a 1 ms ceiling, which leaves the reconnection's own
cost: TCP, the handshake (RSA-OAEP key transport, the password), the rejoin and its replay."""

from __future__ import annotations

import argparse
import asyncio
import statistics
import sys
import tempfile
import time
from pathlib import Path

TESTS = Path(__file__).resolve().parents[1] / "tests"
sys.path.insert(0, str(TESTS))

import laboratory_client as lab  # noqa: E402
from cutting_proxy import CuttingProxy  # noqa: E402
from laboratory_server import PASSWORD, start_server  # noqa: E402


async def trials(server, backoff: lab.Backoff, count: int, missed: int) -> list[float]:
    proxy = CuttingProxy(server.host, server.port)
    port = await proxy.start()
    chat = await lab.ReconnectingChat("127.0.0.1", port, password=PASSWORD, name="ada",
                                      trust=lab.Pinned(server.fingerprint), backoff=backoff).start()
    bob = await lab.connect(server.host, server.port, password=PASSWORD, name="bob",
                            trust=lab.Pinned(server.fingerprint))
    room = f"bench-{time.monotonic_ns()}"
    await chat.join(room)
    await lab.Chat(bob).join(room)
    times = []
    try:
        for trial in range(count):
            proxy.cut(hold=True)
            while not isinstance(await chat.next_event(30), lab.ConnectionLost):
                pass
            for i in range(missed):
                await lab.Chat(bob).say(room, f"{trial}-{i}")
            started = time.perf_counter()
            proxy.release()
            texts = []
            while not isinstance(event := await chat.next_event(30), lab.Resumed):
                if isinstance(event, lab.ChatEvent) and event.kind == "message":
                    texts.append(event.text)
            times.append(time.perf_counter() - started)
            assert texts == [f"{trial}-{i}" for i in range(missed)], texts
    finally:
        await chat.close()
        await bob.close()
        proxy.close()
    return times


def summary(name: str, times: list[float]) -> str:
    ordered = sorted(times)
    p = lambda q: ordered[min(len(ordered) - 1, int(q * len(ordered)))]  # noqa: E731
    return (f"{name}: n={len(times)} mean={statistics.mean(times) * 1000:.0f} ms "
            f"p50={p(0.5) * 1000:.0f} ms p90={p(0.9) * 1000:.0f} ms max={ordered[-1] * 1000:.0f} ms")


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--trials", type=int, default=30)
    parser.add_argument("--missed", type=int, default=20)
    arguments = parser.parse_args()
    with tempfile.TemporaryDirectory() as state:
        server = start_server(Path(state))
        try:
            for name, backoff in (("default backoff", lab.Backoff()),
                                  ("1 ms ceiling", lab.Backoff(initial=0.001, maximum=0.001))):
                times = asyncio.run(trials(server, backoff, arguments.trials, arguments.missed))
                print(summary(f"cut -> resumed, {arguments.missed} missed, {name}", times))
        finally:
            server.stop()


if __name__ == "__main__":
    main()
