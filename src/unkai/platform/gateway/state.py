"""What the whole gateway shares with each connection and exchange, in one object.

:class:`~.server.Gateway` owns one :class:`GatewayState` and hands it down to every
client connection, which hands it to every exchange (uvicorn's ``ServerState``, in a
module of its own so that nothing below the server imports the server). A part reads
``state.router.hosts`` rather than reaching up through the objects that made it.
"""

from __future__ import annotations

import time

from unkai.platform.gateway.activator import RevisionThrottle
from unkai.platform.gateway.connections import ConnectionTable
from unkai.platform.gateway.limits import Refusals
from unkai.platform.gateway.ports import Clock, LocalApp
from unkai.platform.gateway.routing import Router
from unkai.platform.gateway.settings import GatewayConfig


class GatewayState:
    """Settings, routes, open client connections, and whether the gateway is stopping.

    ``clock`` is the one time source of the request path (``time.monotonic``; a fake
    one in unit tests); ``port`` is the port listened on, once started;
    ``refusals`` counts (and logs, rate-limited) what hostile clients were refused;
    ``local`` is the in-platform handler (broker ingress) offered requests whose host
    names no route.
    """

    __slots__ = (
        "clock", "config", "connections", "local", "port", "refusals", "router", "stopping",
    )  # fmt: skip

    def __init__(
        self,
        config: GatewayConfig,
        router: Router[RevisionThrottle],
        clock: Clock = time.monotonic,
    ) -> None:
        self.config = config
        self.router = router
        self.clock = clock
        self.refusals = Refusals()
        self.connections = ConnectionTable(config.max_connections, self.refusals)
        self.port = 0
        self.stopping = False
        self.local: LocalApp | None = None  # requests no route serves may go here

    def expire(self, now: float) -> None:
        """Close the client connections whose request head took longer than
        ``header_timeout``, or that sat idle past ``keep_alive_timeout``, at ``now``;
        log the refusals the rate limit held back."""
        config = self.config
        expired = self.connections.expired(
            now, keep_alive=config.keep_alive_timeout, header_timeout=config.header_timeout
        )
        for connection in expired:
            connection.transport.close()
        self.refusals.flush(now)
