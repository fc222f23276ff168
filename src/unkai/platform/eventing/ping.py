"""PingSource: one event per tick of a cron schedule, sent to the source's sink.

The schedule is read by :mod:`unkai.api.knative.cron`, the same reading admission
validated with (robfig/cron's, as Knative's ``mtping`` adapter: optional seconds field
first, ``?``, ``@every``, ``CRON_TZ=``), rather than a second library that would read
some schedules differently (croniter puts a seconds field last). :func:`next_tick` is
pure; the runner sleeps until it, sends, and asks again — so at most one event goes per
tick, and ticks missed while the platform was down are not made up (Knative's adapter
does not either).

The event: type ``dev.knative.sources.ping``, source
``/apis/v1/namespaces/{ns}/pingsources/{name}``, a new id per tick, ``data`` or
``dataBase64`` decoded as the body with ``contentType``, and the ``ceOverrides``
extensions. A send that fails is retried a few times within the tick, then the event is
lost, as in Knative (counted in ``unkai_pingsource_events{outcome="failed"}``).
"""

from __future__ import annotations

import asyncio
import logging
import uuid
from collections.abc import Callable
from datetime import UTC, datetime

from unkai.api.knative import cron
from unkai.events import codec
from unkai.platform.contracts import DeliveryPlan, NamespacedName, PingPlan
from unkai.platform.eventing import delivery
from unkai.platform.eventing.metrics import EventingMetrics
from unkai.platform.eventing.sender import Sender
from unkai.platform.supervision import supervise

log = logging.getLogger("unkai.eventing")

EVENT_TYPE = "dev.knative.sources.ping"
SEND_POLICY = DeliveryPlan(retry=3, backoff_policy="exponential", backoff_delay=0.2, timeout=30.0)


def next_tick(plan: PingPlan, now: datetime) -> datetime | None:
    """When ``plan`` fires next, strictly after ``now``."""
    return cron.parse(plan.schedule, timezone=plan.timezone).next_after(now)


def ping_event(key: NamespacedName, plan: PingPlan, now: datetime) -> codec.Event:
    attributes: dict[str, codec.Value] = {
        "type": EVENT_TYPE,
        "source": f"/apis/v1/namespaces/{key.namespace}/pingsources/{key.name}",
        "id": str(uuid.uuid4()),
        "specversion": "1.0",
        "time": now.astimezone(UTC).isoformat().replace("+00:00", "Z"),
        **dict(plan.extensions),
    }
    if plan.content_type:
        attributes["datacontenttype"] = plan.content_type
    return codec.Event(attributes, plan.data or None)


class PingScheduler:
    """One supervised task per PingSource, replaced when its plan changes."""

    def __init__(
        self,
        sender: Sender,
        metrics: EventingMetrics,
        clock: Callable[[], datetime] = lambda: datetime.now(UTC),
    ) -> None:
        self.sender = sender
        self.metrics = metrics
        self.clock = clock
        self._tasks: dict[NamespacedName, tuple[PingPlan, asyncio.Task[None]]] = {}

    def program(self, key: NamespacedName, plan: PingPlan | None) -> None:
        current = self._tasks.get(key)
        if current is not None and current[0] == plan:
            return
        if current is not None:
            current[1].cancel()
            del self._tasks[key]
        if plan is not None:
            task = supervise(f"pingsource {key}", lambda: self._run(key, plan))
            self._tasks[key] = (plan, task)

    def close(self) -> None:
        for _, task in self._tasks.values():
            task.cancel()
        self._tasks.clear()

    async def _run(self, key: NamespacedName, plan: PingPlan) -> None:
        while True:
            tick = next_tick(plan, self.clock())
            if tick is None:
                return  # a schedule that never fires again
            while (left := (tick - self.clock()).total_seconds()) > 0:  # noqa: ASYNC110
                await asyncio.sleep(left)  # a timer, not a condition: sleep until the tick
            await self._send(key, plan, tick)

    async def _send(self, key: NamespacedName, plan: PingPlan, tick: datetime) -> None:
        event = ping_event(key, plan, tick)
        attempts = 0
        while True:
            sent = await self.sender.send(
                plan.sink_uri, event, timeout=SEND_POLICY.timeout, wire_format=None,
                ca_certs=plan.sink_ca_certs,
            )  # fmt: skip
            attempts += 1
            outcome = delivery.judge(sent.attempt, attempts, SEND_POLICY)
            if outcome is delivery.Outcome.DELIVERED:
                self.metrics.pings.labels(*key, "sent").inc()
                return
            if outcome is delivery.Outcome.FAILED:
                log.warning("ping event lost", extra={"source": str(key),
                                                      "status": sent.attempt.status})  # fmt: skip
                self.metrics.pings.labels(*key, "failed").inc()
                return
            await asyncio.sleep(delivery.backoff(SEND_POLICY, attempts))
