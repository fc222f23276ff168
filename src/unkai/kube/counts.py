"""How many events a Broker or Trigger has handled, read from the platform's ``/metrics``.

The counts reach the CLI through the Prometheus endpoint the API server already serves,
not through ``status``: counters written into an object's status would change it (and
wake every watcher) on every event, and Knative's Broker and Trigger status has no such
fields. A Knative cluster keeps these figures in its own metrics backend, so there
(and for a namespace token, to which ``/metrics`` is closed) :func:`read` returns
``None`` and ``unkai describe`` says the counts are not available.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Mapping
from dataclasses import dataclass

import httpx2
from lightkube.config.kubeconfig import SingleConfig
from prometheus_client.parser import text_string_to_metric_families

from unkai.kube import uploads

_OUTCOMES = frozenset({"delivered", "dead_lettered", "dropped"})
"""The outcomes counted (``filtered`` is not: it is neither delivered nor lost)."""


@dataclass(frozen=True)
class Counts:
    """One Trigger's figures, or a Broker's (its own ``accepted``, its Triggers' sums)."""

    accepted: int = 0
    delivered: int = 0
    retried: int = 0
    dead_lettered: int = 0
    dropped: int = 0
    queued: int = 0

    def __add__(self, other: Counts) -> Counts:
        return Counts(*(a + b for a, b in zip(self.values(), other.values(), strict=True)))

    def values(self) -> tuple[int, ...]:
        return (self.accepted, self.delivered, self.retried, self.dead_lettered, self.dropped,
                self.queued)  # fmt: skip


@dataclass(frozen=True)
class EventingCounts:
    """The figures of one namespace, by Broker and by Trigger name."""

    brokers: Mapping[str, int]
    triggers: Mapping[str, Counts]

    def trigger(self, name: str) -> Counts:
        return self.triggers.get(name, Counts())

    def broker(self, name: str, triggers: Iterable[str]) -> Counts:
        total = sum((self.trigger(each) for each in triggers), Counts())
        return Counts(self.brokers.get(name, 0), *total.values()[1:])


def parse(text: str, namespace: str) -> EventingCounts:
    """The eventing figures of ``namespace`` in a Prometheus text exposition."""
    brokers: dict[str, int] = {}
    fields: dict[str, dict[str, int]] = defaultdict(dict)
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            labels = sample.labels
            if labels.get("namespace") != namespace:
                continue
            value = int(sample.value)
            if sample.name == "unkai_broker_events_accepted_total":
                brokers[labels["broker"]] = value
            elif sample.name == "unkai_trigger_events_total":
                if labels["outcome"] in _OUTCOMES:
                    fields[labels["trigger"]][labels["outcome"]] = value
            elif sample.name == "unkai_trigger_retries_total":
                fields[labels["trigger"]]["retried"] = value
            elif sample.name == "unkai_trigger_queue_depth":
                fields[labels["trigger"]]["queued"] = value
    return EventingCounts(brokers, {name: Counts(**found) for name, found in fields.items()})


def read(config: SingleConfig, namespace: str) -> EventingCounts | None:
    """The figures of ``namespace`` from the target's ``/metrics``, or ``None`` where
    the target does not serve Unkai's (a cluster) or this user may not read them."""
    try:
        with uploads.http_client(config) as client:
            response = client.get("/metrics")
    except httpx2.TransportError:
        return None
    if response.status_code != 200:
        return None
    return parse(response.text, namespace)
