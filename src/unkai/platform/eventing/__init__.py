"""Eventing's data plane: broker ingress, the durable queue, dispatchers, PingSources.

Built by :func:`build` for ``unkai up``: :class:`~.brokers.Brokers` (programmed by the
eventing controllers, through :class:`~unkai.platform.contracts.EventingPlane`) over an
:class:`~.store.EventStore`, and the :class:`~.ingress.BrokerIngress` the gateway hands
broker requests to. Deliveries go out through the gateway (:mod:`.sender`; in-process for
destinations the platform serves), so a subscriber scaled to zero is woken by its
activator.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from prometheus_client import CollectorRegistry

from unkai.platform.eventing.brokers import Brokers
from unkai.platform.eventing.ingress import BrokerIngress
from unkai.platform.eventing.metrics import EventingMetrics
from unkai.platform.eventing.sender import LocalDoor, Sender

__all__ = ["BrokerIngress", "Brokers", "build"]


def build(
    data_dir: Path,
    *,
    domain: str,
    gateway_host: str,
    gateway_port: Callable[[], int],
    registry: CollectorRegistry | None,
    internal_port: Callable[[], int] | None = None,
    local: Callable[[], LocalDoor] | None = None,
) -> tuple[Brokers, BrokerIngress]:
    """The broker data plane storing under ``data_dir`` and its ingress handler."""
    holder: list[Brokers] = []
    metrics = EventingMetrics(
        registry,
        lambda: holder[0].depths() if holder else {},
        lambda: holder[0].store.commits if holder else 0,
    )
    sender = Sender(
        domain=domain,
        gateway_host=gateway_host,
        gateway_port=gateway_port,
        internal_port=internal_port,
        local=local,
    )
    brokers = Brokers(data_dir / "eventing.db", sender=sender, metrics=metrics)
    holder.append(brokers)
    return brokers, BrokerIngress(brokers, domain=domain)
