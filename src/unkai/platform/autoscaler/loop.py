"""The thin shell: every tick, for each revision, observe → decide → settle → scale.

:class:`Autoscaler` holds per-revision state between decisions and does the I/O the
pure parts leave out: it reads ready instances (:class:`~.ports.ReadyPods`), hands
replica counts to the :class:`~.ports.Scaler`, and publishes :class:`RevisionStatus`
and Prometheus gauges. Time comes from an injected clock and sleep, so tests run the
loop on fake time.

Like Knative's multiscaler, it decides every ``tick_interval`` (2 s), and at once for a
revision that is registered or poked. The gateway's activator calls :meth:`poke` for
every request it holds (no ready instance has room). If the last decision wanted zero
pods, the poke records the activator's first-request stat (one request in flight) and
decides for that revision without waiting for the tick; when the requests in flight
need more instances than the revision has, it asks for them at once (:mod:`.surge`).
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Awaitable, Callable, Iterable
from dataclasses import dataclass, replace

from prometheus_client import CollectorRegistry

from unkai.platform.autoscaler.activation import ActivationState, settle
from unkai.platform.autoscaler.collector import Meter, MetricsCollector, Windows
from unkai.platform.autoscaler.config import AutoscalerConfig
from unkai.platform.autoscaler.decider import (
    DeciderState,
    Recommendation,
    decide,
    excess_burst_capacity,
)
from unkai.platform.autoscaler.metrics import AutoscalerMetrics
from unkai.platform.autoscaler.ports import ReadyPods, Scaler
from unkai.platform.autoscaler.spec import RevisionSpec, revision_spec
from unkai.platform.autoscaler.status import RevisionStatus
from unkai.platform.autoscaler.surge import queue_demand, scale_up_limit
from unkai.platform.contracts import RevisionKey

log = logging.getLogger(__name__)


@dataclass
class _Revision:
    spec: RevisionSpec
    decider: DeciderState
    activation: ActivationState
    latest: Recommendation | None = None
    replicas: int | None = None
    status: RevisionStatus | None = None
    surge: int = 0  # instances queued requests asked for since the last decision


class Autoscaler:
    """KPA for every registered revision of the embedded platform."""

    def __init__(
        self,
        *,
        config: AutoscalerConfig,
        registry: CollectorRegistry | None = None,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
        on_activity: Callable[[RevisionKey], None] | None = None,
    ) -> None:
        self._config = config
        self._scaler: Scaler = _UNDRIVEN
        self._pods: ReadyPods = _UNDRIVEN
        self._on_activity = on_activity  # the Revision's Active condition follows it
        self._metrics = AutoscalerMetrics(registry) if registry is not None else None
        self._clock = clock
        self._sleep = sleep
        self._revisions: dict[RevisionKey, _Revision] = {}
        self._due: set[RevisionKey] = set()
        self._waiter: asyncio.Future[None] | None = None
        unannotated = revision_spec({}, container_concurrency=0, config=config)
        self.collector = MetricsCollector(
            default_windows=_windows(unannotated), bucket_size=config.bucket_size
        )

    def drive(self, *, scaler: Scaler, pods: ReadyPods) -> None:
        """Point the autoscaler at the instances it scales and counts.

        Not a constructor argument because the parts need each other in a ring: the
        gateway meters requests for the autoscaler, the autoscaler scales the data
        plane, the data plane publishes endpoints to the gateway. The platform builds
        the autoscaler first, hands it to the gateway and the data plane, and the data
        plane drives it. Until then it sees no ready instances and scales nothing."""
        self._scaler = scaler
        self._pods = pods

    def meter(self, key: RevisionKey) -> Meter:
        """The gateway's handle for counting a revision's requests: keep it until the
        revision is unregistered, and pass it times from this autoscaler's clock."""
        return self.collector.meter(key, now=self._clock())

    def register(self, key: RevisionKey, spec: RevisionSpec, *, resumed: bool = False) -> None:
        """Start scaling a revision, or take its changed spec; decides for it at once.

        A new revision starts at its initial scale, as Knative creates its Deployment;
        a ``resumed`` one (it existed before the platform started) starts from zero, as
        a Deployment that is already there keeps its scale: a restart does not wake
        every revision ever deployed."""
        now = self._clock()
        entry = self._revisions.get(key)
        if entry is None:
            starting = DeciderState.starting(ready_pods=self._pods.ready(key), now=now)
            entry = _Revision(spec, starting, ActivationState.created(now=now))
            if resumed:
                entry.replicas = 0
            self._revisions[key] = entry
            for note in spec.notes:
                log.warning("revision %s/%s: %s", *key, note)
        entry.spec = spec
        self.collector.configure(key, _windows(spec), now=now)
        self._wake(key)

    def unregister(self, key: RevisionKey) -> None:
        """Stop scaling a revision (it was deleted); its instances are the runner's to stop."""
        self._revisions.pop(key, None)
        self._due.discard(key)
        self.collector.forget(key)
        if self._metrics is not None:
            self._metrics.forget(key)

    def poke(self, key: RevisionKey) -> None:
        """The gateway holds a request for the revision: no ready instance has room.

        Called for every held request, so it stays O(1) unless it asks for more."""
        entry = self._revisions.get(key)
        if entry is None:
            return
        now = self._clock()
        meter = self.collector.meter(key, now=now)
        if key not in self._due and (entry.latest is None or entry.latest.desired == 0):
            meter.report_now(now)
            self._wake(key)
        pods = queue_demand(entry.spec, in_flight=meter.inflight)
        if pods > max(1, entry.surge, entry.replicas or 0):
            entry.surge = min(pods, scale_up_limit(entry.spec, ready_pods=self._pods.ready(key)))
            self._wake(key)

    def status(self, key: RevisionKey) -> RevisionStatus | None:
        """The latest decision for the revision, ``None`` before the first."""
        entry = self._revisions.get(key)
        return None if entry is None else entry.status

    async def tick(self) -> None:
        """Decide for every registered revision now."""
        self._due.clear()
        await self._decide(list(self._revisions), self._clock())

    async def run(self) -> None:
        """Tick every ``tick_interval``, and decide for poked revisions in between."""
        next_tick = self._clock()
        while True:
            if self._clock() >= next_tick:
                await self.tick()
                next_tick = self._clock() + self._config.tick_interval
            else:
                due, self._due = self._due, set()
                await self._decide(due, self._clock())
            await self._wait(next_tick - self._clock())

    def _wake(self, key: RevisionKey) -> None:
        self._due.add(key)
        if self._waiter is not None and not self._waiter.done():
            self._waiter.set_result(None)

    async def _wait(self, seconds: float) -> None:
        """Until woken by a registration or poke, or ``seconds`` have passed.

        A poke resolves the future this awaits, so the loop runs again at the event
        loop's next turn: a cold start's decision is not three turns away, as it was
        behind an event and ``asyncio.wait`` (each turn also runs whatever else the
        platform's loop has ready: under load, a millisecond or more)."""
        if self._due or seconds <= 0:
            return
        waiter = self._waiter = asyncio.get_running_loop().create_future()
        slept = asyncio.ensure_future(self._sleep(seconds))

        def time_is_up(_: object) -> None:
            if not waiter.done():
                waiter.set_result(None)

        slept.add_done_callback(time_is_up)
        try:
            await waiter
        finally:
            self._waiter = None
            slept.cancel()

    async def _decide(self, keys: Iterable[RevisionKey], now: float) -> None:
        for key in keys:
            if (entry := self._revisions.get(key)) is None:
                continue
            try:
                await self._step(key, entry, now)
            except Exception:
                log.exception("autoscaling revision %s/%s failed", *key)

    async def _step(self, key: RevisionKey, entry: _Revision, now: float) -> None:
        spec = entry.spec
        ready = self._pods.ready(key)
        if entry.surge:
            entry.decider = entry.decider.surged(entry.surge, now=now)
            entry.surge = 0
        observed = self.collector.observe(key, now=now, reporting=ready > 0)
        if observed is not None:
            entry.latest, entry.decider = decide(
                spec, entry.decider, observed=observed, ready_pods=ready, now=now
            )
        elif entry.latest is not None and entry.decider.panicking:  # a surge before data
            held = max(entry.latest.desired, entry.decider.max_panic_pods)
            entry.latest = replace(entry.latest, desired=held, panicking=True)
        latest = entry.latest
        # Before any decision, Knative's decider reports the burst capacity of initial scale.
        ebc = (
            latest.excess_burst_capacity
            if latest is not None
            else excess_burst_capacity(spec, ready_pods=spec.initial_scale, panic=0.0)
        )
        settled, entry.activation = settle(
            spec,
            entry.activation,
            recommended=None if latest is None else latest.desired,
            excess_burst_capacity=ebc,
            ready_pods=ready,
            now=now,
        )
        replicas = settled.replicas
        if replicas is None and entry.replicas is None:
            replicas = spec.initial_scale  # Knative creates the Deployment at initial scale.
        if replicas is not None and replicas != entry.replicas:
            await self._scaler.scale(key, replicas)
            entry.replicas = replicas
        previous = entry.status
        entry.status = RevisionStatus(
            want=settled.want,
            replicas=entry.replicas,
            ready_pods=ready,
            panicking=entry.decider.panicking,
            excess_burst_capacity=ebc,
            target_value=spec.target_value,
            observed=observed,
            activity=entry.activation.activity,
            reason=entry.activation.reason,
            activator_in_path=settled.activator_in_path,
            notes=spec.notes,
        )
        if self._metrics is not None:
            self._metrics.publish(key, entry.status)
        activity = (entry.status.activity, entry.status.reason)
        if self._on_activity and (
            previous is None or (previous.activity, previous.reason) != activity
        ):
            self._on_activity(key)


class _Undriven:
    """The instances of an autoscaler nothing drives yet: none ready, none to scale."""

    def ready(self, key: RevisionKey) -> int:
        return 0

    async def scale(self, key: RevisionKey, desired: int) -> None:
        raise RuntimeError(f"autoscaler scales {key} but drives no data plane: call drive()")


_UNDRIVEN = _Undriven()


def _windows(spec: RevisionSpec) -> Windows:
    return Windows(spec.stable_window, spec.panic_window, spec.weighted_average)
