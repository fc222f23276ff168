"""The API server as one object: store, service, collector and HTTP, started together.

``unkai up`` builds an :class:`ApiServer`, awaits :meth:`ApiServer.start` and hands
:attr:`ApiServer.service` to the in-process controllers; they call it directly (no
HTTP) and watch through it. :meth:`ApiServer.stop` ends watches, stops uvicorn and
closes the store.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import socket
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import uvicorn
from prometheus_client import CollectorRegistry
from starlette.routing import BaseRoute
from uvicorn.protocols.http.h11_impl import H11Protocol

from unkai.platform.apiserver import tokens
from unkai.platform.apiserver.app import build_app
from unkai.platform.apiserver.collector import Collector
from unkai.platform.apiserver.kinds import standard_registry
from unkai.platform.apiserver.kubeconfig import kubeconfig
from unkai.platform.apiserver.listener import Listener
from unkai.platform.apiserver.observe import ApiMetrics
from unkai.platform.apiserver.service import Clock, ResourceService, utc_now
from unkai.platform.apiserver.tls import ServingCertificate, ensure_certificate
from unkai.platform.apiserver.tokens import TokenBook
from unkai.platform.apiserver.types import Registry
from unkai.platform.store import Store

DATABASE = "store.sqlite"
HEAD_BYTES = 64 * 1024
"""How much of an unfinished request head (request line and headers) is buffered: a
head still incomplete beyond it is a 400. kubectl's heads are well under 4 KiB. Only
uvicorn's h11 protocol has this bound (its httptools protocol buffers headers without
limit), so h11 is chosen."""
IDLE_SECONDS = 5
"""How long a connection may sit idle between requests before it is closed."""
MAX_CONNECTIONS = 1000
"""Open connections at most, those in their TLS handshake included; beyond it a new one
is closed at once. The API server shares the process's file limit with the gateway
(which has its own cap): neither may take all of it (issue 13). kubectl and the
controllers need a handful."""
MAX_HANDSHAKES = 64
"""Connections in their TLS handshake at most; a new one beyond it sheds the oldest
(see :func:`.listener.admit`). A real client is in its handshake for milliseconds, so
only a flood of silent connections reaches it; without it such a flood would hold a
file descriptor per connection for :data:`HANDSHAKE_SECONDS`."""
HEAD_SECONDS = 10.0
"""How long a new connection may take to send its first request head (after the TLS
handshake). uvicorn has no such limit: a connection that never sends a request would
hold its file descriptor for ever."""
HANDSHAKE_SECONDS = 10.0
"""How long a new connection may take to complete its TLS handshake. asyncio allows 60 s
by default, and uvicorn passes no other value; a connection still in its handshake is
not yet the HTTP protocol's, so :data:`HEAD_SECONDS` does not see it. Kubernetes' API
server (Go's ``net/http``) bounds the handshake by its read timeout; Envoy's default
TLS handshake timeout is 10 s too."""


class ApiServer:
    """A running (after :meth:`start`) Kubernetes-style API server on ``host:port``.

    ``port=0`` picks a free port; read the chosen one from :attr:`port` after start.
    With ``tls`` (the default, and what kubectl needs to send the token) it serves
    HTTPS with a certificate kept in ``data_dir`` (beside the store, ``store.sqlite``);
    :meth:`kubeconfig` carries its CA. ``token`` is the admin's; tenants' tokens are
    read from ``tokens.json`` there (see :mod:`.tokens`).
    """

    def __init__(
        self,
        *,
        data_dir: Path,
        token: str,
        host: str = "127.0.0.1",
        port: int = 8090,
        registry: Registry | None = None,
        clock: Clock = utc_now,
        history: int = 1000,
        tls: bool = True,
        metrics: CollectorRegistry | None = None,
        extra_routes: Sequence[BaseRoute] = (),
        max_connections: int = MAX_CONNECTIONS,
        head_seconds: float = HEAD_SECONDS,
        handshake_seconds: float = HANDSHAKE_SECONDS,
        max_handshakes: int = MAX_HANDSHAKES,
    ) -> None:
        self.data_dir = data_dir
        self.host = host
        self.port = port
        self._token = token
        self._registry = registry or standard_registry()
        self._clock = clock
        self._history = history
        self._tls = tls
        self._metrics = ApiMetrics(metrics)
        self._extra_routes = extra_routes
        self._protocol = _guarded_protocol(head_seconds)
        self._limits = _Limits(handshake_seconds, max_handshakes, max_connections)
        self.certificate: ServingCertificate | None = None
        """The serving certificate (with the CA clients trust), when TLS is on."""
        self._service: ResourceService | None = None
        self._collector: Collector | None = None
        self._server: uvicorn.Server | None = None
        self._task: asyncio.Task[None] | None = None

    @property
    def service(self) -> ResourceService:
        """The in-process API: what controllers call (available after start)."""
        if self._service is None:
            raise RuntimeError("the API server is not started")
        return self._service

    @property
    def url(self) -> str:
        scheme = "https" if self._tls else "http"
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"{scheme}://{host}:{self.port}"

    def kubeconfig(self, *, namespace: str = "default") -> dict[str, Any]:
        """A kubeconfig for this server (token and CA included)."""
        ca = self.certificate.ca_pem if self.certificate is not None else None
        return kubeconfig(server=self.url, token=self._token, ca_pem=ca, namespace=namespace)

    async def start(self) -> None:
        """Open the store, ensure namespace ``default``, start GC and the HTTP server."""
        store = await Store.open(self.data_dir / DATABASE, history=self._history)
        self._service = ResourceService(store, self._registry, clock=self._clock)
        await self._service.ensure_namespace("default")
        self._collector = Collector(self._service)
        self._collector.start()
        sock = socket.socket(socket.AF_INET6 if ":" in self.host else socket.AF_INET)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind((self.host, self.port))
        self.port = sock.getsockname()[1]
        tls: dict[str, Any] = {}
        if self._tls:
            self.certificate = ensure_certificate(self.data_dir, host=self.host)
            tls = {
                "ssl_certfile": str(self.certificate.cert_file),
                "ssl_keyfile": str(self.certificate.key_file),
            }
        config = uvicorn.Config(
            build_app(
                self._service,
                tokens=TokenBook(admin=self._token, path=self.data_dir / tokens.FILE),
                metrics=self._metrics,
                extra_routes=self._extra_routes,
            ),
            **tls,
            log_config=None,
            access_log=False,
            lifespan="off",
            http=self._protocol,
            h11_max_incomplete_event_size=HEAD_BYTES,
            timeout_keep_alive=IDLE_SECONDS,
            timeout_graceful_shutdown=5,
        )
        self._server = _EmbeddedServer(config, sock, self._limits)
        self._task = asyncio.create_task(self._server.serve(sockets=[]), name="unkai-apiserver")
        while not self._server.started:
            if self._task.done():
                await self._task
                raise RuntimeError("the API server exited while starting")
            await asyncio.sleep(0.01)
        logging.getLogger("unkai.apiserver").info("API server listening on %s", self.url)

    async def stop(self) -> None:
        """End watches, stop HTTP and the collector, close the store."""
        if self._service is not None:
            self._service.store.hub.close()
        if self._server is not None and self._task is not None:
            self._server.should_exit = True
            await self._task
        if self._collector is not None:
            await self._collector.stop()
        if self._service is not None:
            await self._service.store.close()
        self._service = self._collector = self._server = self._task = None


@dataclass(frozen=True)
class _Limits:
    """The listener's bounds, fixed when the server is built (see the constants)."""

    handshake_seconds: float
    max_handshakes: int
    max_connections: int


class _EmbeddedServer(uvicorn.Server):
    """uvicorn without its signal handlers (the embedding process, ``unkai up``, owns
    SIGINT and SIGTERM and calls :meth:`ApiServer.stop` in its own shutdown order) and
    listening on ``sock`` through a :class:`.listener.Listener`, which bounds the
    connections in their TLS handshake and in all (uvicorn can pass neither to
    asyncio): uvicorn starts with no socket of its own, and the listener is closed
    before uvicorn drains its connections at shutdown."""

    def __init__(self, config: uvicorn.Config, sock: socket.socket, limits: _Limits) -> None:
        super().__init__(config)
        self._sock = sock
        self._limits = limits
        self._listener: Listener | None = None

    @contextlib.contextmanager
    def capture_signals(self) -> Iterator[None]:
        yield

    async def startup(self, sockets: list[socket.socket] | None = None) -> None:
        await super().startup(sockets=[])
        config = self.config

        def protocol() -> asyncio.Protocol:
            return config.http_protocol_class(  # type: ignore[call-arg]
                config=config, server_state=self.server_state, app_state=self.lifespan.state
            )

        self._listener = Listener(
            self._sock,
            protocol,
            established=lambda: len(self.server_state.connections),
            tls=config.ssl,
            handshake_seconds=self._limits.handshake_seconds,
            max_handshakes=self._limits.max_handshakes,
            max_connections=self._limits.max_connections,
            backlog=config.backlog,
        )
        self._listener.start()

    async def shutdown(self, sockets: list[socket.socket] | None = None) -> None:
        if self._listener is not None:
            self._listener.close()
            await self._listener.wait_closed()
        await super().shutdown(sockets)


def _guarded_protocol(head_seconds: float) -> type[H11Protocol]:
    """uvicorn's h11 protocol with a deadline for the first request head, which it
    lacks against hostile clients (uvicorn's keep-alive timer starts only after a
    response). The cap on open connections is the listener's, which sees them before
    their handshake (uvicorn's ``limit_concurrency`` would still hold them, and answer
    each with a 503 and a log line)."""

    class GuardedH11Protocol(H11Protocol):
        _first_head: asyncio.TimerHandle | None = None

        def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
            super().connection_made(transport)
            self._first_head = self.loop.call_later(head_seconds, self._head_overdue)

        def connection_lost(self, exc: Exception | None) -> None:
            if self._first_head is not None:
                self._first_head.cancel()
            super().connection_lost(exc)

        def _head_overdue(self) -> None:
            if self.conn.their_http_version is None:  # set by the first complete head
                self.transport.close()

    return GuardedH11Protocol
