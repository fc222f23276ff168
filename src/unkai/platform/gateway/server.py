"""The gateway as one object: the listening socket and the setters the platform calls.

Who calls what:

* the route controller: :meth:`Gateway.set_route` / :meth:`Gateway.set_routes` /
  :meth:`Gateway.remove_route`, and :meth:`Gateway.programmed` for ``IngressReady``;
* the data plane (runners): :meth:`Gateway.configure_revision` (CC and timeouts),
  :meth:`Gateway.set_endpoints` when instances become ready or start draining, then
  :meth:`Gateway.in_flight` / :meth:`Gateway.drained` before it stops an instance;
* the autoscaler, through two constructor arguments: ``meter`` (``Autoscaler.meter``:
  the gateway asks once per revision and tells it every request's start and end) and
  ``on_cold_request`` (``Autoscaler.poke``: called at once when a request is held for
  a revision with no ready instance, and for requests held beyond ready capacity);
  :meth:`Gateway.stats` has the same counts to read;
* broker ingress, as ``local_app``: offered the requests whose host names no route.

Every setter takes effect for the next request and is safe to call with what is
already in place; call them on the gateway's event loop (the one :meth:`Gateway.start`
runs on). Run it on uvloop: the request path is written for it.

The gateway owns the :class:`~.state.GatewayState` that its connections and exchanges
share, and one :class:`~.activator.RevisionThrottle` per revision.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Awaitable, Callable, Iterable, Iterator, Sequence
from typing import TypeVar

from prometheus_client import CollectorRegistry

from unkai.platform.contracts import RevisionKey, RoutingTable
from unkai.platform.gateway.activator import RevisionThrottle
from unkai.platform.gateway.connections import REQUEST_BUCKETS
from unkai.platform.gateway.metrics import (
    ConnectionCollector,
    GatewayCollector,
    RequestMeter,
    RevisionStats,
)
from unkai.platform.gateway.ports import LocalApp
from unkai.platform.gateway.protocol import ClientConnection
from unkai.platform.gateway.routing import Router
from unkai.platform.gateway.settings import Endpoint, GatewayConfig, RevisionSettings
from unkai.platform.gateway.state import GatewayState

T = TypeVar("T")

log = logging.getLogger("unkai.gateway")

SWEEP_INTERVAL = 1.0


class Gateway:
    """The HTTP entry point of every route: host routing, activator, breaker, proxy."""

    def __init__(
        self,
        config: GatewayConfig | None = None,
        *,
        registry: CollectorRegistry | None = None,
        on_cold_request: Callable[[RevisionKey], None] | None = None,
        meter: Callable[[RevisionKey], RequestMeter] | None = None,
        local_app: LocalApp | None = None,
    ) -> None:
        self.state = GatewayState(config or GatewayConfig(), Router(self._throttle))
        self.state.local = local_app
        self.throttles: dict[RevisionKey, RevisionThrottle] = {}
        self._on_cold = on_cold_request or (lambda key: None)
        self._meter = meter
        self._server: asyncio.Server | None = None
        self._sweeper: asyncio.Task[None] | None = None
        if registry is not None:
            registry.register(GatewayCollector(self._collect))
            state = self.state
            registry.register(
                ConnectionCollector(state.connections, state.refusals.counts, REQUEST_BUCKETS)
            )

    @property
    def port(self) -> int:
        """The port listened on (0 until started)."""
        return self.state.port

    # lifecycle

    async def start(self, host: str = "127.0.0.1", port: int = 8080, *, serve: bool = True) -> None:
        """Listen on ``host:port`` (``port=0``: any free port, then read :attr:`port`).

        ``serve=False`` binds the port (so route URLs can name it) but accepts nothing
        until :meth:`serve`: after a restart the platform calls that once the routes
        are loaded, so no client is told 404 for a route that exists (issue 13)."""
        loop = asyncio.get_running_loop()
        state = self.state
        state.stopping = False
        self._server = await loop.create_server(
            lambda: ClientConnection(state, loop),
            host,
            port,
            reuse_address=True,
            backlog=1024,
            start_serving=serve,
        )
        state.port = self._server.sockets[0].getsockname()[1]
        self._sweeper = asyncio.create_task(self._sweep())
        log.info("gateway bound", extra={"host": host, "port": state.port, "serving": serve})

    async def serve(self) -> None:
        """Start accepting connections, when :meth:`start` was told not to yet."""
        if self._server is not None and not self._server.is_serving():
            await self._server.start_serving()
            log.info("gateway serving", extra={"port": self.state.port})

    async def stop(self, grace: float = 10.0) -> None:
        """Stop listening, let requests in flight finish for up to ``grace`` seconds,
        then close every connection."""
        if self._server is None:
            return
        connections = self.state.connections
        self.state.stopping = True
        self._server.close()
        for connection in list(connections):
            connection.shutdown()
        deadline = time.monotonic() + grace
        while time.monotonic() < deadline:
            for connection in list(connections):
                if not connection.exchanges:
                    connection.transport.close()
            if not connections:
                break
            await asyncio.sleep(0.02)
        for connection in list(connections):
            connection.transport.close()
        if self._sweeper is not None:
            self._sweeper.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._sweeper
        for throttle in self.throttles.values():
            for backend in throttle.backends.values():
                while backend.idle:
                    backend.idle.pop().close()
        await self._server.wait_closed()
        self._server = None
        log.info("gateway stopped", extra={"port": self.state.port})

    # routes

    def set_route(self, namespace: str, table: RoutingTable) -> None:
        """Serve one Route's table (replacing the one of the same host)."""
        self.state.router.add(namespace, table)

    def set_routes(self, routes: Iterable[tuple[str, RoutingTable]]) -> None:
        """Serve exactly these ``(namespace, table)`` pairs, dropping all others."""
        self.state.router.replace(list(routes))

    def remove_route(self, host: str) -> None:
        """Stop serving the Route whose main host is ``host``, tag hosts included."""
        self.state.router.remove(host)

    def programmed(self, host: str) -> RoutingTable | None:
        """The table served for ``host``: the route controller compares it with its own."""
        return self.state.router.programmed(host)

    # revisions and instances

    def configure_revision(self, key: RevisionKey, settings: RevisionSettings) -> None:
        """A revision's ``containerConcurrency`` and timeouts (defaults until called)."""
        self._throttle(key).configure(settings)

    def set_endpoints(self, key: RevisionKey, endpoints: Sequence[Endpoint]) -> None:
        """The instances of ``key`` ready to take requests. Held requests go to new ones
        at once; instances left out drain (see :meth:`in_flight`)."""
        self._throttle(key).set_endpoints(endpoints, self.state.config)
        log.info(
            "endpoints set",
            extra={"revision": str(key), "endpoints": [str(e) for e in endpoints]},
        )

    def set_unavailable(self, key: RevisionKey, why: bytes | None) -> None:
        """The data plane stopped starting instances of ``key`` (``why``: the body of the
        503 its requests get, at once, while it has none ready), or starts them again
        (``None``)."""
        self._throttle(key).give_up(why)

    def in_flight(self, key: RevisionKey, endpoint: Endpoint) -> int:
        """Requests in flight on one instance of ``key`` (0 once forgotten)."""
        throttle = self.throttles.get(key)
        backend = throttle.backends.get(endpoint) if throttle else None
        return backend.in_flight if backend else 0

    async def on_loop(self, work: Awaitable[T]) -> T:
        """Await ``work`` on the loop the gateway's connections run on: the caller's here,
        a :class:`~.thread.ThreadedGateway`'s own there (for a listener sharing its
        state, whose throttles and timers belong to that loop)."""
        return await work

    async def drained(self, key: RevisionKey, endpoint: Endpoint) -> None:
        """Wait until an instance left out of the endpoints has nothing in flight; then
        the data plane may stop it."""
        throttle = self.throttles.get(key)
        backend = throttle.backends.get(endpoint) if throttle else None
        if backend is not None:
            await backend.drained()

    def stats(self, key: RevisionKey) -> RevisionStats | None:
        """The live counters of a revision that has been routed or configured."""
        throttle = self.throttles.get(key)
        return throttle.stats if throttle else None

    def forget_revision(self, key: RevisionKey) -> None:
        """Drop a deleted revision's state, once no route sends traffic to it; requests
        still held for it get 503 at once."""
        if key not in self.state.router.revisions():
            throttle = self.throttles.pop(key, None)
            if throttle is not None:
                throttle.abandon()

    # internals

    def _throttle(self, key: RevisionKey) -> RevisionThrottle:
        """The request-path state of ``key``, made on first mention (by a route or a
        setter, so on the gateway's loop, which its deadline timer then runs on)."""
        throttle = self.throttles.get(key)
        if throttle is None:
            state = self.state
            throttle = RevisionThrottle(
                key,
                asyncio.get_running_loop(),
                state.clock,
                max_held=state.config.max_held,
                on_cold=self._on_cold,
                meter=self._meter(key) if self._meter else None,
            )
            self.throttles[key] = throttle
        return throttle

    def _collect(self) -> Iterator[tuple[RevisionKey, RevisionStats, int]]:
        for key, throttle in list(self.throttles.items()):
            yield key, throttle.stats, len(throttle.breaker.ready)

    async def _sweep(self) -> None:
        """Run :meth:`sweep` once a second, so the request path never arms a timer for
        what it does."""
        while True:
            await asyncio.sleep(SWEEP_INTERVAL)
            self.sweep(self.state.clock())

    def sweep(self, now: float) -> None:
        """Close client connections whose request head took longer than
        ``header_timeout`` or that sat idle past ``keep_alive_timeout`` at ``now``; log
        refusals held back by the rate limit; forget drained instances."""
        self.state.expire(now)
        for throttle in self.throttles.values():
            throttle.prune()
