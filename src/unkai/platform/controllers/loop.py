"""The serving controllers' loop: watch, queue, reconcile, write — level-based.

Every change to a Service, Configuration, Revision or Route queues the keys of the
objects whose desired state depends on it; a worker then reads the current objects,
asks the pure reconcilers (:mod:`.service`, :mod:`.configuration`, :mod:`.revision`,
:mod:`.route`) what should be, and writes only the difference. Because each reconcile
starts from what is stored, running one twice, after a crash, or after a missed event
is harmless, and a restart simply queues everything once. A reconcile that fails is
queued again after a growing delay (:mod:`.retry`), and every object is queued again
every :data:`~.retry.RESYNC_SECONDS`.

The machinery (watches, queue, retries, resync, writes) is
:class:`~.reconciling.ReconcileLoop`, shared with the eventing loop. The data plane takes
part in two ways: it answers :class:`RevisionReadiness` and calls
:meth:`ServingControllers.revision_changed` when its answer changes; and it receives
routing tables through ``program_route`` (``None`` when a Route goes away).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Callable, Iterable, Mapping
from datetime import datetime
from typing import Any, cast

from unkai.api import kinds
from unkai.api.knative.clusterconfig import GcConfig
from unkai.api.knative.metadata import CONFIGURATION_LABEL
from unkai.api.knative.types import Configuration, Revision, Route, Service
from unkai.api.objects import Event, Object
from unkai.errors import UnkaiError
from unkai.platform.apiserver import errors
from unkai.platform.apiserver.service import ResourceService
from unkai.platform.contracts import RevisionReadiness, RouteKey, RoutingTable
from unkai.platform.controllers import events, revisiongc
from unkai.platform.controllers.cache import where
from unkai.platform.controllers.configuration import reconcile_configuration, revision_name
from unkai.platform.controllers.digests import DigestResolver, Resolve
from unkai.platform.controllers.domainmapping import host_owner, reconcile_domain_mapping
from unkai.platform.controllers.reconciling import MANAGER, Key, ReconcileLoop, utc_now
from unkai.platform.controllers.retry import RESYNC_SECONDS
from unkai.platform.controllers.revision import (
    digest_wanted,
    missing_image,
    reconcile_revision,
    resolving,
    with_digest,
)
from unkai.platform.controllers.rollout import Timing
from unkai.platform.controllers.route import Network, RolloutKey, reconcile_route
from unkai.platform.controllers.service import reconcile_service
from unkai.platform.supervision import supervise

log = logging.getLogger("unkai.controllers")

SERVICES = kinds.SERVICE.group_resource
CONFIGURATIONS = kinds.CONFIGURATION.group_resource
REVISIONS = kinds.REVISION.group_resource
ROUTES = kinds.ROUTE.group_resource
DOMAIN_MAPPINGS = kinds.DOMAIN_MAPPING.group_resource
EVENTS = kinds.EVENT.group_resource
EVENT_SWEEP_SECONDS = 600.0
KINDS = (SERVICES, CONFIGURATIONS, REVISIONS, ROUTES, DOMAIN_MAPPINGS)
ProgramRoute = Callable[[RouteKey, RoutingTable | None], None]


class ServingControllers(ReconcileLoop):
    """Runs the four serving reconcilers over the API's in-process service."""

    def __init__(
        self,
        api: ResourceService,
        *,
        readiness: RevisionReadiness,
        network: Network,
        program_route: ProgramRoute,
        clock: Callable[[], datetime] = utc_now,
        gc: GcConfig = GcConfig(),  # noqa: B008 (frozen: shared safely)
        resolve_digest: Resolve | None = None,
        workers: int = 4,
        resync_seconds: float = RESYNC_SECONDS,
    ) -> None:
        super().__init__(
            api, kinds=KINDS, clock=clock, workers=workers, resync_seconds=resync_seconds
        )
        self.readiness = readiness
        self.network = network
        self.program_route = program_route
        self.gc = gc
        self.digests: DigestResolver | None = None
        """Where tags are resolved, in the background (``None``: they are not; nothing
        runs them)."""
        if resolve_digest is not None:
            self.digests = DigestResolver(resolve_digest, done=self.revision_changed)
        self.programmed: dict[RouteKey, RoutingTable] = {}
        self._timings: dict[RouteKey, Mapping[RolloutKey, Timing]] = {}
        self._steps: dict[RouteKey, asyncio.TimerHandle] = {}
        self._reconcilers = {
            SERVICES: self._service,
            CONFIGURATIONS: self._configuration,
            REVISIONS: self._revision,
            ROUTES: self._route,
            DOMAIN_MAPPINGS: self._domain_mapping,
        }
        self.mapped: dict[RouteKey, RoutingTable] = {}  # DomainMappings' tables

    async def start(self) -> None:
        await super().start()
        self._tasks.append(supervise("event-expiry", self._expire_events))

    def configure(self, network: Network, gc: GcConfig) -> None:
        """New ``config-network`` settings: every Route is published by them from now;
        new ``config-gc``: every Configuration's revisions are collected by it."""
        if gc != self.gc:
            self.gc = gc
            for namespace, name in self.cache.keys(CONFIGURATIONS):
                self._enqueue((CONFIGURATIONS, namespace, name))
        if network == self.network:
            return
        self.network = network
        for namespace, name in self.cache.keys(ROUTES):
            self._enqueue((ROUTES, namespace, name))

    async def stop(self) -> None:
        for handle in self._steps.values():
            handle.cancel()
        await super().stop()
        if self.digests is not None:
            await self.digests.close()

    def revision_changed(self, namespace: str, name: str) -> None:
        """The data plane's answer for this revision changed, or its tag's resolution
        ended: reconcile it."""
        self._enqueue((REVISIONS, namespace, name))

    def _affected(self, kind: str, obj: dict[str, Any]) -> Iterable[Key]:
        """The objects whose desired state depends on ``obj``: itself, its owners, and
        for a revision or configuration the routes whose traffic names it (or its
        configuration), or that serve it now."""
        metadata = obj["metadata"]
        namespace, name = where(obj)
        yield kind, namespace, name
        for owner in metadata.get("ownerReferences") or []:
            owners = {kinds.SERVICE.kind: SERVICES, kinds.CONFIGURATION.kind: CONFIGURATIONS}
            owner_kind = owners.get(owner["kind"])
            if owner_kind is not None:
                yield owner_kind, namespace, owner["name"]
        if kind == ROUTES:  # the configurations whose revisions it may have stopped serving
            for served in self.cache.namespace(CONFIGURATIONS, namespace):
                yield CONFIGURATIONS, namespace, served
        if kind == ROUTES:  # the mappings that serve its traffic
            for mapping in self.cache.namespace(DOMAIN_MAPPINGS, namespace).values():
                if mapping["spec"]["ref"]["name"] == name:
                    yield DOMAIN_MAPPINGS, namespace, mapping["metadata"]["name"]
        if kind == DOMAIN_MAPPINGS:  # the others claiming the same host
            for other_namespace, other in self.cache.keys(DOMAIN_MAPPINGS):
                if other == name and other_namespace != namespace:
                    yield DOMAIN_MAPPINGS, other_namespace, name
        if kind in (REVISIONS, CONFIGURATIONS):
            routes = self.cache.targeting(ROUTES, namespace, name)
            if kind == REVISIONS:
                configuration = (metadata.get("labels") or {}).get(CONFIGURATION_LABEL)
                if configuration:
                    routes |= self.cache.targeting(ROUTES, namespace, configuration)
                routes |= {
                    route
                    for (route_namespace, route), table in self.programmed.items()
                    if route_namespace == namespace and _serves(table, name)
                }  # a Route that still serves it while dropping it
            for route in routes:
                yield ROUTES, namespace, route

    async def _record(self, event: Event) -> None:
        """Write an Event; one that cannot be written is logged, never retried (the
        reconcile it tells of has happened)."""
        try:
            await self.api.create(
                self.api.registry.get(EVENTS), event,
                namespace=event["metadata"]["namespace"], field_manager=MANAGER,
            )  # fmt: skip
        except errors.ApiError as error:
            log.warning("event not recorded: %s", error)

    async def _expire_events(self) -> None:
        """Delete Events past their TTL, now and then, so they do not pile up."""
        rt = self.api.registry.get(EVENTS)
        while True:
            listed = await self.api.list(rt)
            for event in listed["items"]:
                if events.expired(event, now=self.clock()):
                    namespace, name = where(event)
                    with contextlib.suppress(errors.ApiError):  # gone already
                        await self.api.delete(rt, name=name, namespace=namespace)
            await asyncio.sleep(EVENT_SWEEP_SECONDS)

    # -- the four reconcilers --------------------------------------------------------

    async def _service(self, namespace: str, name: str) -> None:
        service: Service | None = self._get(SERVICES, namespace, name)
        if service is None or service["metadata"].get("deletionTimestamp"):
            return
        decision = reconcile_service(
            service,
            configuration=self._get(CONFIGURATIONS, namespace, name),
            route=self._get(ROUTES, namespace, name),
            now=self.clock(),
        )
        for kind, child in ((CONFIGURATIONS, decision.configuration), (ROUTES, decision.route)):
            if child is not None:
                new = self._get(kind, namespace, name) is None
                await self._write(kind, child)
                if new:
                    await self._record(events.created(service, child, now=self.clock()))
        await self._write_status(SERVICES, service, decision.status)

    async def _configuration(self, namespace: str, name: str) -> None:
        configuration: Configuration | None = self._get(CONFIGURATIONS, namespace, name)
        if configuration is None or configuration["metadata"].get("deletionTimestamp"):
            return
        revisions = self.cache.labelled(REVISIONS, namespace, name)
        wanted = self._get(REVISIONS, namespace, revision_name(configuration))
        if wanted is not None and wanted not in revisions:
            revisions.append(wanted)  # a name taken by another owner must be seen
        decision = reconcile_configuration(configuration, revisions=revisions, now=self.clock())
        now = self.clock()
        if decision.revision is not None:
            rt = self.api.registry.get(REVISIONS)
            await self.api.create(rt, decision.revision, namespace=namespace,
                                  field_manager=MANAGER)  # fmt: skip
            await self._record(events.created(configuration, decision.revision, now=now))
        old = configuration.get("status") or {}
        await self._write_status(CONFIGURATIONS, configuration, decision.status)
        for event in events.latest_ready_changed(configuration, old, decision.status, now=now):
            await self._record(event)
        await self._collect(namespace, name, decision.status)

    async def _collect(self, namespace: str, name: str, status: Mapping[str, Any]) -> None:
        """Mark the configuration's revisions routed or not (when that changed), then
        delete those :func:`~.revisiongc.collect` gives up."""
        routed = self._routed(namespace)
        latest = [status.get("latestCreatedRevisionName"), status.get("latestReadyRevisionName")]
        candidates = []
        for revision in self.cache.labelled(REVISIONS, namespace, name):
            marked = revisiongc.routing_marks(
                revision, routed=revision["metadata"]["name"] in routed, now=self.clock()
            )
            if marked != revision["metadata"]:
                revision = {**revision, "metadata": marked}
                await self._write(REVISIONS, cast(Object, revision))
            candidates.append(revisiongc.candidate(revision, [n for n in latest if n]))
        now = self.clock().timestamp()
        rt = self.api.registry.get(REVISIONS)
        for doomed in revisiongc.collect(candidates, self.gc, now=now):
            log.info("revision %s/%s collected (config-gc)", namespace, doomed)
            try:
                await self.api.delete(rt, name=doomed, namespace=namespace)
            except errors.ApiError as error:
                if error.code != 404:  # gone already is what was wanted
                    raise

    def _routed(self, namespace: str) -> set[str]:
        """The revisions of ``namespace`` a Route serves, names or will serve: in its
        status, its spec, or the table the gateway has."""
        found: set[str] = set()
        for route in self.cache.namespace(ROUTES, namespace).values():
            for part in ("spec", "status"):
                targets = (route.get(part) or {}).get("traffic") or []
                found |= {t["revisionName"] for t in targets if t.get("revisionName")}
        for (route_namespace, _), table in self.programmed.items():
            if route_namespace == namespace:
                found |= {name for name, _ in table.split} | set(table.tags.values())
        return found

    async def _revision(self, namespace: str, name: str) -> None:
        revision: Revision | None = self._get(REVISIONS, namespace, name)
        image = None if revision is None else digest_wanted(revision)
        if self.digests is not None and image is None:
            self.digests.forget(namespace, name)  # deleted, or its digest is written
        if revision is None:
            return
        if image is not None and self.digests is not None:
            try:
                digest = self.digests.result(namespace, name, image)
            except UnkaiError as error:
                failed = missing_image(revision, str(error), now=self.clock())
                await self._write_status(REVISIONS, revision, failed)
                raise  # asked again with backoff, as Knative's resolver does
            if digest is None:  # being resolved: queued again when it is
                await self._write_status(
                    REVISIONS, revision, resolving(revision, image, now=self.clock())
                )
                return
            revision = with_digest(revision, digest)
        status = reconcile_revision(revision, readiness=self.readiness, now=self.clock())
        await self._write_status(REVISIONS, revision, status)

    async def _route(self, namespace: str, name: str) -> None:
        key = RouteKey(namespace, name)
        route: Route | None = self._get(ROUTES, namespace, name)
        if route is None or route["metadata"].get("deletionTimestamp"):
            if self.programmed.pop(key, None) is not None:
                self.program_route(key, None)
            self._timings.pop(key, None)
            return
        decision = reconcile_route(
            route,
            configurations=self.cache.namespace(CONFIGURATIONS, namespace),
            revisions=self.cache.namespace(REVISIONS, namespace),
            network=self.network,
            programmed=self.programmed.get(key),
            now=self.clock(),
            timings=self._timings.get(key),
        )
        self._timings[key] = decision.timings
        self._step_at(key, decision.next_step)
        if decision.table is not None and self.programmed.get(key) != decision.table:
            self.programmed[key] = decision.table
            self.program_route(key, decision.table)
            self._enqueue((ROUTES, namespace, name))  # IngressReady follows the programming
        await self._write_status(ROUTES, route, decision.status)

    def _step_at(self, key: RouteKey, moment: float | None) -> None:
        """Reconcile the Route again when its next rollout step is due."""
        if (handle := self._steps.pop(key, None)) is not None:
            handle.cancel()
        if moment is not None:
            delay = max(0.0, moment - self.clock().timestamp())
            item = (ROUTES, *key)
            self._steps[key] = asyncio.get_running_loop().call_later(delay, self._enqueue, item)

    async def _domain_mapping(self, namespace: str, name: str) -> None:
        key = RouteKey(namespace, name)
        mapping = self._get(DOMAIN_MAPPINGS, namespace, name)
        if mapping is None or mapping["metadata"].get("deletionTimestamp"):
            if self.mapped.pop(key, None) is not None:
                self.program_route(key, None)
            return
        claims = [
            self._get(DOMAIN_MAPPINGS, other_namespace, other)
            for other_namespace, other in self.cache.keys(DOMAIN_MAPPINGS)
            if other == name
        ]
        decision = reconcile_domain_mapping(
            mapping,
            owned=host_owner([claim for claim in claims if claim is not None]) == namespace,
            route=self._get(ROUTES, namespace, mapping["spec"]["ref"]["name"]),
            network=self.network,
            programmed=self.mapped.get(key),
            now=self.clock(),
        )
        if decision.table is None and self.mapped.pop(key, None) is not None:
            self.program_route(key, None)
        elif decision.table is not None and self.mapped.get(key) != decision.table:
            self.mapped[key] = decision.table
            self.program_route(key, decision.table)
            self._enqueue((DOMAIN_MAPPINGS, namespace, name))  # IngressReady follows
        await self._write_status(DOMAIN_MAPPINGS, mapping, decision.status)


def _serves(table: RoutingTable, revision: str) -> bool:
    return any(name == revision for name, _ in table.split) or revision in table.tags.values()
