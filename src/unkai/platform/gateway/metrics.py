"""Per-revision request counters: pushed to the autoscaler, pulled by Prometheus.

The request path only bumps plain integers on a :class:`RevisionStats` (no locks, no
label lookups) and tells the revision's :class:`RequestMeter` (the autoscaler's) when
a request starts and ends, held time included: demand on a cold revision is what
scales it up. :class:`GatewayCollector` turns the integers into Prometheus families
when the registry is scraped.
"""

from __future__ import annotations

from bisect import bisect_left
from collections.abc import Callable, Iterable, Iterator, Sequence
from typing import Final, Protocol

from prometheus_client.core import (
    CounterMetricFamily,
    GaugeMetricFamily,
    HistogramMetricFamily,
    Metric,
)
from prometheus_client.registry import Collector

from unkai.platform.contracts import RevisionKey
from unkai.platform.gateway.limits import Refusal

LATENCY_BUCKETS: Final = (
    0.001,
    0.0025,
    0.005,
    0.01,
    0.025,
    0.05,
    0.1,
    0.25,
    0.5,
    1.0,
    2.5,
    5.0,
    10.0,
    30.0,
    60.0,
    300.0,
)
# Index = status // 100; 0 is a request the client gave up on before any response.
CODE_CLASSES: Final = ("none", "1xx", "2xx", "3xx", "4xx", "5xx")
# The responses the gateway writes itself for a revision's requests: 504 (no first
# byte in time), 503 (queue full), 503 (no instance will come), 502 (instance failed).
OUTCOMES: Final = ("timeout", "overload", "unavailable", "upstream_failure")


class RequestMeter(Protocol):
    """The autoscaler's per-revision counter (``Autoscaler.meter(key)``); ``now`` is
    ``time.monotonic()``."""

    def started(self, now: float) -> None: ...

    def finished(self, now: float) -> None: ...


