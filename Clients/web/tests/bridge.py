"""A stand-in for the server's WebSocket gateway, for the browser tests only (stdlib, asyncio).

It serves the files of ``Clients/web`` over HTTP and relays ``/v1/ws``: each binary WebSocket
message from the browser becomes one length-prefixed TCP frame to a real ``laboratory-server``, and
each TCP frame from the server one binary WebSocket message, which is the gateway's wire contract
(PROTOCOL.md §3 without the prefix). It counts the messages each browser connection sent, so a
test can check that a client refusing a server key sent nothing at all.
"""

from __future__ import annotations

import asyncio
import base64
import hashlib
import mimetypes
import struct
import threading
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import unquote, urlsplit

WS_GUID = "258EAFA5-E914-47DA-95CA-C5AB0DC85B11"
WS_PATH = "/v1/ws"
MAX_PAYLOAD = 1_048_576 + 16
TYPES = {".js": "text/javascript", ".html": "text/html; charset=utf-8", ".css": "text/css", ".md": "text/plain"}


@dataclass
class RelayedConnection:
    """One browser connection: how many messages it sent to the server, and whether it ended."""

    client_messages: int = 0
    server_messages: int = 0
    ended: asyncio.Event = field(default_factory=asyncio.Event)
    writer: asyncio.StreamWriter | None = None
    close_sent: bool = False


