"""The broker data plane: which brokers take events, each trigger's queue, the store.

:class:`Brokers` is what the eventing controllers program (it is their
:class:`~unkai.platform.contracts.EventingPlane`) and what ingress hands events to.
An accepted event is stored with one delivery row per Trigger of its broker that was
programmed at that moment, and is kept until each of them is done with it (delivered,
filtered out, or dead-lettered); then it is removed, so the store holds only what is
still owed. Events a broker accepts while it has no Trigger are acknowledged and not
stored: nothing would ever read them.

Stored events stay in memory too (the dispatchers read them from there); a restart
reads them back from the store, and deliveries owed to Triggers not programmed yet
wait until they are, or until the controllers say the Trigger is gone.

Two loops use a :class:`Brokers`. Ingress calls :meth:`Brokers.accept` on the
gateway's loop, where the request was parsed: it decodes, stamps and stores the event
there, and answers from there once the commit is on disk, so an event costs no
hand-over between threads. Everything else (programming, dispatchers, the in-memory
queues) lives on the platform's loop (``home``); what ingress reads of it (which
brokers are Ready, each broker's Triggers) is replaced whole on change, never mutated,
and accepted events reach the dispatchers through one call into the home loop per
commit (:meth:`Brokers._arrive`).
"""

from __future__ import annotations

import asyncio
import itertools
import logging
import time
from collections import deque
from collections.abc import Mapping, Sequence
from datetime import UTC, datetime
from pathlib import Path

from unkai.errors import UserError
from unkai.events import codec
from unkai.platform.contracts import NamespacedName, PingPlan, TriggerPlan
from unkai.platform.eventing.dispatcher import Done, TriggerDispatcher
from unkai.platform.eventing.events import ARRIVAL, DEFAULT_TTL, TTL
from unkai.platform.eventing.metrics import EventingMetrics
from unkai.platform.eventing.ping import PingScheduler
from unkai.platform.eventing.sender import Sender
from unkai.platform.eventing.store import EventStore, StoredEvent

Routes = Mapping[NamespacedName, tuple[tuple[NamespacedName, ...], tuple[str, ...]]]
"""Each broker's Triggers, as keys and as the store's names (``ns/name``)."""

log = logging.getLogger("unkai.eventing")


class TTLExhaustedError(UserError):
    """An event arrived with ``knativebrokerttl`` at zero or below: a reply loop."""


