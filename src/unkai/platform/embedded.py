"""``unkai up``: the embedded platform assembled in one process.

Construction order: the autoscaler, then the gateway (which meters requests for it and
pokes it for revisions at zero) and the data plane (which it scales); both sides get the
same autoscaler. Start order: the gateway (so that route URLs carry its real port), the
API server (with Knative admission and the bundle upload endpoint), the data plane and
the controllers; stop order is the reverse. :class:`Platform` owns no
policy of its own: it wires parts that are each tested alone, shares one Prometheus
registry between them (served at the API's ``/metrics``), and records itself in the
data dir so that ``unkai status``, ``down`` and the resource commands can find it.
"""

from __future__ import annotations

import asyncio
import functools
import logging
import os
import signal
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from prometheus_client import CollectorRegistry

from unkai.platform import bundles, state
from unkai.platform.apiserver import ApiServer, knative_registry
from unkai.platform.autoscaler import Autoscaler, AutoscalerConfig
from unkai.platform.bundles import endpoint
from unkai.platform.contracts import (
    RevisionKey,
    RevisionReadiness,
    RouteKey,
    RoutingTable,
)
from unkai.platform.controllers import conditions
from unkai.platform.controllers.loop import REVISIONS, ServingControllers
from unkai.platform.controllers.route import Network
from unkai.platform.dataplane import DataPlane
from unkai.platform.gateway import Gateway, GatewayConfig
from unkai.platform.runners import ContainerRunner, LogFiles, Mode, ProcessRunner
from unkai.platform.supervision import supervise

log = logging.getLogger("unkai.platform")


@dataclass(frozen=True)
class Settings:
    """What ``unkai up`` was asked for."""

    data_dir: Path
    host: str = "127.0.0.1"
    api_port: int = 8090
    gateway_port: int = 8080
    domain: str = "localhost"
    autoscaler: AutoscalerConfig = field(default_factory=AutoscalerConfig)
    runner_mode: Mode = "fork"
    isolate: bool = True
    """Sandbox bundle instances and limit them with cgroups where the machine allows."""


