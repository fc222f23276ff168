"""Route: resolve traffic targets to Revisions, name the URLs, build the routing table.

Targets that follow a Configuration resolve to its ``latestReadyRevisionName``; pinned
targets stay as written. If any target cannot be served yet (missing, not ready or
failed), ``AllTrafficAssigned`` says which and why, the previous ``status.traffic`` is
kept, and no routing table is produced, so the gateway keeps serving the last good
split. ``IngressReady`` turns True once the gateway reports that it applies exactly the
table computed here (``programmed``).
"""

from __future__ import annotations

import copy
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime

from unkai.api import kinds
from unkai.api.knative.types import Configuration, Revision, Route, RouteStatus, TrafficTarget
from unkai.api.objects import Condition as StoredCondition
from unkai.errors import UserError
from unkai.platform.contracts import RoutingTable, Status
from unkai.platform.controllers import conditions, objects
from unkai.platform.controllers.conditions import Condition

ALL_TRAFFIC_ASSIGNED = "AllTrafficAssigned"
INGRESS_READY = "IngressReady"
CERTIFICATE_PROVISIONED = "CertificateProvisioned"
REVISION_MISSING = "RevisionMissing"


@dataclass(frozen=True)
class Network:
    """Where routes are published: ``http://{name}.{namespace}.{domain}[:port]``."""

    domain: str = "localhost"
    port: int = 80

    def host(self, route: str, namespace: str, tag: str = "") -> str:
        label = f"{tag}-{route}" if tag else route
        return f"{label}.{namespace}.{self.domain}"

    def url(self, host: str) -> str:
        return f"http://{host}" if self.port == 80 else f"http://{host}:{self.port}"


@dataclass(frozen=True)
class RouteDecision:
    """The Route's new status and, when every target resolved, its routing table."""

    status: RouteStatus
    table: RoutingTable | None


class _UnassignedError(UserError):
    def __init__(self, condition: Condition) -> None:
        self.condition = condition


def reconcile_route(
    route: Route,
    *,
    configurations: Mapping[str, Configuration],
    revisions: Mapping[str, Revision],
    network: Network,
    programmed: RoutingTable | None,
    now: datetime,
) -> RouteDecision:
    """Decide from the Route, the Configurations and Revisions of its namespace (by
    name) and the table the gateway currently applies for it."""
    name, namespace = objects.name(route), objects.namespace(route)
    old = route.get("status", {})
    host = network.host(name, namespace)
    status = copy.copy(old)
    status["observedGeneration"] = objects.generation(route)
    status["url"] = network.url(host)
    status["address"] = {"url": network.url(host)}
    try:
        traffic = [
            _resolve(target, configurations, revisions)
            for target in route.get("spec", {}).get("traffic", [])
        ]
    except _UnassignedError as unassigned:
        ingress = conditions.find(old, INGRESS_READY) or _ingress_not_configured()
        wanted = [unassigned.condition, ingress, _certificate()]
        status["conditions"] = _with_ready(old, wanted, now=now)
        return RouteDecision(status=status, table=None)
    for target in traffic:
        if tag := target.get("tag"):
            target["url"] = network.url(network.host(name, namespace, tag))
    table = _table(host, traffic, route=name, namespace=namespace, network=network)
    status["traffic"] = traffic
    ingress = Condition.true(INGRESS_READY) if programmed == table else _ingress_not_configured()
    wanted = [Condition.true(ALL_TRAFFIC_ASSIGNED), ingress, _certificate()]
    status["conditions"] = _with_ready(old, wanted, now=now)
    return RouteDecision(status=status, table=table)


def _resolve(
    target: TrafficTarget,
    configurations: Mapping[str, Configuration],
    revisions: Mapping[str, Revision],
) -> TrafficTarget:
    """A status traffic entry: always ``revisionName`` and ``percent``."""
    revision_name = target.get("revisionName", "")
    config_name = target.get("configurationName", "")
    if not revision_name:
        configuration = configurations.get(config_name)
        if configuration is None:
            raise _UnassignedError(_missing(kinds.CONFIGURATION, config_name))
        config_status = configuration.get("status", {})
        revision_name = config_status.get("latestReadyRevisionName", "")
        if not revision_name:
            failed = (
                conditions.find(config_status, conditions.READY) or _UNKNOWN
            ).status == "False"
            if failed:
                message = f'Configuration "{config_name}" does not have any ready Revision.'
                raise _UnassignedError(_unassigned("False", message))
            message = f'Configuration "{config_name}" is waiting for a Revision to become ready.'
            raise _UnassignedError(_unassigned("Unknown", message))
    revision = revisions.get(revision_name)
    if revision is None:
        raise _UnassignedError(_missing(kinds.REVISION, revision_name))
    ready = conditions.find(revision.get("status"), conditions.READY) or _UNKNOWN
    if ready.status == "False":
        raise _UnassignedError(
            _unassigned("False", f'Revision "{revision_name}" failed to become ready.')
        )
    if ready.status == "Unknown":
        raise _UnassignedError(
            _unassigned("Unknown", f'Revision "{revision_name}" is not yet ready.')
        )
    entry: TrafficTarget = {}
    if tag := target.get("tag"):
        entry["tag"] = tag
    entry["revisionName"] = revision_name
    entry["latestRevision"] = target.get("latestRevision", not target.get("revisionName"))
    entry["percent"] = target.get("percent") or 0
    return entry


def _table(
    host: str, traffic: list[TrafficTarget], *, route: str, namespace: str, network: Network
) -> RoutingTable:
    """The split by revision (targets naming one revision add up) and the tags' hosts."""
    shares: dict[str, int] = {}
    tags = {}
    for target in traffic:
        revision = target.get("revisionName", "")
        if percent := target.get("percent", 0):
            shares[revision] = shares.get(revision, 0) + percent
        if tag := target.get("tag"):
            tags[network.host(route, namespace, tag)] = revision
    return RoutingTable(host=host, split=tuple(shares.items()), tags=tags)


_UNKNOWN = Condition(conditions.READY, "Unknown")


def _missing(kind: kinds.Kind, name: str) -> Condition:
    return _unassigned("False", f'{kind.kind} "{name}" referenced in traffic not found.')


def _unassigned(status: Status, message: str) -> Condition:
    return Condition(ALL_TRAFFIC_ASSIGNED, status, REVISION_MISSING, message)


def _ingress_not_configured() -> Condition:
    return Condition(
        INGRESS_READY, "Unknown", "IngressNotConfigured", "Ingress has not yet been reconciled."
    )


def _certificate() -> Condition:
    # Unkai's gateway serves plain HTTP; Knative reports the same when TLS is off.
    return Condition(
        CERTIFICATE_PROVISIONED, "True", "TLSNotEnabled", "external-domain-tls is not enabled"
    )


def _with_ready(
    old: RouteStatus, wanted: list[Condition], *, now: datetime
) -> list[StoredCondition]:
    return conditions.merge(old.get("conditions", []), [*wanted, conditions.ready(wanted)], now=now)