class Brokers:
    """Brokers, Triggers and PingSources as programmed, over one event store."""

    def __init__(self, store_path: Path, *, sender: Sender, metrics: EventingMetrics) -> None:
        self.store = EventStore(store_path, observe=metrics.commit_seconds.observe)
        self.sender = sender
        self.metrics = metrics
        self.ready: set[NamespacedName] = set()
        self.dispatchers: dict[NamespacedName, TriggerDispatcher] = {}
        self.events: dict[int, StoredEvent] = {}
        self._routes: Routes = {}
        self._owed: dict[int, int] = {}
        self._parked: dict[NamespacedName, list[tuple[int, int]]] = {}
        self._seqs = itertools.count(1)  # next() is atomic: ingress and replies share it
        self._home: asyncio.AbstractEventLoop | None = None
        self._arrived: deque[tuple[list[StoredEvent], tuple[NamespacedName, ...]]] = deque()
        self._arriving = False  # a call into the home loop is scheduled for _arrived
        self.pings = PingScheduler(self.sender, metrics)

    def open(self) -> None:
        """Read the store back (on the home loop, which it remembers)."""
        self._home = asyncio.get_running_loop()
        pending = self.store.open()
        self.events = dict(pending.events)
        self._seqs = itertools.count(max(self.events, default=0) + 1)
        for trigger, seq, attempts in pending.deliveries:
            if seq in self.events:
                key = _key(trigger)
                self._parked.setdefault(key, []).append((seq, attempts))
                self._owed[seq] = self._owed.get(seq, 0) + 1
        if self.events:
            log.info("eventing: %d stored events to deliver", len(self.events))

    async def close(self) -> None:
        self.pings.close()
        for dispatcher in self.dispatchers.values():
            dispatcher.close()
        await self.store.close()
        await self.sender.close()

    # -- ingress ---------------------------------------------------------------------

    async def accept(self, broker: NamespacedName, events: Sequence[codec.Event]) -> None:
        """Stamp, store and queue ``events``; returns once they are on disk. Called on
        any loop (ingress: the gateway's; replies: the home loop).

        Raises :class:`TTLExhaustedError` for an event whose TTL has run out."""
        arrival = time.time()
        stamped = _stamped(events, arrival)
        accepted = self.metrics.accepted_by(broker)
        triggers, names = self._routes.get(broker, ((), ()))
        if not triggers:
            accepted.inc(len(events))
            return
        name = str(broker)
        seqs = self._seqs
        stored = [
            StoredEvent(next(seqs), name, arrival, codec.to_json(event), decoded=event)
            for event in stamped
        ]
        await self.store.append(stored, names)
        accepted.inc(len(events))
        self._arrived.append((stored, triggers))
        if not self._arriving:
            self._arriving = True
            assert self._home is not None, "accept before open"
            self._home.call_soon_threadsafe(self._arrive)

    def _arrive(self) -> None:
        """On the home loop: queue what ingress stored since the last call."""
        self._arriving = False
        arrived = self._arrived
        while arrived:
            stored, triggers = arrived.popleft()
            for item in stored:
                self.events[item.seq] = item
                self._owed[item.seq] = len(triggers)
            for key in triggers:
                dispatcher = self.dispatchers.get(key)
                for item in stored:
                    if dispatcher is not None:
                        dispatcher.push(item.seq)
                    else:  # taken out while the store wrote
                        self._finish(Done(key, item.seq))

    async def _reply(self, trigger: NamespacedName, event: codec.Event) -> None:
        """A subscriber's reply goes back into the trigger's broker, unless its TTL is
        spent (the loop guard): then it is dropped, and the delivery still counts."""
        dispatcher = self.dispatchers.get(trigger)
        if dispatcher is None:
            return
        broker = NamespacedName(trigger.namespace, dispatcher.plan.broker)
        try:
            await self.accept(broker, [event])
        except TTLExhaustedError as error:
            log.info("reply dropped: %s", error, extra={"trigger": str(trigger)})

    def _event(self, seq: int) -> StoredEvent | None:
        return self.events.get(seq)

    def _finish(self, done: Done) -> None:
        owed = self._owed.get(done.seq, 0) - 1
        last = owed <= 0
        if last:
            self._owed.pop(done.seq, None)
            self.events.pop(done.seq, None)
        else:
            self._owed[done.seq] = owed
        self.store.done(str(done.trigger), done.seq, last=last)

    def _attempted(self, trigger: NamespacedName, seq: int, attempts: int) -> None:
        self.store.attempted(str(trigger), seq, attempts)

    # -- programming (EventingPlane) -------------------------------------------------

    def program_broker(self, key: NamespacedName, ready: bool) -> None:
        if ready:
            self.ready.add(key)
        else:
            self.ready.discard(key)

    def program_trigger(self, key: NamespacedName, plan: TriggerPlan | None) -> None:
        dispatcher = self.dispatchers.get(key)
        if plan is None:
            self._drop_trigger(key)
            return
        if dispatcher is not None:
            dispatcher.program(plan)
            self._route()
            return
        dispatcher = self.dispatchers[key] = TriggerDispatcher(
            key, plan, event=self._event, done=self._finish, attempted=self._attempted,
            reply=self._reply, sender=self.sender, metrics=self.metrics,
        )  # fmt: skip
        self._route()
        for seq, attempts in self._parked.pop(key, []):
            dispatcher.push(seq, attempts)

    def program_ping(self, key: NamespacedName, plan: PingPlan | None) -> None:
        self.pings.program(key, plan)

    def retain_triggers(self, keys: set[NamespacedName]) -> None:
        for key in [key for key in self._parked if key not in keys]:
            self._drop_trigger(key)

    def _drop_trigger(self, key: NamespacedName) -> None:
        """The Trigger is gone: what it still owed is forgotten."""
        dispatcher = self.dispatchers.pop(key, None)
        self._route()
        owed = [seq for seq, _ in self._parked.pop(key, [])]
        if dispatcher is not None:
            owed += dispatcher.owed()
            dispatcher.close()
        orphans = []
        for seq in owed:
            left = self._owed.get(seq, 0) - 1
            if left <= 0:
                self._owed.pop(seq, None)
                self.events.pop(seq, None)
                orphans.append(seq)
            else:
                self._owed[seq] = left
        self.store.forget_trigger(str(key), orphans)

    def _route(self) -> None:
        """Ingress's view of each broker's Triggers, made anew (it reads it unlocked)."""
        routes: dict[NamespacedName, list[NamespacedName]] = {}
        for key, dispatcher in self.dispatchers.items():
            routes.setdefault(NamespacedName(key.namespace, dispatcher.plan.broker), []).append(key)
        self._routes = {
            broker: (tuple(keys), tuple(map(str, keys))) for broker, keys in routes.items()
        }

    def depths(self) -> Mapping[NamespacedName, int]:
        depths = {key: len(parked) for key, parked in self._parked.items()}
        depths.update({key: each.depth for key, each in self.dispatchers.items()})
        return depths


def _stamped(events: Sequence[codec.Event], arrival: float) -> list[codec.Event]:
    """``events`` with the broker's arrival time, and its TTL where they have none."""
    stamp = datetime.fromtimestamp(arrival, UTC).isoformat().replace("+00:00", "Z")
    stamped = []
    for event in events:
        ttl = event.get_extension(TTL)
        if ttl is not None and _int(ttl) <= 0:
            raise TTLExhaustedError(f"event {event.get_id()!r}: {TTL} is {ttl}")
        add: dict[str, codec.Value] = {ARRIVAL: stamp}
        if ttl is None:
            add[TTL] = DEFAULT_TTL
        stamped.append(event.with_extensions(add))
    return stamped


def _key(text: str) -> NamespacedName:
    namespace, _, name = text.partition("/")
    return NamespacedName(namespace, name)


def _int(value: object) -> int:
    try:
        return int(str(value))
    except ValueError:
        return 0
