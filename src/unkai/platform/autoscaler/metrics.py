"""Prometheus gauges per revision, named after Knative's autoscaler metrics.

The registry is passed in: library code never touches the global default registry.
"""

from __future__ import annotations

from prometheus_client import CollectorRegistry, Gauge

from unkai.platform.autoscaler.status import RevisionStatus
from unkai.platform.contracts import RevisionKey

_LABELS = ("namespace", "revision")


class AutoscalerMetrics:
    """One gauge family per figure; a revision's series go when it is unregistered."""

    def __init__(self, registry: CollectorRegistry) -> None:
        def gauge(name: str, documentation: str) -> Gauge:
            return Gauge(f"unkai_autoscaler_{name}", documentation, _LABELS, registry=registry)

        self._desired = gauge("desired_pods", "Pods the autoscaler wants (-1: not known yet)")
        self._ready = gauge("ready_pods", "Ready instances the autoscaler saw")
        self._stable_concurrency = gauge(
            "stable_request_concurrency", "Average in-flight requests over the stable window"
        )
        self._panic_concurrency = gauge(
            "panic_request_concurrency", "Average in-flight requests over the panic window"
        )
        self._stable_rps = gauge("stable_requests_per_second", "Requests/s, stable window")
        self._panic_rps = gauge("panic_requests_per_second", "Requests/s, panic window")
        self._target = gauge("target_value", "Per-pod target of the scaling metric")
        self._panic = gauge("panic_mode", "1 while the autoscaler panics, else 0")
        self._ebc = gauge("excess_burst_capacity", "Spare capacity beyond the burst capacity")
        self._all = (
            self._desired,
            self._ready,
            self._stable_concurrency,
            self._panic_concurrency,
            self._stable_rps,
            self._panic_rps,
            self._target,
            self._panic,
            self._ebc,
        )

    def publish(self, key: RevisionKey, status: RevisionStatus) -> None:
        """Set the revision's gauges from its latest status."""
        self._desired.labels(*key).set(-1 if status.want is None else status.want)
        self._ready.labels(*key).set(status.ready_pods)
        self._target.labels(*key).set(status.target_value)
        self._panic.labels(*key).set(1 if status.panicking else 0)
        self._ebc.labels(*key).set(status.excess_burst_capacity)
        if (observed := status.observed) is not None:
            self._stable_concurrency.labels(*key).set(observed.stable_concurrency)
            self._panic_concurrency.labels(*key).set(observed.panic_concurrency)
            self._stable_rps.labels(*key).set(observed.stable_rps)
            self._panic_rps.labels(*key).set(observed.panic_rps)

    def forget(self, key: RevisionKey) -> None:
        for gauge in self._all:
            try:
                gauge.remove(*key)
            except KeyError:
                continue