class RevisionStats:
    """Counters of one revision. Read them; only the gateway writes them.

    ``in_flight``: admitted and not finished, held ones included. ``held``: waiting for
    an instance (cold, or queued by the breaker). ``requests``: arrivals, ever.
    ``codes``: finished requests by :data:`CODE_CLASSES`. ``timeouts``, ``overloads``,
    ``unavailable``, ``upstream_failures``: the gateway's own 504s, 503s (queue full;
    no instance will come, the revision being in CrashLoopBackOff) and 502s, which a
    function's own 5xx would be mistaken for in ``codes`` (``unkai logs`` reports them,
    ``/metrics`` counts them as ``unkai_gateway_outcomes``).
    """

    __slots__ = (
        "buckets", "codes", "held", "in_flight", "latency_sum", "meter", "overloads",
        "requests", "timeouts", "unavailable", "upstream_failures",
    )  # fmt: skip

    def __init__(self, meter: RequestMeter | None = None) -> None:
        self.meter = meter
        self.in_flight = 0
        self.held = 0
        self.requests = 0
        self.codes = [0] * len(CODE_CLASSES)
        self.buckets = [0] * (len(LATENCY_BUCKETS) + 1)
        self.latency_sum = 0.0
        self.timeouts = self.overloads = self.unavailable = self.upstream_failures = 0

    def outcomes(self) -> tuple[tuple[str, int], ...]:
        """The requests the gateway answered itself, by :data:`OUTCOMES` label."""
        counts = (self.timeouts, self.overloads, self.unavailable, self.upstream_failures)
        return tuple(zip(OUTCOMES, counts, strict=True))

    def arrive(self, now: float) -> None:
        self.in_flight += 1
        self.requests += 1
        if self.meter is not None:
            self.meter.started(now)

    def depart(self, now: float, started: float, status: int) -> None:
        self.in_flight -= 1
        self.codes[status // 100] += 1
        elapsed = now - started
        self.buckets[bisect_left(LATENCY_BUCKETS, elapsed)] += 1
        self.latency_sum += elapsed
        if self.meter is not None:
            self.meter.finished(now)


class GatewayCollector(Collector):
    """Prometheus view of every revision's :class:`RevisionStats`, built at scrape time.

    ``revisions`` yields ``(key, stats, ready_instances)``; it is called from the
    scraping thread, and a scrape may see counters a request or two apart, which is
    what Prometheus expects of counters anyway.
    """

    def __init__(
        self, revisions: Callable[[], Iterable[tuple[RevisionKey, RevisionStats, int]]]
    ) -> None:
        self._revisions = revisions

    def collect(self) -> Iterator[Metric]:
        labels = ["namespace", "revision"]
        requests = CounterMetricFamily(
            "unkai_gateway_requests",
            "Requests finished, by revision and status code class ('none': client left).",
            labels=[*labels, "code_class"],
        )
        latency = HistogramMetricFamily(
            "unkai_gateway_request_duration_seconds",
            "Time from request head to the end of the response, held time included.",
            labels=labels,
        )
        in_flight = GaugeMetricFamily(
            "unkai_gateway_requests_in_flight",
            "Requests admitted, held ones included.",
            labels=labels,
        )
        held = GaugeMetricFamily(
            "unkai_gateway_requests_held",
            "Requests waiting for an instance (cold start or concurrency limit).",
            labels=labels,
        )
        ready = GaugeMetricFamily(
            "unkai_gateway_ready_instances", "Instances taking new requests.", labels=labels
        )
        outcomes = CounterMetricFamily(
            "unkai_gateway_outcomes",
            "Requests the gateway answered itself, by revision and outcome: timeout (504),"
            " overload (503, queue full), unavailable (503, the revision starts no"
            " instance: CrashLoopBackOff), upstream_failure (502).",
            labels=[*labels, "outcome"],
        )
        for key, stats, instances in list(self._revisions()):
            names = [key.namespace, key.name]
            for outcome, count in stats.outcomes():
                outcomes.add_metric([*names, outcome], count)
            for code_class, count in zip(CODE_CLASSES, list(stats.codes), strict=True):
                if count:
                    requests.add_metric([*names, code_class], count)
            cumulative, buckets = 0, []
            for bound, count in zip(
                [*LATENCY_BUCKETS, float("inf")], list(stats.buckets), strict=True
            ):
                cumulative += count
                buckets.append((_le(bound), cumulative))
            latency.add_metric(names, buckets, stats.latency_sum)
            in_flight.add_metric(names, stats.in_flight)
            held.add_metric(names, stats.held)
            ready.add_metric(names, instances)
        yield from (requests, latency, in_flight, held, ready, outcomes)


def _le(bound: float) -> str:
    return "+Inf" if bound == float("inf") else repr(bound)


class ConnectionCounts(Protocol):
    """What :class:`ConnectionCollector` reads (``connections.ConnectionTable``)."""

    @property
    def cap(self) -> int: ...

    @property
    def accepted(self) -> int: ...

    @property
    def head_bytes(self) -> int: ...

    @property
    def requests_carried(self) -> int: ...

    @property
    def requests_per_connection(self) -> list[int]:
        """Closed connections by requests carried: counts per bucket of ``buckets``,
        then +Inf."""

    def __len__(self) -> int: ...


class ConnectionCollector(Collector):
    """Prometheus view of the client connections as a whole: how many are open, under
    what cap, how much memory their unfinished heads hold, and what was refused why
    (the figures that show an attack and what the gateway did about it)."""

    def __init__(
        self,
        connections: ConnectionCounts,
        refusals: dict[Refusal, int],
        buckets: Sequence[int],
    ) -> None:
        self._connections = connections
        self._refusals = refusals
        self._buckets = buckets

    def collect(self) -> Iterator[Metric]:
        connections = self._connections
        yield GaugeMetricFamily(
            "unkai_gateway_connections_open", "Client connections open.", value=len(connections)
        )
        yield GaugeMetricFamily(
            "unkai_gateway_connections_limit",
            "Client connections allowed open at once (the oldest idle one makes room).",
            value=connections.cap,
        )
        yield CounterMetricFamily(
            "unkai_gateway_connections_accepted",
            "Client connections accepted, refused ones included.",
            value=connections.accepted,
        )
        yield GaugeMetricFamily(
            "unkai_gateway_unfinished_head_bytes",
            "Memory held by request heads not yet complete, over all connections.",
            value=connections.head_bytes,
        )
        refused = CounterMetricFamily(
            "unkai_gateway_connections_refused",
            "Client connections closed or refused by the gateway's limits, by reason.",
            labels=["reason"],
        )
        for kind, count in list(self._refusals.items()):
            refused.add_metric([kind.value], count)
        yield refused
        carried = HistogramMetricFamily(
            "unkai_gateway_connection_requests",
            "Requests each closed client connection carried (0: it never sent a whole head).",
        )
        cumulative, buckets = 0, []
        counts = list(connections.requests_per_connection)
        bounds = [*map(float, self._buckets), float("inf")]
        for bound, count in zip(bounds, counts, strict=True):
            cumulative += count
            buckets.append((_le(bound), cumulative))
        carried.add_metric([], buckets, connections.requests_carried)
        yield carried