class WebBridge:
    def __init__(self, root: Path, server_host: str, server_port: int) -> None:
        self.root = root.resolve()
        self.server_host = server_host
        self.server_port = server_port
        self.connections: list[RelayedConnection] = []
        self.loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self.loop.run_forever, name="web-bridge", daemon=True)
        self.port = 0

    # ---- Lifecycle, from the test's thread ------------------------------------------------------

    def start(self) -> "WebBridge":
        self._thread.start()
        self._server = asyncio.run_coroutine_threadsafe(
            asyncio.start_server(self._serve, "127.0.0.1", 0), self.loop
        ).result(10)
        self.port = self._server.sockets[0].getsockname()[1]
        return self

    def stop(self) -> None:
        async def close() -> None:
            self._server.close()
            for connection in self.connections:
                if connection.writer:
                    connection.writer.transport.abort()

        asyncio.run_coroutine_threadsafe(close(), self.loop).result(10)
        self.loop.call_soon_threadsafe(self.loop.stop)
        self._thread.join(10)

    @property
    def origin(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def ws_url(self) -> str:
        return f"ws://127.0.0.1:{self.port}{WS_PATH}"

    def drop_all(self) -> int:
        """Cuts every open browser connection at the TCP level (no closing, no WebSocket close)."""

        async def drop() -> int:
            dropped = 0
            for connection in self.connections:
                if connection.writer and not connection.ended.is_set():
                    connection.writer.transport.abort()
                    dropped += 1
            return dropped

        return asyncio.run_coroutine_threadsafe(drop(), self.loop).result(10)

    # ---- HTTP -----------------------------------------------------------------------------------

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            head = await reader.readuntil(b"\r\n\r\n")
        except (asyncio.IncompleteReadError, asyncio.LimitOverrunError, ConnectionError):
            writer.close()
            return
        lines = head.decode("latin-1").split("\r\n")
        method, target, _ = (lines[0].split(" ") + ["", "", ""])[:3]
        headers = {}
        for line in lines[1:]:
            if ":" in line:
                name, value = line.split(":", 1)
                headers[name.strip().lower()] = value.strip()
        path = unquote(urlsplit(target).path)
        try:
            if path == WS_PATH and headers.get("upgrade", "").lower() == "websocket":
                await self._relay(reader, writer, headers)
            elif method == "GET":
                await self._file(writer, path)
            else:
                await self._respond(writer, 405, "text/plain", b"method not allowed\n")
        except (ConnectionError, asyncio.IncompleteReadError):
            pass
        finally:
            writer.close()

    async def _respond(self, writer, status: int, content_type: str, body: bytes) -> None:
        reason = {200: "OK", 404: "Not Found", 405: "Method Not Allowed"}.get(status, "Error")
        writer.write(
            f"HTTP/1.1 {status} {reason}\r\nContent-Type: {content_type}\r\nContent-Length: {len(body)}\r\n"
            f"Cache-Control: no-store\r\nConnection: close\r\n\r\n".encode("latin-1") + body
        )
        await writer.drain()

    async def _file(self, writer, path: str) -> None:
        relative = path.lstrip("/") or "index.html"
        if relative.endswith("/"):
            relative += "index.html"
        candidate = (self.root / relative).resolve()
        if self.root not in candidate.parents and candidate != self.root or not candidate.is_file():
            await self._respond(writer, 404, "text/plain", b"not found\n")
            return
        content_type = TYPES.get(candidate.suffix) or mimetypes.guess_type(candidate.name)[0] or "application/octet-stream"
        await self._respond(writer, 200, content_type, candidate.read_bytes())

    # ---- WebSocket relay ------------------------------------------------------------------------

    async def _relay(self, reader, writer, headers) -> None:
        key = headers.get("sec-websocket-key", "")
        accept = base64.b64encode(hashlib.sha1((key + WS_GUID).encode("ascii")).digest()).decode("ascii")
        writer.write(
            (
                "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
                f"Sec-WebSocket-Accept: {accept}\r\n\r\n"
            ).encode("ascii")
        )
        await writer.drain()
        connection = RelayedConnection(writer=writer)
        self.connections.append(connection)
        try:
            tcp_reader, tcp_writer = await asyncio.open_connection(self.server_host, self.server_port)
        except OSError:
            await self._send_close(writer, connection, struct.pack(">H", 1011) + b"server unreachable")
            connection.ended.set()
            return
        lock = asyncio.Lock()
        to_server = asyncio.create_task(self._browser_to_server(reader, writer, tcp_writer, connection, lock))
        to_browser = asyncio.create_task(self._server_to_browser(tcp_reader, writer, connection, lock))
        await asyncio.wait([to_server, to_browser], return_when=asyncio.FIRST_COMPLETED)
        # Whichever side ended first, let the other side finish what it has (the server's closing).
        try:
            await asyncio.wait_for(asyncio.shield(to_browser), 3)
        except (asyncio.TimeoutError, Exception):
            pass
        for task in (to_server, to_browser):
            task.cancel()
        tcp_writer.close()
        connection.ended.set()

    async def _browser_to_server(self, reader, writer, tcp_writer, connection, lock) -> None:
        message = bytearray()
        while True:
            first, second = await reader.readexactly(2)
            fin, opcode, masked, length = first & 0x80, first & 0x0F, second & 0x80, second & 0x7F
            if length == 126:
                (length,) = struct.unpack(">H", await reader.readexactly(2))
            elif length == 127:
                (length,) = struct.unpack(">Q", await reader.readexactly(8))
            if not masked or length > MAX_PAYLOAD:
                async with lock:
                    await self._send_close(writer, connection, struct.pack(">H", 1002))
                break
            mask = await reader.readexactly(4)
            data = bytes(b ^ mask[i % 4] for i, b in enumerate(await reader.readexactly(length)))
            if opcode == 0x8:  # close: end the TCP connection's sending side, answer the close
                async with lock:
                    await self._send_close(writer, connection, data[:2])
                if tcp_writer.can_write_eof():
                    tcp_writer.write_eof()
                break
            if opcode == 0x9:
                async with lock:
                    await self._send_ws(writer, 0xA, data)
                continue
            if opcode == 0xA:
                continue
            if opcode == 0x1:
                async with lock:
                    await self._send_close(writer, connection, struct.pack(">H", 1003) + b"binary messages only")
                break
            message += data
            if not fin:
                continue
            tcp_writer.write(struct.pack(">I", len(message)) + bytes(message))
            await tcp_writer.drain()
            connection.client_messages += 1
            message = bytearray()

    async def _server_to_browser(self, tcp_reader, writer, connection, lock) -> None:
        try:
            while True:
                (length,) = struct.unpack(">I", await tcp_reader.readexactly(4))
                payload = await tcp_reader.readexactly(length)
                async with lock:
                    await self._send_ws(writer, 0x2, payload)
                connection.server_messages += 1
        except (asyncio.IncompleteReadError, ConnectionError):
            pass
        async with lock:
            try:
                await self._send_close(writer, connection, struct.pack(">H", 1000))
            except ConnectionError:
                pass

    async def _send_close(self, writer, connection: RelayedConnection, payload: bytes) -> None:
        """A WebSocket close frame, at most once per connection."""
        if connection.close_sent:
            return
        connection.close_sent = True
        await self._send_ws(writer, 0x8, payload)

    @staticmethod
    async def _send_ws(writer, opcode: int, payload: bytes) -> None:
        length = len(payload)
        if length < 126:
            header = struct.pack(">BB", 0x80 | opcode, length)
        elif length < 1 << 16:
            header = struct.pack(">BBH", 0x80 | opcode, 126, length)
        else:
            header = struct.pack(">BBQ", 0x80 | opcode, 127, length)
        writer.write(header + payload)
        await writer.drain()
