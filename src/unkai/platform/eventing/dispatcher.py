"""One Trigger's queue and its deliveries: filter, send, retry, dead-letter, reply.

Each trigger has its own queue and its own bound on deliveries in flight
(:data:`IN_FLIGHT`), so a slow or failing subscriber holds only its own trigger's slots
and never delays another trigger. Within a trigger, events are sent concurrently and a
retried event does not hold back the ones behind it: Knative's MT channel-based broker
gives no ordering either (its dispatcher sends each event on its own goroutine;
knative/specs#101 on ordered delivery is open).

An event leaves the queue only when it was delivered, filtered out or dead-lettered
(:class:`Done`); until then its row is in the store, and a restart sends it again.
"""

from __future__ import annotations

import asyncio
import functools
import logging
import time
from collections import deque
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Final

from unkai.events import codec
from unkai.events.http import InvalidEventError
from unkai.platform.contracts import NamespacedName, TriggerPlan
from unkai.platform.eventing import delivery
from unkai.platform.eventing.delivery import Attempt, Outcome
from unkai.platform.eventing.events import TTL
from unkai.platform.eventing.filtering import compile_trigger_filter
from unkai.platform.eventing.metrics import EventingMetrics
from unkai.platform.eventing.sender import Sender
from unkai.platform.eventing.store import StoredEvent

log = logging.getLogger("unkai.eventing")

IN_FLIGHT: Final = 32
RETRY_CRASHED: Final = 1.0  # after a delivery raised (the store failed to take a reply)


@dataclass(frozen=True)
class Done:
    """What the dispatcher tells the broker when it is done with an event."""

    trigger: NamespacedName
    seq: int


class TriggerDispatcher:
    """Delivers the events queued for one Trigger, per its plan."""

    def __init__(
        self,
        key: NamespacedName,
        plan: TriggerPlan,
        *,
        event: Callable[[int], StoredEvent | None],
        done: Callable[[Done], None],
        attempted: Callable[[NamespacedName, int, int], None],
        reply: Callable[[NamespacedName, codec.Event], Awaitable[None]],
        sender: Sender,
        metrics: EventingMetrics,
    ) -> None:
        self.key = key
        self._event, self._done, self._attempted, self._reply = event, done, attempted, reply
        self.sender = sender
        self.metrics = metrics
        self.queue: deque[tuple[int, int]] = deque()  # (seq, attempts made)
        self.active: set[int] = set()  # events being delivered now
        self.closed = False
        self._tasks: set[asyncio.Task[None]] = set()
        self.program(plan)

    def program(self, plan: TriggerPlan) -> None:
        self.plan = plan
        self.filter = compile_trigger_filter(plan)

    @property
    def depth(self) -> int:
        return len(self.queue) + len(self.active)

    def owed(self) -> list[int]:
        """Every event this trigger has not finished with (queued or under way)."""
        return [seq for seq, _ in self.queue] + sorted(self.active)

    def push(self, seq: int, attempts: int = 0) -> None:
        if not self.closed:
            self.queue.append((seq, attempts))
            self._pump()

    def close(self) -> None:
        self.closed = True
        for task in self._tasks:
            task.cancel()
        self.queue.clear()

    def _pump(self) -> None:
        """Start deliveries while slots are free. An event the filter refuses is done
        with here, without a task of its own (a task costs more than the filter)."""
        while self.queue and len(self.active) < IN_FLIGHT:
            seq, attempts = self.queue.popleft()
            stored = self._event(seq)
            if stored is None:
                continue  # dropped with its broker
            try:
                event = stored.decoded or codec.from_json(stored.event)
            except InvalidEventError as error:  # stored by a different version, say
                log.error("stored event dropped: %s", error, extra={"trigger": str(self.key)})
                outcome = "dropped"
            else:
                if self.filter.matches(event.get_attributes()):
                    self.active.add(seq)
                    task = asyncio.create_task(self._deliver(stored, event, attempts))
                    self._tasks.add(task)
                    task.add_done_callback(functools.partial(self._finished, seq))
                    continue
                outcome = "filtered"
            self.metrics.done(self.key, outcome)
            self._done(Done(self.key, seq))

    def _finished(self, seq: int, task: asyncio.Task[None]) -> None:
        self._tasks.discard(task)
        if task.cancelled():
            return  # the trigger went away (close): its owed events were counted then
        self.active.discard(seq)
        if (error := task.exception()) is not None:
            # Not done with: kept in the store, and tried again after a pause.
            log.error("delivery failed; retrying in %.0f s", RETRY_CRASHED, exc_info=error,
                      extra={"trigger": str(self.key)})  # fmt: skip
            asyncio.get_running_loop().call_later(RETRY_CRASHED, self.push, seq, 0)
        self._pump()

    async def _deliver(self, stored: StoredEvent, event: codec.Event, attempts: int) -> None:
        seq = stored.seq
        plan = self.plan
        outgoing = event.with_extensions(drop=(TTL,))
        attempt, reply, attempts = await self._attempts(
            plan.subscriber_uri, plan.subscriber_ca_certs, outgoing, seq, attempts
        )
        if attempt.status is not None and 200 <= attempt.status < 300:
            self.metrics.latency.labels(*self.key).observe(max(0.0, time.time() - stored.arrival))
            if reply is not None:
                await self._reply(self.key, reply.with_extensions({TTL: _ttl(event) - 1}))
            self.metrics.done(self.key, "delivered")
        elif plan.delivery.dead_letter_uri:
            extensions = delivery.error_extensions(plan.subscriber_uri, attempt)
            dead = outgoing.with_extensions(extensions)
            trust = plan.delivery.dead_letter_ca_certs
            final, _, _ = await self._attempts(plan.delivery.dead_letter_uri, trust, dead, seq, 0)
            outcome = "dead_lettered" if final.status and 200 <= final.status < 300 else "dropped"
            self.metrics.done(self.key, outcome)
        else:
            log.warning(
                "event dropped: no dead letter sink",
                extra={"trigger": str(self.key), "status": attempt.status},
            )
            self.metrics.done(self.key, "dropped")
        self._done(Done(self.key, seq))

    async def _attempts(
        self, uri: str, ca_certs: str, event: codec.Event, seq: int, attempts: int
    ) -> tuple[Attempt, codec.Event | None, int]:
        """Send until delivered or out of retries; the last attempt, reply and count."""
        plan = self.plan.delivery
        while True:
            sent = await self.sender.send(
                uri, event, timeout=plan.timeout, wire_format=plan.wire_format, ca_certs=ca_certs
            )
            attempts += 1
            outcome = delivery.judge(sent.attempt, attempts, plan)
            if outcome is not Outcome.RETRY:
                return sent.attempt, sent.reply, attempts
            self._attempted(self.key, seq, attempts)
            self.metrics.retried.labels(*self.key).inc()
            await asyncio.sleep(delivery.wait(plan, attempts, sent.attempt, datetime.now(UTC)))


def _ttl(event: codec.Event) -> int:
    try:
        return int(event.get_extension(TTL))  # type: ignore[arg-type]
    except (TypeError, ValueError):
        return 0
