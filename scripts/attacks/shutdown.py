#!/usr/bin/env python3
"""SIGTERM (or SIGINT) while connections sit in every pre-authentication state and a churn of
connect/close runs: does every client get code 9 promptly, and does the process exit 0?

    PYTHONPATH=Clients/python/src python3 scripts/attacks/shutdown.py .build/debug/laboratory-server [INT]
"""

import asyncio
import os
import signal
import sys
import time

sys.path.insert(0, os.path.dirname(__file__))
from labattack import PASSWORD, Client, Server, describe  # noqa: E402
from laboratory_client import messages  # noqa: E402
from laboratory_client.hello import ServerHello  # noqa: E402

PER_STATE = 12


async def to_state(port: int, source: str, state: str) -> Client:
    client = await Client.connect(port, source)
    first = await client.hello_or_closing(20)
    assert isinstance(first, ServerHello), first
    if state == "awaiting key":
        return client
    client.writer.write(client.key_exchange())
    await client.message(20)
    if state == "awaiting password":
        return client
    if state == "rejecting password":
        client.writer.write(client.sealed(messages.password("wrong")))
        return client
    client.writer.write(client.sealed(messages.password(PASSWORD)))
    await client.message(20)
    if state == "awaiting name":
        return client
    client.writer.write(client.sealed(messages.name(f"n{source.replace('.', '')}")))
    await client.message(20)
    return client


async def churn(port: int, stop: asyncio.Event, counter: list) -> None:
    i = 0
    while not stop.is_set():
        i += 1
        try:
            client = await Client.connect(port, f"127.90.{i % 200}.{1 + i // 200 % 250}")
            counter[0] += 1
            client.abort()
        except OSError:
            counter[1] += 1
            await asyncio.sleep(0.01)


async def main() -> None:
    sig = signal.SIGINT if sys.argv[2:] == ["INT"] else signal.SIGTERM
    server = Server(sys.argv[1])
    states = ["awaiting key", "awaiting password", "rejecting password", "awaiting name", "accepted"]
    try:
        clients = {}
        for n, state in enumerate(states):
            clients[state] = [await to_state(server.port, f"127.80.{n}.{i + 1}", state) for i in range(PER_STATE)]
        stop = asyncio.Event()
        counter = [0, 0]
        churner = [asyncio.create_task(churn(server.port, stop, counter)) for _ in range(4)]
        # The wrong passwords were sent under a second ago: those connections are in their delay.
        await asyncio.sleep(0.1)
        sent = time.monotonic()
        server.signal(sig)

        async def ending(client: Client) -> tuple[str, float]:
            try:
                while True:
                    message = await client.message(40)
                    name = describe(message)
                    if name not in ("ServerStopping", "Ping"):
                        return name, time.monotonic() - sent
            except Exception as error:
                return type(error).__name__, time.monotonic() - sent

        results = {state: await asyncio.gather(*(ending(c) for c in cs)) for state, cs in clients.items()}
        stop.set()
        await asyncio.gather(*churner, return_exceptions=True)
        code = await asyncio.get_running_loop().run_in_executor(None, server.wait, 60)
        exited = time.monotonic() - sent
        for state, outcomes in results.items():
            tally: dict[str, int] = {}
            for name, _ in outcomes:
                tally[name] = tally.get(name, 0) + 1
            print(f"{state:20} {tally} within {max(t for _, t in outcomes):.2f} s")
        print(f"churn: {counter[0]} connects, {counter[1]} failed; signal {sig.name}: exit {code} after {exited:.2f} s")
        stderr = server.process.stderr.read()
        if stderr:
            path = f"/tmp/laboratory-shutdown-stderr-{server.process.pid}.log"
            open(path, "w").write(stderr)
            print(f"server stderr ({len(stderr)} bytes) saved to {path}:", stderr[:300])
    finally:
        server.stop()


asyncio.run(main())
