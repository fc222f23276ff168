"""The gateway's internal listener: the door for callers inside the platform.

Knative makes a Route with ``networking.knative.dev/visibility: cluster-local``
answer only inside the cluster, at ``{name}.{namespace}.svc.cluster.local``; its
external ingress does not know the name. On one machine there is no cluster network to
stand for "inside", and a header saying so could be sent by anyone, so the gateway
tells the two apart by the socket a request arrives on: the public listener (the
``--host``/``--port`` users are given) serves public routes only, and this second
listener, always on loopback at a port of its own, serves every route by every name,
cluster-local ones included. The platform's own callers (the brokers' deliveries) are
pointed at it.

It shares the gateway's routes and revisions (the same throttles, so the activator,
breaker and autoscaler see one revision whichever door a request came in by) and its
broker ingress; it has its own connection table and limits.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging

from unkai.platform.gateway.protocol import ClientConnection
from unkai.platform.gateway.server import SWEEP_INTERVAL, Gateway
from unkai.platform.gateway.state import GatewayState

log = logging.getLogger("unkai.gateway")


class InternalListener:
    """A second listening socket over ``gateway``'s routes, as callers inside see them."""

    def __init__(self, gateway: Gateway) -> None:
        self._gateway = gateway
        shared = gateway.state
        self.state = GatewayState(shared.config, shared.router.internal, shared.clock)
        self.state.local = shared.local
        self._server: asyncio.Server | None = None
        self._sweeper: asyncio.Task[None] | None = None

    @property
    def port(self) -> int:
        """The port listened on (0 until started)."""
        return self.state.port

    async def start(self, host: str = "127.0.0.1", port: int = 0) -> None:
        """Listen, on the gateway's loop (its throttles and timers are bound to it)."""
        await self._gateway.on_loop(self._start(host, port))

    async def _start(self, host: str, port: int) -> None:
        loop = asyncio.get_running_loop()
        state = self.state
        self._server = await loop.create_server(
            lambda: ClientConnection(state, loop), host, port, reuse_address=True, backlog=1024
        )
        state.port = self._server.sockets[0].getsockname()[1]
        self._sweeper = asyncio.create_task(self._sweep())
        log.info("gateway internal listener bound", extra={"host": host, "port": state.port})

    async def stop(self) -> None:
        """Stop listening and close every connection (requests in flight are cut: the
        platform is going away, and its own callers retry)."""
        await self._gateway.on_loop(self._stop())

    async def _stop(self) -> None:
        if self._server is None:
            return
        self.state.stopping = True
        self._server.close()
        for connection in list(self.state.connections):
            connection.transport.close()
        if self._sweeper is not None:
            self._sweeper.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._sweeper
        await self._server.wait_closed()
        self._server = None

    async def _sweep(self) -> None:
        while True:
            await asyncio.sleep(SWEEP_INTERVAL)
            self.state.expire(self.state.clock())
