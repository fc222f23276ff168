"""``unkai up``: the embedded platform assembled in one process.

Construction order: the autoscaler, then the gateway (which meters requests for it and
pokes it for revisions at zero) and the data plane (which it scales); both sides get the
same autoscaler. Start order: the gateway's port, bound but not accepting (so that route
URLs carry its real port), the API server (with Knative admission and the bundle upload
endpoint), the data plane (its copy of the ConfigMaps and Secrets is loaded before the
first revision is resolved against it) and the controllers, then the broker data plane
(its stored events read back) and the eventing controllers that program it; then, once
the controllers have programmed every Route that was ready before (a restart), the
gateway accepts, and only then is the platform recorded as running (what ``unkai up
--detach`` waits for): no client is told 404 for a route that exists. Stop order is the
reverse. Broker ingress is served on the gateway's port: the gateway hands it requests
no route claims.
:class:`Platform` owns no policy of its own: it wires parts that are each tested
alone, shares one Prometheus registry between them (served at the API's ``/metrics``),
and records itself in the data dir so that ``unkai status``, ``down`` and the resource
commands can find it.
"""

from __future__ import annotations

import asyncio
import dataclasses
import functools
import logging
import os
import signal
from collections.abc import Callable, Coroutine
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from prometheus_client import CollectorRegistry

from unkai.api import kinds
from unkai.api.knative.clusterconfig import ClusterConfig
from unkai.platform import bundles, clustersettings, eventing, pods, state
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
from unkai.platform.controllers.eventing_loop import EventingControllers
from unkai.platform.controllers.loop import REVISIONS, ROUTES, ServingControllers
from unkai.platform.controllers.revision import image_to_run
from unkai.platform.controllers.route import Network
from unkai.platform.dataplane import DataPlane
from unkai.platform.gateway import GatewayConfig, ThreadedGateway, limits
from unkai.platform.gateway.inprocess import InProcessClient
from unkai.platform.gateway.internal import InternalListener
from unkai.platform.runners import ContainerRunner, LogFiles, Mode, ProcessRunner
from unkai.platform.runners.images import ImageRunner, resolve_digest
from unkai.platform.runners.retirement import KeepPolicy
from unkai.platform.runners.sources import Kind
from unkai.platform.supervision import supervise

log = logging.getLogger("unkai.platform")
SOURCES: dict[Kind, str] = {
    "ConfigMap": kinds.CONFIG_MAP.group_resource,
    "Secret": kinds.SECRET.group_resource,
}

ROUTES_LOAD_TIMEOUT = 30.0
"""How long the gateway waits for the routes of a restart before it serves anyway."""


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
    private_network: bool = False
    """Give each sandboxed revision a network of its own: out only, no loopback."""
    zygotes: KeepPolicy = field(default_factory=KeepPolicy)
    """How long revisions at zero keep their zygotes (``runners.retirement``)."""


