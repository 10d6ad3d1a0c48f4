"""A TCP proxy for the reconnection tests: it relays a client to the server, and on demand cuts every
connection through it (both sides reset, as a network cut) and holds new ones off (accepted and
closed at once, before anything reaches the server), until released; or freezes the connections
open: bytes are dropped in both directions and no reset is ever sent (a network that fails
silently)."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field


@dataclass
class Relayed:
    """One client connection through the proxy."""

    client_bytes: int = 0  # what the client sent on to the server
    reached_server: bool = False  # not held off, and the server was up
    frozen: bool = False  # bytes are dropped, the sockets stay open
    writers: list[asyncio.StreamWriter] = field(default_factory=list)


class CuttingProxy:
    def __init__(self, target_host: str, target_port: int) -> None:
        self.target = (target_host, target_port)
        self.holding = False
        self.connections: list[Relayed] = []
        self._tasks: set[asyncio.Task] = set()

    async def start(self) -> int:
        self._server = await asyncio.start_server(self._handle, "127.0.0.1", 0)
        return self._server.sockets[0].getsockname()[1]

    @property
    def relayed(self) -> list[Relayed]:
        """The connections that reached the server."""
        return [connection for connection in self.connections if connection.reached_server]

    def cut(self, hold: bool = True) -> None:
        """Resets every open connection; with ``hold``, new ones are closed at once until
        :meth:`release`."""
        self.holding = hold
        for connection in self.connections:
            for writer in connection.writers:
                writer.transport.abort()
            connection.writers.clear()

    def freeze(self) -> None:
        """From now on the open connections carry nothing, and say nothing about it."""
        for connection in self.connections:
            connection.frozen = True

    def release(self) -> None:
        self.holding = False

    async def _handle(self, client_reader: asyncio.StreamReader, client_writer: asyncio.StreamWriter) -> None:
        connection = Relayed()
        self.connections.append(connection)
        if self.holding:
            client_writer.transport.abort()
            return
        try:
            server_reader, server_writer = await asyncio.open_connection(*self.target)
        except OSError:
            client_writer.transport.abort()  # the server is down: as if the network were
            return
        connection.reached_server = True
        connection.writers += [client_writer, server_writer]

        async def pipe(reader: asyncio.StreamReader, writer: asyncio.StreamWriter, count: bool) -> None:
            try:
                while data := await reader.read(65536):
                    if connection.frozen:
                        continue
                    if count:
                        connection.client_bytes += len(data)
                    writer.write(data)
                    await writer.drain()
            except (ConnectionError, OSError):
                pass
            finally:
                writer.transport.abort()

        await asyncio.gather(pipe(client_reader, server_writer, True), pipe(server_reader, client_writer, False))

    def close(self) -> None:
        self.cut(hold=True)
        self._server.close()
