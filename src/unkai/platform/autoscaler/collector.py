"""Request concurrency and rate per revision, from the gateway, in per-second buckets.

The gateway is both Knative's queue-proxy and activator here, so it knows the exact
number of requests in flight for a revision at every instant. It tells a
:class:`Meter` when each request starts and ends (buffered time in the activator
included); the meter integrates concurrency over time and, when a bucket (1 s) ends,
records its time-weighted average concurrency and its request count, stamped with
the bucket's end time, as a queue-proxy report would be. Stable and panic windows
average those buckets (:mod:`.buckets`).

Knative's pods report zeros every second while they exist, and nothing once scaled
to zero. The meter mirrors that: a quiet bucket is recorded only while the revision
has ready instances (``reporting``, set by the autoscaler loop at each read); buckets
with traffic are always recorded.

Not thread-safe: the gateway and the autoscaler share one event loop.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from unkai.platform.autoscaler.buckets import Buckets, WeightedBuckets
from unkai.platform.contracts import RevisionKey


@dataclass(frozen=True)
class Windows:
    """How a revision's metrics are averaged: window lengths (s) and the algorithm."""

    stable: float
    panic: float
    weighted: bool = False


@dataclass(frozen=True)
class Observation:
    """Window averages at one instant: concurrency and requests per second."""

    stable_concurrency: float
    panic_concurrency: float
    stable_rps: float
    panic_rps: float

    def of(self, metric: str) -> tuple[float, float]:
        """``(stable, panic)`` for the metric a revision scales on."""
        if metric == "rps":
            return self.stable_rps, self.panic_rps
        return self.stable_concurrency, self.panic_concurrency


class Meter:
    """One revision's counters; :meth:`started`/:meth:`finished` are O(1) per request.

    ``now`` is seconds on the autoscaler's clock (``time.monotonic`` by default).
    """

    __slots__ = (
        "_area",
        "_bucket",
        "_bucket_size",
        "_edge",
        "_inflight",
        "_panic",
        "_requests",
        "_since",
        "_stable",
        "reporting",
    )

    def __init__(self, windows: Windows, *, bucket_size: float, now: float) -> None:
        self._bucket_size = bucket_size
        self._bucket = math.floor(now / bucket_size)
        self._edge = (self._bucket + 1) * bucket_size
        self._since = now
        self._area = 0.0
        self._inflight = 0
        self._requests = 0
        self.reporting = False
        self._stable: tuple[Buckets, Buckets] = (Buckets(1), Buckets(1))
        self._panic: tuple[Buckets, Buckets] = (Buckets(1), Buckets(1))
        self.configure(windows)

    @property
    def inflight(self) -> int:
        """Requests of the revision in flight now, buffered ones included."""
        return self._inflight

    def started(self, now: float) -> None:
        """A request for the revision arrived (call before it is buffered or proxied)."""
        if now >= self._edge:
            self._roll(now)
        self._area += self._inflight * (now - self._since)
        self._since = now
        self._inflight += 1
        self._requests += 1

    def finished(self, now: float) -> None:
        """A request that :meth:`started` has ended (response sent, failed or timed out)."""
        if now >= self._edge:
            self._roll(now)
        self._area += self._inflight * (now - self._since)
        self._since = now
        self._inflight -= 1

    def configure(self, windows: Windows) -> None:
        """Size the windows; recent data is kept when they change."""
        kind = WeightedBuckets if windows.weighted else Buckets
        stable, panic = self._size(windows.stable), self._size(windows.panic)
        self._stable = (
            _resized(self._stable[0], kind, stable),
            _resized(self._stable[1], kind, stable),
        )
        self._panic = (_resized(self._panic[0], kind, panic), _resized(self._panic[1], kind, panic))

    def report_now(self, now: float) -> None:
        """Record one request in flight right away: the activator's first-request stat."""
        if now >= self._edge:
            self._roll(now)
        self._record(self._bucket, 1.0, 1)

    def observe(self, now: float) -> Observation | None:
        """Stable and panic averages at ``now``; ``None`` when the windows hold no data."""
        if now >= self._edge:
            self._roll(now)
        index = self._bucket
        if self._stable[0].empty(index):
            return None
        (stable_c, stable_r), (panic_c, panic_r) = self._stable, self._panic
        return Observation(
            stable_concurrency=stable_c.average(index),
            panic_concurrency=panic_c.average(index),
            stable_rps=stable_r.average(index),
            panic_rps=panic_r.average(index),
        )

    def _size(self, window: float) -> int:
        return max(1, math.ceil(window / self._bucket_size))

    def _roll(self, now: float) -> None:
        """Close the current bucket and any whole buckets since, up to ``now``'s."""
        size = self._bucket_size
        current = self._bucket
        self._area += self._inflight * (self._edge - self._since)
        self._record(current + 1, self._area / size, self._requests)
        target = math.floor(now / size)
        # Whole buckets at constant concurrency; older than a window they would be reset.
        for bucket in range(max(current + 1, target - self._stable[0].size - 1), target):
            self._record(bucket + 1, float(self._inflight), 0)
        self._bucket = target
        self._edge = (target + 1) * size
        self._since = target * size
        self._area = 0.0
        self._requests = 0

    def _record(self, index: int, concurrency: float, requests: int) -> None:
        if concurrency == 0 and requests == 0 and not self.reporting:
            return
        for concurrency_buckets, rps_buckets in (self._stable, self._panic):
            concurrency_buckets.record(index, concurrency)
            rps_buckets.record(index, requests)


def _resized(old: Buckets, kind: type[Buckets], size: int) -> Buckets:
    if type(old) is kind:
        return old if old.size == size else old.resized(size)
    return kind(size)


class MetricsCollector:
    """The meters of all revisions, by key; the gateway keeps the :class:`Meter` it gets."""

    def __init__(self, *, default_windows: Windows, bucket_size: float) -> None:
        self._default = default_windows
        self._bucket_size = bucket_size
        self._meters: dict[RevisionKey, Meter] = {}

    def meter(self, key: RevisionKey, *, now: float) -> Meter:
        """The revision's meter, created with default windows if it has none yet."""
        found = self._meters.get(key)
        if found is None:
            found = Meter(self._default, bucket_size=self._bucket_size, now=now)
            self._meters[key] = found
        return found

    def configure(self, key: RevisionKey, windows: Windows, *, now: float) -> None:
        self.meter(key, now=now).configure(windows)

    def forget(self, key: RevisionKey) -> None:
        self._meters.pop(key, None)

    def observe(self, key: RevisionKey, *, now: float, reporting: bool) -> Observation | None:
        """Averages for the revision; ``reporting`` says whether it has ready instances."""
        meter = self._meters.get(key)
        if meter is None:
            return None
        meter.reporting = reporting
        return meter.observe(now)