class Platform:
    """One running ``unkai up``.

    ``readiness`` replaces the data plane's answers about revisions (and runs no
    instances): for tests of the control plane alone.
    """

    def __init__(self, settings: Settings, *, readiness: RevisionReadiness | None = None) -> None:
        self.settings = settings
        self.files = state.PlatformDir.under(settings.data_dir)
        self.registry = CollectorRegistry()
        self.autoscaler = (
            Autoscaler(
                config=settings.autoscaler,
                registry=self.registry,
                on_activity=self._revision_changed,
            )
            if readiness is None
            else None
        )
        self.gateway = Gateway(
            GatewayConfig(domain=settings.domain),
            registry=self.registry,
            on_cold_request=self.autoscaler.poke if self.autoscaler else None,
            meter=self.autoscaler.meter if self.autoscaler else None,
        )
        self.bundles = bundles.BundleStore(self.files.root / "bundles")
        self.logs = LogFiles(self.files.root / "logs")
        self.api = ApiServer(
            data_dir=self.files.root,
            token=self.files.token(),
            host=settings.host,
            port=settings.api_port,
            registry=knative_registry(),
            metrics=self.registry,
            extra_routes=endpoint.routes(self.bundles),
        )
        self.data_plane: DataPlane | None = None
        self.readiness: RevisionReadiness
        if self.autoscaler is None:
            assert readiness is not None
            self.readiness = readiness
        else:
            self.data_plane = self.readiness = DataPlane(
                gateway=self.gateway,
                autoscaler=self.autoscaler,
                process_runner=ProcessRunner(
                    logs=self.logs, mode=settings.runner_mode, isolate=settings.isolate
                ),
                container_runner=ContainerRunner(logs=self.logs),
                bundle_store=self.bundles,
                autoscaler_config=settings.autoscaler,
                registry=self.registry,
                notify=self._revision_changed,
            )
        self.controllers: ServingControllers | None = None
        self.routes: dict[RouteKey, RoutingTable] = {}
        self._tasks: list[asyncio.Task[None]] = []
        self._started_at = datetime.now(UTC)
        self._hold: int | None = None

    async def start(self) -> None:
        """Take the data dir (:class:`~unkai.platform.state.DataDirInUseError` if a live
        platform has it), clear what a crashed one left, then start the parts."""
        self._hold = self.files.hold()
        self.bundles.clean()
        self._started_at = datetime.now(UTC).replace(microsecond=0)
        await self.gateway.start(self.settings.host, self.settings.gateway_port)
        await self.api.start()
        if self.autoscaler is not None and self.data_plane is not None:
            self._tasks.append(supervise("autoscaler", self.autoscaler.run))
            follow = functools.partial(self._follow_revisions, self.data_plane)
            self._tasks.append(supervise("revisions to the data plane", follow, forever=True))
        self.controllers = ServingControllers(
            self.api.service,
            readiness=self.readiness,
            network=Network(domain=self.settings.domain, port=self.gateway.port),
            program_route=self._program_route,
        )
        await self.controllers.start()
        self.files.write_kubeconfig(self.api.kubeconfig())
        self.files.record_running(
            state.Running(
                pid=os.getpid(),
                api_url=self.api.url,
                gateway_url=f"http://{self.settings.host}:{self.gateway.port}",
            )
        )
        log.info("platform ready", extra={"api": self.api.url, "gateway": self.gateway.port})

    async def stop(self) -> None:
        if self.controllers is not None:
            await self.controllers.stop()
        for task in self._tasks:
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)
        if self.data_plane is not None:
            await self.data_plane.close()
        await self.gateway.stop()
        await self.api.stop()
        self.files.clear_running(os.getpid())
        if self._hold is not None:
            self.files.release(self._hold)
            self._hold = None

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

    def _revision_changed(self, key: RevisionKey) -> None:
        if self.controllers is not None:
            self.controllers.revision_changed(*key)

    def _program_route(self, key: RouteKey, table: RoutingTable | None) -> None:
        namespace = key.namespace
        previous = self.routes.pop(key, None)
        if table is not None:
            self.routes[key] = table
            self.gateway.set_route(namespace, table)
        if previous is not None and (table is None or previous.host != table.host):
            self.gateway.remove_route(previous.host)
        if self.data_plane is not None:
            self.data_plane.set_reachable(_routed(self.routes))

    async def _follow_revisions(self, data_plane: DataPlane) -> None:
        """Every revision, from its creation to its deletion, goes to the data plane."""
        rt = self.api.service.registry.get(REVISIONS)
        async with await self.api.service.watch(rt) as events:
            async for event, revision in events:
                metadata = revision["metadata"]
                if event == "DELETED":
                    await data_plane.remove(metadata["namespace"], metadata["name"])
                    continue
                try:
                    data_plane.upsert(revision, resumed=self._resumed(revision))
                except Exception:
                    log.exception("revision %s/%s not run", metadata["namespace"], metadata["name"])

    def _resumed(self, revision: dict[str, Any]) -> bool:
        """Whether a restart resumes ``revision``: it was created before this platform
        started and was ready then. One that never got ready starts afresh instead."""
        created = revision["metadata"].get("creationTimestamp")
        if not isinstance(created, str):
            return False
        if conditions.moment(created) >= self._started_at:
            return False
        ready = conditions.find(revision.get("status"), conditions.READY)
        return ready is not None and ready.status == "True"


def _routed(routes: dict[RouteKey, RoutingTable]) -> set[RevisionKey]:
    """Every revision some route sends traffic to (by percent or by tag)."""
    routed: set[RevisionKey] = set()
    for key, table in routes.items():
        routed |= table.revisions(key.namespace)
    return routed
