"""The eventing controllers' loop: Brokers, Triggers and PingSources, level-based.

The same :class:`~.reconciling.ReconcileLoop` as serving, over the eventing kinds, and
watching Services too: a Trigger or PingSource whose destination is a Service must be
reconciled when that Service gets (or loses) its address. The pure decisions are in
:mod:`.eventing`; this loop writes the statuses and programs the broker data plane
(:class:`~unkai.platform.contracts.EventingPlane`) with what changed.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from datetime import datetime
from typing import Any

from unkai.api import kinds
from unkai.platform.apiserver.service import ResourceService
from unkai.platform.contracts import EventingPlane, NamespacedName, PingPlan, TriggerPlan
from unkai.platform.controllers.cache import where
from unkai.platform.controllers.eventing import reconcile_broker, reconcile_ping, reconcile_trigger
from unkai.platform.controllers.reconciling import Key, ReconcileLoop, utc_now

BROKERS = kinds.BROKER.group_resource
TRIGGERS = kinds.TRIGGER.group_resource
PING_SOURCES = kinds.PING_SOURCE.group_resource
SERVICES = kinds.SERVICE.group_resource
KINDS = (BROKERS, TRIGGERS, PING_SOURCES, SERVICES)


class EventingControllers(ReconcileLoop):
    """Reconciles Brokers, Triggers and PingSources into statuses and data-plane plans."""

    def __init__(
        self,
        api: ResourceService,
        *,
        plane: EventingPlane,
        domain: str,
        port: int,
        clock: Callable[[], datetime] = utc_now,
        workers: int = 2,
    ) -> None:
        super().__init__(api, kinds=KINDS, clock=clock, workers=workers)
        self.plane = plane
        self.domain = domain
        self.port = port
        self.brokers: dict[NamespacedName, bool] = {}
        self.triggers: dict[NamespacedName, TriggerPlan] = {}
        self.pings: dict[NamespacedName, PingPlan] = {}
        self._reconcilers = {
            BROKERS: self._broker,
            TRIGGERS: self._trigger,
            PING_SOURCES: self._ping,
        }

    async def start(self) -> None:
        await super().start()
        self.plane.retain_triggers(
            {NamespacedName(*key) for key in self.cache.keys(TRIGGERS)}
        )  # every Trigger is listed now: deliveries of any other are orphans

    def _affected(self, kind: str, obj: dict[str, Any]) -> Iterable[Key]:
        """Itself; for a Broker or Service every Trigger and PingSource of the namespace
        that may point at it, for a PingSource every Trigger that may depend on it (a
        few, locally)."""
        namespace, name = where(obj)
        if kind != SERVICES:
            yield kind, namespace, name
        if kind == PING_SOURCES:  # a Trigger may depend on it (knative.dev/dependency)
            for other in self.cache.namespace(TRIGGERS, namespace):
                yield TRIGGERS, namespace, other
        if kind in (BROKERS, SERVICES):
            for dependent in (TRIGGERS, PING_SOURCES):
                for other in self.cache.namespace(dependent, namespace):
                    yield dependent, namespace, other

    def _lookup(self, kind: str, namespace: str, name: str) -> Any:
        return self.cache.get(kind, namespace, name)

    async def _broker(self, namespace: str, name: str) -> None:
        key = NamespacedName(namespace, name)
        broker = self._get(BROKERS, namespace, name)
        if broker is None or broker["metadata"].get("deletionTimestamp"):
            if self.brokers.pop(key, None) is not None:
                self.plane.program_broker(key, False)
            return
        decision = reconcile_broker(
            broker, domain=self.domain, port=self.port, lookup=self._lookup, now=self.clock()
        )
        if self.brokers.get(key) != decision.ready:
            self.brokers[key] = decision.ready
            self.plane.program_broker(key, decision.ready)
        await self._write_status(BROKERS, broker, decision.status)

    async def _trigger(self, namespace: str, name: str) -> None:
        key = NamespacedName(namespace, name)
        trigger = self._get(TRIGGERS, namespace, name)
        if trigger is None or trigger["metadata"].get("deletionTimestamp"):
            if self.triggers.pop(key, None) is not None or trigger is None:
                self.plane.program_trigger(key, None)
            return
        decision = reconcile_trigger(trigger, lookup=self._lookup, now=self.clock())
        # A Trigger that stops being Ready keeps its last plan: its queued events stay
        # and are retried against the last subscriber, as a Knative Subscription stays.
        if decision.plan is not None and self.triggers.get(key) != decision.plan:
            self.triggers[key] = decision.plan
            self.plane.program_trigger(key, decision.plan)
        await self._write_status(TRIGGERS, trigger, decision.status)

    async def _ping(self, namespace: str, name: str) -> None:
        key = NamespacedName(namespace, name)
        source = self._get(PING_SOURCES, namespace, name)
        if source is None or source["metadata"].get("deletionTimestamp"):
            if self.pings.pop(key, None) is not None:
                self.plane.program_ping(key, None)
            return
        decision = reconcile_ping(source, lookup=self._lookup, now=self.clock())
        if decision.plan is None:
            if self.pings.pop(key, None) is not None:
                self.plane.program_ping(key, None)
        elif self.pings.get(key) != decision.plan:
            self.pings[key] = decision.plan
            self.plane.program_ping(key, decision.plan)
        await self._write_status(PING_SOURCES, source, decision.status)
