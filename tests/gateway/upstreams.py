"""Instances for the gateway tests: small ASGI apps served by real uvicorn servers.

Each app stands for one behaviour the gateway must carry: ``echo`` (what arrived:
method, path, headers, body size; ``?hop=1`` adds a hop-by-hop header), ``slow``
(waits ``?delay=`` seconds before the first byte), ``stream`` (first byte at once,
then ``?chunks=`` chunks ``?every=`` seconds apart), ``single`` (500 if it ever sees
two requests at once), ``sink`` (reads the body, answers its size), ``source``
(``?mb=`` MiB, streamed) and ``websocket`` (echoes messages). ``Upstream`` runs one
on a loopback port (or a Unix socket, as the process runner's instances are reached)
in a thread with its own event loop and counts what it served.
"""

import asyncio
import json
import socket
import threading
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs

import uvicorn

from unkai.platform.gateway import Endpoint

Scope = dict[str, Any]
Receive = Callable[[], Awaitable[dict[str, Any]]]
Send = Callable[[dict[str, Any]], Awaitable[None]]
App = Callable[[Scope, Receive, Send], Awaitable[None]]


@dataclass
class Log:
    """What an upstream saw: requests served, and the most in flight at once."""

    served: int = 0
    in_flight: int = 0
    peak: int = 0


def query(scope: Scope, name: str, default: float) -> float:
    values = parse_qs(scope.get("query_string", b"").decode()).get(name)
    return float(values[0]) if values else default


async def start(
    send: Send, status: int = 200, headers: list[tuple[bytes, bytes]] | None = None
) -> None:
    await send({"type": "http.response.start", "status": status, "headers": headers or []})


async def body(send: Send, data: bytes, more: bool = False) -> None:
    await send({"type": "http.response.body", "body": data, "more_body": more})


async def read_all(receive: Receive) -> int:
    size, more = 0, True
    while more:
        message = await receive()
        size += len(message.get("body", b""))
        more = message.get("more_body", False)
    return size


def echo(name: str, log: Log) -> App:
    async def app(scope: Scope, receive: Receive, send: Send) -> None:
        size = await read_all(receive)
        answer = {
            "name": name,
            "method": scope["method"],
            "path": scope["path"],
            "query": scope["query_string"].decode(),
            "headers": [[k.decode(), v.decode()] for k, v in scope["headers"]],
            "body": size,
        }
        headers = [(b"content-type", b"application/json")]
        if query(scope, "hop", 0):  # a hop-by-hop header the gateway must drop
            headers += [(b"keep-alive", b"timeout=5"), (b"x-end-to-end", b"kept")]
        await start(send, headers=headers)
        await body(send, json.dumps(answer).encode())

    return app


def slow(name: str, log: Log) -> App:
    async def app(scope: Scope, receive: Receive, send: Send) -> None:
        await asyncio.sleep(query(scope, "delay", 0))
        await start(send)
        await body(send, name.encode())

    return app


def stream(name: str, log: Log) -> App:
    """Counts itself in flight until its last chunk is sent."""

    async def app(scope: Scope, receive: Receive, send: Send) -> None:
        log.in_flight += 1
        try:
            await start(send)
            await body(send, b"first\n", more=True)
            for _ in range(int(query(scope, "chunks", 3))):
                await asyncio.sleep(query(scope, "every", 0.1))
                await body(send, b"chunk\n", more=True)
            await body(send, b"")
        finally:
            log.in_flight -= 1

    return app


def single(name: str, log: Log) -> App:
    """Returns 500 when another request is in flight (Knative's single-threaded image)."""

    async def app(scope: Scope, receive: Receive, send: Send) -> None:
        log.in_flight += 1
        log.peak = max(log.peak, log.in_flight)
        try:
            await asyncio.sleep(query(scope, "delay", 0.02))
            await start(send, 200 if log.in_flight == 1 else 500)
            await body(send, name.encode())
        finally:
            log.in_flight -= 1

    return app


def sink(name: str, log: Log) -> App:
    async def app(scope: Scope, receive: Receive, send: Send) -> None:
        size = await read_all(receive)
        await start(send)
        await body(send, str(size).encode())

    return app


def source(name: str, log: Log) -> App:
    async def app(scope: Scope, receive: Receive, send: Send) -> None:
        chunk = b"x" * (1 << 20)
        await start(send)
        for _ in range(int(query(scope, "mb", 1))):
            await body(send, chunk, more=True)
        await body(send, b"")

    return app


def websocket(name: str, log: Log) -> App:
    async def app(scope: Scope, receive: Receive, send: Send) -> None:
        assert scope["type"] == "websocket"
        await receive()  # websocket.connect
        await send({"type": "websocket.accept"})
        while True:
            message = await receive()
            if message["type"] == "websocket.disconnect":
                return
            await send({"type": "websocket.send", "text": f"{name}: {message.get('text')}"})

    return app


APPS: dict[str, Callable[[str, Log], App]] = {
    "echo": echo,
    "slow": slow,
    "stream": stream,
    "single": single,
    "sink": sink,
    "source": source,
    "websocket": websocket,
}


class Upstream:
    """One app on a loopback port, or on the Unix socket ``unix``, served by uvicorn in
    a thread, counting requests."""

    def __init__(self, kind: str, name: str = "", unix: Path | None = None) -> None:
        self.name = name or kind
        self.log = Log()
        self._app = APPS[kind](self.name, self.log)
        if unix is not None:
            sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
            sock.bind(str(unix))
            self.endpoint = Endpoint("127.0.0.1", 0, str(unix))
        else:
            # IPPROTO_TCP explicitly: asyncio sets TCP_NODELAY only on sockets that say
            # so; without it uvicorn's two writes per response wait for a delayed ACK.
            sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM, socket.IPPROTO_TCP)
            sock.bind(("127.0.0.1", 0))
            self.endpoint = Endpoint("127.0.0.1", sock.getsockname()[1])
        config = uvicorn.Config(
            self._counted,
            interface="asgi3",
            lifespan="off",
            log_level="warning",
            ws="wsproto",
            loop="asyncio",
        )
        self._server = uvicorn.Server(config)
        self._thread = threading.Thread(
            target=self._server.run, kwargs={"sockets": [sock]}, daemon=True, name=self.name
        )
        self._thread.start()
        deadline = time.monotonic() + 10
        while not self._server.started:
            assert time.monotonic() < deadline, "upstream did not start"
            time.sleep(0.01)

    async def _counted(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http":
            self.log.served += 1
        await self._app(scope, receive, send)

    def stop(self) -> None:
        """Stop at once: a test that left a slow request running does not wait for it."""
        self._server.should_exit = self._server.force_exit = True
        self._thread.join(10)
