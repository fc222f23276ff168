"""Eventing's Prometheus metrics, on the platform's shared registry.

Per broker: events accepted and refused (by HTTP code). The event store: commits and
how long each synced one took (its events share one fsync: accepted / commits is the
batching). Per trigger: deliveries by
outcome (``delivered``, ``filtered``, ``dead_lettered``, ``dropped``), retries, queue
depth (events accepted and not yet done with), and the latency from an event's arrival
at the broker to the subscriber's 2xx (Knative's ``event_dispatch_latencies``). Per
PingSource: events sent and failed.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping

from prometheus_client import CollectorRegistry, Counter, Histogram
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily
from prometheus_client.registry import Collector

from unkai.platform.contracts import NamespacedName

LATENCY_BUCKETS = (0.001, 0.0025, 0.005, 0.01, 0.02, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30)
COMMIT_BUCKETS = (0.0005, 0.001, 0.002, 0.004, 0.008, 0.016, 0.032, 0.064, 0.128, 0.5)


class EventingMetrics:
    def __init__(
        self,
        registry: CollectorRegistry | None,
        depths: Callable[[], Mapping[NamespacedName, int]],
        commits: Callable[[], int] = lambda: 0,
    ) -> None:
        self.accepted = Counter(
            "unkai_broker_events_accepted", "Events a broker stored and acknowledged (202).",
            ["namespace", "broker"], registry=registry,
        )  # fmt: skip
        self.refused = Counter(
            "unkai_broker_events_refused", "Requests a broker's ingress refused, by code.",
            ["namespace", "broker", "code"], registry=registry,
        )  # fmt: skip
        self.deliveries = Counter(
            "unkai_trigger_events", "Events a trigger is done with, by outcome.",
            ["namespace", "trigger", "outcome"], registry=registry,
        )  # fmt: skip
        self.retried = Counter(
            "unkai_trigger_retries", "Delivery attempts that will be tried again.",
            ["namespace", "trigger"], registry=registry,
        )  # fmt: skip
        self.latency = Histogram(
            "unkai_trigger_delivery_latency_seconds",
            "From arrival at the broker to the subscriber's 2xx.",
            ["namespace", "trigger"], buckets=LATENCY_BUCKETS, registry=registry,
        )  # fmt: skip
        self.pings = Counter(
            "unkai_pingsource_events", "Events a PingSource sent, by outcome.",
            ["namespace", "source", "outcome"], registry=registry,
        )  # fmt: skip
        self.commit_seconds = Histogram(
            "unkai_event_store_commit_seconds",
            "How long each synced commit of the broker's event store took, fsync included.",
            buckets=COMMIT_BUCKETS, registry=registry,
        )  # fmt: skip
        if registry is not None:
            registry.register(_StoreCollector(depths, commits))
        self._accepted: dict[NamespacedName, Counter] = {}
        self._done: dict[tuple[NamespacedName, str], Counter] = {}

    def accepted_by(self, broker: NamespacedName) -> Counter:
        """The broker's accepted counter, its labels looked up once (per event, that
        lookup cost about as much as the increment); the dict is safe to grow from any
        thread."""
        counter = self._accepted.get(broker)
        if counter is None:
            counter = self._accepted[broker] = self.accepted.labels(*broker)
        return counter

    def done(self, trigger: NamespacedName, outcome: str) -> None:
        counter = self._done.get((trigger, outcome))
        if counter is None:
            counter = self.deliveries.labels(trigger.namespace, trigger.name, outcome)
            self._done[(trigger, outcome)] = counter
        counter.inc()


class _StoreCollector(Collector):
    """Queue depths and the store's commit count, read when scraped (not counted on
    the hot path)."""

    def __init__(
        self, depths: Callable[[], Mapping[NamespacedName, int]], commits: Callable[[], int]
    ) -> None:
        self._depths = depths
        self._commits = commits

    def collect(self) -> Iterator[GaugeMetricFamily | CounterMetricFamily]:
        yield CounterMetricFamily(
            "unkai_event_store_commits",
            "Transactions the broker's event store committed (synced or written behind).",
            value=self._commits(),
        )
        family = GaugeMetricFamily(
            "unkai_trigger_queue_depth",
            "Events accepted for a trigger and not yet delivered, filtered or dead-lettered.",
            labels=["namespace", "trigger"],
        )
        for key, depth in self._depths().items():
            family.add_metric([key.namespace, key.name], depth)
        yield family
