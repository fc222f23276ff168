"""What the whole gateway shares with each connection and exchange, in one object.

:class:`~.server.Gateway` owns one :class:`GatewayState` and hands it down to every
client connection, which hands it to every exchange (uvicorn's ``ServerState``, in a
module of its own so that nothing below the server imports the server). A part reads
``state.router.hosts`` rather than reaching up through the objects that made it.
"""

from __future__ import annotations

import time

from unkai.platform.gateway.activator import RevisionThrottle
from unkai.platform.gateway.ports import Clock, Connection, LocalApp
from unkai.platform.gateway.routing import Router
from unkai.platform.gateway.settings import GatewayConfig


class GatewayState:
    """Settings, routes, open client connections, and whether the gateway is stopping.

    ``clock`` is the one time source of the request path (``time.monotonic``; a fake
    one in unit tests); ``port`` is the port listened on, once started; ``local`` the in-platform
    handler (broker ingress) offered requests whose host names no route.
    """

    __slots__ = ("clock", "config", "connections", "local", "port", "router", "stopping")

    def __init__(
        self,
        config: GatewayConfig,
        router: Router[RevisionThrottle],
        clock: Clock = time.monotonic,
    ) -> None:
        self.config = config
        self.router = router
        self.clock = clock
        self.connections: set[Connection] = set()
        self.port = 0
        self.stopping = False
        self.local: LocalApp | None = None  # requests no route serves may go here
