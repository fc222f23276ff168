"""Eventing's Prometheus metrics, on the platform's shared registry.

Per broker: events accepted and refused (by HTTP code). Per trigger: deliveries by
outcome (``delivered``, ``filtered``, ``dead_lettered``, ``dropped``), retries, queue
depth (events accepted and not yet done with), and the latency from an event's arrival
at the broker to the subscriber's 2xx (Knative's ``event_dispatch_latencies``). Per
PingSource: events sent and failed.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping

from prometheus_client import CollectorRegistry, Counter, Histogram
from prometheus_client.core import GaugeMetricFamily
from prometheus_client.registry import Collector

from unkai.platform.contracts import NamespacedName

LATENCY_BUCKETS = (0.001, 0.0025, 0.005, 0.01, 0.02, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30)


class EventingMetrics:
    def __init__(
        self,
        registry: CollectorRegistry | None,
        depths: Callable[[], Mapping[NamespacedName, int]],
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
        if registry is not None:
            registry.register(_DepthCollector(depths))

    def done(self, trigger: NamespacedName, outcome: str) -> None:
        self.deliveries.labels(trigger.namespace, trigger.name, outcome).inc()


class _DepthCollector(Collector):
    def __init__(self, depths: Callable[[], Mapping[NamespacedName, int]]) -> None:
        self._depths = depths

    def collect(self) -> Iterator[GaugeMetricFamily]:
        family = GaugeMetricFamily(
            "unkai_trigger_queue_depth",
            "Events accepted for a trigger and not yet delivered, filtered or dead-lettered.",
            labels=["namespace", "trigger"],
        )
        for key, depth in self._depths().items():
            family.add_metric([key.namespace, key.name], depth)
        yield family
