"""The least a Python HTTP proxy on uvloop and httptools can spend per request: the
floor under any Python request path, for ``gateway_profile.py --floor``.

Each client connection gets one instance connection of its own (opened when the
client connects, as a pool keeps one per concurrent request under steady load); bytes
go both ways as they come, and httptools reads them with no callback at all (what
keeps a proxy HTTP-aware, at the least). No
routing, no head rewriting, no counters, no timers, no holding: everything the
gateway does beyond this is Python it could cut; this part it cannot.
"""

from __future__ import annotations

import asyncio
from typing import cast

from httptools import HttpRequestParser, HttpResponseParser

NO_CALLBACKS = object()
"""What the parsers call back: nothing (httptools still reads every byte, and refuses
what is not HTTP)."""


class InstanceSide(asyncio.Protocol):
    def __init__(self, client: asyncio.Transport) -> None:
        self.client = client
        self.parser = HttpResponseParser(NO_CALLBACKS)

    def data_received(self, data: bytes) -> None:
        self.parser.feed_data(data)
        self.client.write(data)


class ClientSide(asyncio.Protocol):
    def __init__(self, socket_path: str) -> None:
        self.socket_path = socket_path
        self.parser = HttpRequestParser(NO_CALLBACKS)
        self.early: list[bytes] = []
        self.instance: asyncio.Transport | None = None

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        client = cast(asyncio.Transport, transport)
        self.task = asyncio.ensure_future(self._connect(client))

    async def _connect(self, client: asyncio.Transport) -> None:
        loop = asyncio.get_running_loop()
        instance, _ = await loop.create_unix_connection(
            lambda: InstanceSide(client), self.socket_path
        )
        if self.early:
            instance.write(b"".join(self.early))
        self.instance = instance

    def data_received(self, data: bytes) -> None:
        self.parser.feed_data(data)
        if self.instance is None:
            self.early.append(data)
        else:
            self.instance.write(data)

    def connection_lost(self, exc: Exception | None) -> None:
        if self.instance is not None:
            self.instance.close()


async def start(socket_path: str) -> tuple[asyncio.Server, int]:
    """The relay on a free loopback port, in front of the instance at ``socket_path``."""
    loop = asyncio.get_running_loop()
    server = await loop.create_server(lambda: ClientSide(socket_path), "127.0.0.1", 0)
    return server, server.sockets[0].getsockname()[1]
