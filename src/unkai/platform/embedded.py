"""``unkai up``: the embedded platform assembled in one process.

The API server (with Knative admission), the serving controllers and the data plane
start in that order and stop in the reverse one. :class:`Platform` owns no policy of
its own: it wires parts that are each tested alone, and records itself in the data dir
so that ``unkai status``, ``down`` and the resource commands can find it.
"""

from __future__ import annotations

import asyncio
import logging
import os
import signal
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from unkai.platform import state
from unkai.platform.apiserver import ApiServer, knative_registry
from unkai.platform.controllers.loop import RouteKey, ServingControllers
from unkai.platform.controllers.revision import RevisionHealth, RevisionReadiness
from unkai.platform.controllers.route import Network, RoutingTable

log = logging.getLogger("unkai.platform")


@dataclass(frozen=True)
class Settings:
    """What ``unkai up`` was asked for."""

    data_dir: Path
    host: str = "127.0.0.1"
    api_port: int = 8090
    gateway_port: int = 8080
    domain: str = "localhost"


class NoDataPlane:
    """Until instances run, revisions have no health to report: they stay Unknown."""

    def health(self, *, namespace: str, name: str) -> RevisionHealth | None:
        return None


class Platform:
    """One running ``unkai up``: API server, controllers, and the record of it."""

    def __init__(self, settings: Settings, *, readiness: RevisionReadiness | None = None) -> None:
        self.settings = settings
        self.readiness = readiness or NoDataPlane()
        self.files = state.PlatformDir.under(settings.data_dir)
        self.routes: dict[RouteKey, RoutingTable] = {}
        self.api = ApiServer(
            data_dir=self.files.root,
            token=self.files.token(),
            host=settings.host,
            port=settings.api_port,
            registry=knative_registry(),
        )
        self.controllers: ServingControllers | None = None

    async def start(self) -> None:
        await self.api.start()
        self.controllers = ServingControllers(
            self.api.service,
            readiness=self.readiness,
            network=Network(domain=self.settings.domain, port=self.settings.gateway_port),
            program_route=self._program_route,
        )
        await self.controllers.start()
        self.files.write_kubeconfig(self.api.kubeconfig())
        self.files.record_running(
            state.Running(
                pid=os.getpid(),
                api_url=self.api.url,
                gateway_url=f"http://{self.settings.host}:{self.settings.gateway_port}",
            )
        )
        log.info("platform ready", extra={"api": self.api.url})

    async def stop(self) -> None:
        if self.controllers is not None:
            await self.controllers.stop()
        await self.api.stop()
        self.files.clear_running(os.getpid())

    def _program_route(self, key: RouteKey, table: RoutingTable | None) -> None:
        if table is None:
            self.routes.pop(key, None)
        else:
            self.routes[key] = table

    async def serve_until_signalled(self, *, on_ready: Callable[[], None]) -> None:
        """Start, run until SIGINT or SIGTERM, then stop cleanly."""
        stopping = asyncio.Event()
        loop = asyncio.get_running_loop()
        for signum in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(signum, stopping.set)
        await self.start()
        on_ready()
        try:
            await stopping.wait()
        finally:
            await self.stop()
