"""Helpers for the external attack scripts: start the real `laboratory-server`, speak the protocol
from PROTOCOL.md with the Python client's crypto, from chosen 127.x source addresses."""

from __future__ import annotations

import asyncio
import os
import re
import shutil
import signal
import struct
import subprocess
import tempfile
import time

from laboratory_client import messages
from laboratory_client.crypto import Direction, derive_session_keys, encrypt_secret, random_secret
from laboratory_client.framing import encode_frame, read_frame
from laboratory_client.hello import ServerHello
from laboratory_client.messages import Closing, decode_server_message

PASSWORD = "external attack password"


class Server:
    def __init__(self, binary: str, *args: str, log_level: str = "error") -> None:
        self.state = tempfile.mkdtemp(prefix="laboratory-ext-")
        self.process = subprocess.Popen(
            [binary, "--port", "0", "--state-dir", self.state, "--log-level", log_level, *args],
            env={**os.environ, "LABORATORY_PASSWORD": PASSWORD},
            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        self.port = 0
        for line in self.process.stdout:
            match = re.search(r"Listening on 127\.0\.0\.1:(\d+)", line)
            if match:
                self.port = int(match.group(1))
                break
        assert self.port, "the server did not say where it listens"

    def rss(self) -> tuple[int, int]:
        status = open(f"/proc/{self.process.pid}/status").read()
        field = lambda name: int(re.search(rf"^{name}:\s+(\d+) kB", status, re.M).group(1)) * 1024
        return field("VmRSS"), field("VmHWM")

    def signal(self, number: int = signal.SIGTERM) -> None:
        self.process.send_signal(number)

    def wait(self, timeout: float = 30) -> int:
        return self.process.wait(timeout=timeout)

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                self.process.kill()
        shutil.rmtree(self.state, ignore_errors=True)


class Client:
    """One raw connection, driven step by step."""

    def __init__(self, reader, writer) -> None:
        self.reader, self.writer = reader, writer
        self.send = self.receive = None
        self.hello = None

    @classmethod
    async def connect(cls, port: int, source: str = "127.0.0.1") -> "Client":
        reader, writer = await asyncio.open_connection("127.0.0.1", port, local_addr=(source, 0))
        return cls(reader, writer)

    async def frame(self, timeout: float = 40) -> bytes | None:
        return await asyncio.wait_for(read_frame(self.reader, 1 << 20), timeout)

    def decode(self, frame: bytes):
        if self.receive is not None:
            try:
                return decode_server_message(self.receive.open(frame))
            except Exception:
                pass
        return decode_server_message(frame)

    async def hello_or_closing(self, timeout: float = 40):
        """The hello, or the Closing sent instead."""
        payload = await self.frame(timeout)
        if payload is None:
            return None
        if payload[:1] == b"\x04" or not payload.startswith(b"LAB"):
            try:
                return decode_server_message(payload)
            except Exception:
                pass
        self.hello = ServerHello.parse(payload)
        return self.hello

    def key_exchange(self) -> bytes:
        secret = random_secret()
        keys = derive_session_keys(secret, self.hello.server_random, self.hello.payload)
        self.send = Direction(keys.c2s_key, keys.c2s_iv)
        self.receive = Direction(keys.s2c_key, keys.s2c_iv)
        return encode_frame(encrypt_secret(self.hello.transport_spki, secret))

    def sealed(self, message: bytes) -> bytes:
        return encode_frame(self.send.seal(message))

    async def message(self, timeout: float = 40):
        frame = await self.frame(timeout)
        return None if frame is None else self.decode(frame)

    async def handshake(self, password: str = PASSWORD, name: str = "honest", pause: float = 0):
        """The whole handshake; returns the final message (Accepted, or a Closing)."""
        first = await self.hello_or_closing()
        if not isinstance(first, ServerHello):
            return first
        if pause:
            await asyncio.sleep(pause)
        self.writer.write(self.key_exchange())
        prompt = await self.message()
        if isinstance(prompt, Closing) or prompt is None:
            return prompt
        if pause:
            await asyncio.sleep(pause)
        self.writer.write(self.sealed(messages.password(password)))
        prompt = await self.message()
        if isinstance(prompt, Closing) or prompt is None:
            return prompt
        if pause:
            await asyncio.sleep(pause)
        self.writer.write(self.sealed(messages.name(name)))
        return await self.message()

    def abort(self) -> None:
        self.writer.transport.abort()

    def close(self) -> None:
        self.writer.close()


def describe(message) -> str:
    if message is None:
        return "eof"
    if isinstance(message, Closing):
        return f"closing {message.code}"
    return type(message).__name__


async def census(port: int, count: int, source_prefix: str = "127.200") -> dict[str, int]:
    """Opens `count` connections from distinct addresses in distinct /24s and reports what each
    got first: a hello means admission still had room for it. Used to detect leaked tickets."""
    outcomes: dict[str, int] = {}
    clients = []
    for i in range(count):
        client = await Client.connect(port, f"{source_prefix}.{i}.1")
        clients.append(client)
    for client in clients:
        try:
            first = await client.hello_or_closing(10)
            key = "hello" if isinstance(first, ServerHello) else describe(first)
        except Exception as error:
            key = type(error).__name__
        outcomes[key] = outcomes.get(key, 0) + 1
        client.abort()
    return outcomes