class Platform:
    """One running ``unkai up``.

    ``readiness`` replaces the data plane's answers about revisions (and runs no
    instances): for tests of the control plane alone.
    """

    def __init__(self, settings: Settings, *, readiness: RevisionReadiness | None = None) -> None:
        self.settings = settings
        self.cluster = ClusterConfig()  # the knative-serving ConfigMaps' settings
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
        # One fd table for the gateway, the API, the store and the instances: the gateway's
        # connections get a cap well below the limit, raised to the hard one first.
        max_connections = limits.connection_cap(limits.raise_fd_limit(), limits.MAX_CONNECTIONS)
        self.brokers, ingress = eventing.build(
            self.files.root,
            domain=settings.domain,
            gateway_host=settings.host,
            gateway_port=lambda: self.gateway.port,
            registry=self.registry,
            internal_port=lambda: self.internal.port,
            local=lambda: InProcessClient(
                self.gateway.serving_loop, lambda: self.gateway.state, lambda: self.internal.state
            ),
        )
        self.gateway = ThreadedGateway(  # off the loop of the API server and store
            GatewayConfig(domain=settings.domain, max_connections=max_connections),
            registry=self.registry,
            on_cold_request=self.autoscaler.poke if self.autoscaler else None,
            meter=self.autoscaler.meter if self.autoscaler else None,
            local_app=ingress,
        )
        self.internal = InternalListener(self.gateway)  # callers inside: cluster-local
        self.bundles = bundles.NamespacedBundles(self.files.root / "bundles")
        self.logs = LogFiles(self.files.root / "logs")
        self.api = ApiServer(
            data_dir=self.files.root,
            token=self.files.token(),
            host=settings.host,
            port=settings.api_port,
            registry=knative_registry(lambda: self.cluster.defaults),
            metrics=self.registry,
            extra_routes=[*endpoint.routes(self.bundles), *pods.log_routes(self._instance_log)],
        )
        self.data_plane: DataPlane | None = None
        self.readiness: RevisionReadiness
        if self.autoscaler is None:
            assert readiness is not None
            self.readiness = readiness
        else:
            processes = ProcessRunner(
                logs=self.logs, mode=settings.runner_mode, isolate=settings.isolate,
                private_network=settings.private_network, keep=settings.zygotes,
                internal_gateway=lambda: self.internal.port, socket_dir=self.files.socket_dir,
            )  # fmt: skip
            self.data_plane = self.readiness = DataPlane(
                gateway=self.gateway,
                autoscaler=self.autoscaler,
                process_runner=processes,
                container_runner=ImageRunner(
                    ContainerRunner(logs=self.logs), processes, root=settings.data_dir / "images"
                ),
                bundle_store=self.bundles,
                autoscaler_config=settings.autoscaler,
                registry=self.registry,
                notify=self._revision_changed,
                logs=self.logs,
                volumes=self.files.root / "volumes",
            )
        self.controllers: ServingControllers | None = None
        self.eventing: EventingControllers | None = None
        self.routes: dict[RouteKey, RoutingTable] = {}
        self._tasks: list[asyncio.Task[None]] = []
        self._started_at = datetime.now(UTC)
        self._hold: int | None = None
        self._pods: pods.PodMirror | None = None
        self._unloaded: set[RouteKey] = set()  # ready Routes not yet programmed, at start
        self._routes_loaded = asyncio.Event()

    async def start(self) -> None:
        """Take the data dir (:class:`~unkai.platform.state.DataDirInUseError` if a live
        platform has it), clear what a crashed one left, then start the parts."""
        self._hold = self.files.hold()
        self.files.clear_leftovers()
        self.bundles.clean()
        self._started_at = datetime.now(UTC).replace(microsecond=0)
        await self.gateway.start(self.settings.host, self.settings.gateway_port, serve=False)
        await self.internal.start()
        await self.api.start()
        if self.bundles.has_shared():
            await asyncio.to_thread(self.bundles.adopt_shared, await self._bundle_owners())
        self._unloaded = await self._ready_routes()
        settings_loaded = asyncio.Event()
        follow_settings = functools.partial(
            clustersettings.follow, self.api.service, self._configure, settings_loaded
        )
        self._tasks.append(supervise("cluster settings", follow_settings, forever=True))
        await settings_loaded.wait()
        if self.autoscaler is not None and self.data_plane is not None:
            self._tasks.append(supervise("autoscaler", self.autoscaler.run))
            for kind in ("ConfigMap", "Secret"):
                loaded = asyncio.Event()
                follow_sources = functools.partial(
                    self._follow_sources, self.data_plane, kind, loaded
                )
                self._tasks.append(
                    supervise(f"{kind}s to the data plane", follow_sources, forever=True)
                )
                await loaded.wait()  # revisions resolve their env against a full copy
            follow = functools.partial(self._follow_revisions, self.data_plane)
            self._tasks.append(supervise("revisions to the data plane", follow, forever=True))
            self._pods = pods.PodMirror(self.api.service, self.data_plane)
            self._tasks.append(supervise("pods", self._pods.run))
        self.controllers = ServingControllers(
            self.api.service,
            readiness=self.readiness,
            network=self._network(),
            program_route=self._program_route,
            gc=self.cluster.gc,
            resolve_digest=None if self.data_plane is None else self._resolve_digest,
        )
        await self.controllers.start()
        self.brokers.open()
        self.eventing = EventingControllers(
            self.api.service,
            plane=self.brokers,
            domain=self.settings.domain,
            port=self.gateway.port,
        )
        await self.eventing.start()
        await self._load_routes()
        await self.gateway.serve()
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
        if self.eventing is not None:
            await self.eventing.stop()
        await self.brokers.close()
        if self.controllers is not None:
            await self.controllers.stop()
        for task in self._tasks:
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)
        if self.data_plane is not None:
            await self.data_plane.close()
        await self.internal.stop()
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

    def _configure(self, cluster: ClusterConfig) -> None:
        """The ``knative-serving`` settings changed: routes are published by the new
        network settings, revisions scaled by the new autoscaler settings (over the
        ones ``unkai up`` was started with), and both gateway listeners route by the
        tag header or not."""
        self.cluster = cluster
        for door in (self.gateway.state, self.internal.state):
            door.config = dataclasses.replace(
                door.config, tag_header_routing=cluster.features.tag_header_routing
            )
        if self.controllers is not None:
            self.controllers.configure(self._network(), self.cluster.gc)
        if self.data_plane is not None:
            try:
                scaling = dataclasses.replace(self.settings.autoscaler, **cluster.autoscaler)
            except ValueError as error:  # a combination only Unkai's own checks refuse
                log.warning("config-autoscaler not applied: %s", error)
            else:
                self.data_plane.configure(scaling)

    def _network(self) -> Network:
        return Network(
            domain=self.settings.domain, port=self.gateway.port, config=self.cluster.network
        )

    def _revision_changed(self, key: RevisionKey) -> None:
        if self.controllers is not None:
            self.controllers.revision_changed(*key)
        if self._pods is not None:
            self._pods.changed(key)

    def _instance_log(self, namespace: str, name: str) -> Path | None:
        if self.data_plane is None:
            return None
        return pods.log_path(self.data_plane, namespace, name)

    async def _bundle_owners(self) -> dict[str, set[str]]:
        """For each bundle digest, the namespaces whose Revisions run it."""
        listed = await self.api.service.list(self.api.service.registry.get(REVISIONS))
        owners: dict[str, set[str]] = {}
        for revision in listed["items"]:
            namespace = revision["metadata"]["namespace"]
            for container in revision["spec"].get("containers") or []:
                try:
                    reference = bundles.parse_reference(str(container.get("image", "")))
                except bundles.BundleError:
                    continue  # never ran; its status says why
                if reference is not None:
                    owners.setdefault(reference.digest, set()).add(namespace)
        return owners

    async def _ready_routes(self) -> set[RouteKey]:
        """The Routes that were ready when the platform last stopped (or crashed)."""
        listed = await self.api.service.list(self.api.service.registry.get(ROUTES))
        return {
            RouteKey(route["metadata"]["namespace"], route["metadata"]["name"])
            for route in listed["items"]
            if (ready := conditions.find(route.get("status"), conditions.READY)) is not None
            and ready.status == "True"
        }

    async def _load_routes(self) -> None:
        """Wait until the controllers have programmed the Routes of :meth:`_ready_routes`
        (at most :data:`ROUTES_LOAD_TIMEOUT`: a Route that cannot be programmed any more
        must not keep every other one offline)."""
        if not self._unloaded:
            return
        try:
            await asyncio.wait_for(self._routes_loaded.wait(), ROUTES_LOAD_TIMEOUT)
        except TimeoutError:
            log.warning(
                "serving before every route is loaded",
                extra={"routes": sorted(str(key) for key in self._unloaded)},
            )

    def _program_route(self, key: RouteKey, table: RoutingTable | None) -> None:
        namespace = key.namespace
        if self._unloaded:
            self._unloaded.discard(key)
            if not self._unloaded:
                self._routes_loaded.set()
        previous = self.routes.pop(key, None)
        if table is not None:
            self.routes[key] = table
            self.gateway.set_route(namespace, table)
        if previous is not None and (table is None or previous.host != table.host):
            self.gateway.remove_route(previous.host)
        if self.data_plane is not None:
            self.data_plane.set_reachable(_routed(self.routes))

    def _resolve_digest(self, image: str) -> str:
        """A revision's tag to its digest now, by the ``config-deployment`` of now (in
        the controllers' resolver threads: it blocks on the registry)."""
        settings = self.cluster.deployment
        return resolve_digest(
            image, settings.registries_skipping_tag_resolving,
            timeout=settings.digest_resolution_timeout,
        )  # fmt: skip

    async def _follow_revisions(self, data_plane: DataPlane) -> None:
        """Every revision, from its creation to its deletion, goes to the data plane,
        running what its tag was resolved to (once the controllers have resolved it)."""
        rt = self.api.service.registry.get(REVISIONS)
        async with await self.api.service.watch(rt) as events:
            async for event, revision in events:
                metadata = revision["metadata"]
                if event == "DELETED":
                    data_plane.remove(metadata["namespace"], metadata["name"])
                    continue
                image = image_to_run(revision)
                if image is None:
                    continue  # its tag is being resolved: the status update comes back here
                containers = [{**revision["spec"]["containers"][0], "image": image}]
                pinned = {**revision, "spec": {**revision["spec"], "containers": containers}}
                try:
                    data_plane.upsert(pinned, resumed=self._resumed(revision))
                except Exception:
                    log.exception("revision %s/%s not run", metadata["namespace"], metadata["name"])

    async def _follow_sources(
        self, data_plane: DataPlane, kind: Kind, loaded: asyncio.Event
    ) -> None:
        """Every ConfigMap (or Secret) to the data plane: listed once (then ``loaded`` is
        set), then watched from that list's version."""
        rt = self.api.service.registry.get(SOURCES[kind])
        listed = await self.api.service.list(rt)
        data_plane.sources_listed(kind, listed["items"])
        loaded.set()
        version = listed["metadata"]["resourceVersion"]
        async with await self.api.service.watch(rt, resource_version=version) as events:
            async for event, obj in events:
                data_plane.sources_changed(kind, obj, deleted=event == "DELETED")

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


def run(main: Coroutine[Any, Any, None]) -> None:
    """Run ``main`` (the platform) to its end on uvloop, or on asyncio's own loop where
    uvloop cannot be imported (a platform it does not build on), saying so.

    uvloop because the gateway's request path was written and measured on it (its
    transports, and the loop's own overhead per callback, are C); the gateway's own
    thread picks its loop the same way (:func:`.gateway.thread.new_event_loop`).
    """
    try:
        import uvloop
    except ImportError as error:
        log.warning("uvloop cannot be imported (%s): running on asyncio's event loop", error)
        asyncio.run(main)
        return
    uvloop.run(main)


def _routed(routes: dict[RouteKey, RoutingTable]) -> set[RevisionKey]:
    """Every revision some route sends traffic to (by percent or by tag)."""
    routed: set[RevisionKey] = set()
    for key, table in routes.items():
        routed |= table.revisions(key.namespace)
    return routed
