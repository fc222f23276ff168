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
from dataclasses import dataclass, field
from datetime import datetime

from unkai.api import kinds
from unkai.api.knative.clusterconfig import NetworkConfig
from unkai.api.knative.durations import parse_go_duration
from unkai.api.knative.metadata import (
    CLUSTER_LOCAL,
    CONFIGURATION_LABEL,
    ROLLOUT_DURATION_ANNOTATION,
    VISIBILITY_LABEL,
)
from unkai.api.knative.types import Configuration, Revision, Route, RouteStatus, TrafficTarget
from unkai.api.objects import Condition as StoredCondition
from unkai.errors import UserError
from unkai.platform.contracts import RoutingTable, Status
from unkai.platform.controllers import conditions, objects, rollout
from unkai.platform.controllers.conditions import Condition

CLUSTER_DOMAIN = "svc.cluster.local"
RolloutKey = tuple[str, str]
"""A configuration target of a Route: its tag (``""`` for none) and configuration."""
ROLLOUT_IN_PROGRESS = "RolloutInProgress"
ROLLOUT_MESSAGE = "A gradual rollout of the latest revision(s) is in progress."
ALL_TRAFFIC_ASSIGNED = "AllTrafficAssigned"
INGRESS_READY = "IngressReady"
CERTIFICATE_PROVISIONED = "CertificateProvisioned"
REVISION_MISSING = "RevisionMissing"


@dataclass(frozen=True)
class Network:
    """Where routes are published: ``http://{host}[:port]``, the host made by
    ``config-network``'s templates (``{name}.{namespace}.{domain}`` by default), or
    ``http://{name}.{namespace}.svc.cluster.local`` for a cluster-local Route. Every
    route and tag also has that cluster-local name (its ``status.address``), reached
    through the gateway's internal listener, whatever its port."""

    domain: str = "localhost"
    port: int = 80
    config: NetworkConfig = field(default_factory=NetworkConfig)

    def host(self, route: Route, tag: str = "") -> str:
        """The host of ``route`` (of its ``tag``): as Knative, a tag's label from the tag
        template takes the route's name's place in the domain template."""
        if cluster_local(route):
            return self.internal_host(route, tag)
        metadata = route["metadata"]
        values = {
            "Name": self._label(route, tag),
            "Namespace": objects.namespace(route),
            "Domain": self.domain,
        }
        return self.config.domain_template.render(
            values, annotations=metadata.get("annotations"), labels=metadata.get("labels")
        )

    def internal_host(self, route: Route, tag: str = "") -> str:
        """The cluster-local name of ``route`` (of its ``tag``), whatever its visibility:
        Knative gives a Route a Kubernetes Service of its name, and each tag one named by
        the tag template (``{tag}-{name}``), so both answer at
        ``{service}.{namespace}.svc.cluster.local`` inside the cluster."""
        return f"{self._label(route, tag)}.{objects.namespace(route)}.{CLUSTER_DOMAIN}"

    def _label(self, route: Route, tag: str) -> str:
        name = objects.name(route)
        return self.config.tag_template.render({"Name": name, "Tag": tag}) if tag else name

    def url(self, host: str) -> str:
        if self.port == 80 or host.endswith("." + CLUSTER_DOMAIN):
            return f"http://{host}"
        return f"http://{host}:{self.port}"


def cluster_local(route: Route) -> bool:
    """``networking.knative.dev/visibility: cluster-local`` (a Service's label is its
    Route's too)."""
    return (route["metadata"].get("labels") or {}).get(VISIBILITY_LABEL) == CLUSTER_LOCAL


def internal_names(full: str, host: str) -> tuple[str, ...]:
    """The names a Route (or tag) answers to inside the platform besides its ``host``, as
    its Kubernetes Service would: ``full`` (``{service}.{namespace}.svc.cluster.local``)
    and its short form ``….svc``."""
    short = full.removesuffix(".cluster.local")
    return tuple(name for name in (full, short) if name != host)


@dataclass(frozen=True)
class RouteDecision:
    """The Route's new status and, when every target resolved, its routing table."""

    status: RouteStatus
    table: RoutingTable | None
    timings: Mapping[RolloutKey, rollout.Timing] = field(default_factory=dict)
    """The step timing of each rollout still under way, for the next reconcile."""
    next_step: float | None = None
    """When (``now.timestamp()`` seconds) the next rollout step is due, if one is."""


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
    timings: Mapping[RolloutKey, rollout.Timing] | None = None,
) -> RouteDecision:
    """Decide from the Route, the Configurations and Revisions of its namespace (by
    name), the table the gateway currently applies for it and the timing of its
    rollouts under way (:mod:`.rollout`)."""
    old = route.get("status", {})
    host = network.host(route)
    status = copy.copy(old)
    status["observedGeneration"] = objects.generation(route)
    status["url"] = network.url(host)
    # Knative: the address is always the cluster-local one, public routes' too (the URL
    # callers inside use); ``url`` is where the route is published.
    status["address"] = {"url": network.url(network.internal_host(route))}
    spec_traffic = route.get("spec", {}).get("traffic", [])
    try:
        traffic = [_resolve(target, configurations, revisions) for target in spec_traffic]
    except _UnassignedError as unassigned:
        ingress = conditions.find(old, INGRESS_READY) or _ingress_not_configured()
        wanted = [unassigned.condition, ingress, _certificate()]
        status["conditions"] = _with_ready(old, wanted, now=now)
        return RouteDecision(status=status, table=None)
    moment = now.timestamp()
    rollouts: dict[RolloutKey, rollout.Rollout] = {}
    if (duration := rollout_duration(route, network)) > 0:
        traffic, rollouts = _roll(
            spec_traffic, traffic, old.get("traffic", []), revisions, timings or {}, moment
        )
    for target in traffic:
        if tag := target.get("tag"):
            target["url"] = network.url(network.host(route, tag))
    table = _table(host, traffic, route=route, network=network)
    status["traffic"] = traffic
    ingress = Condition.true(INGRESS_READY) if programmed == table else _ingress_not_configured()
    if programmed == table:
        rollouts = {
            key: rollout.observe_ready(ro, duration=duration, now=moment)
            for key, ro in rollouts.items()
        }
        if not all(ro.done for ro in rollouts.values()):
            ingress = Condition(INGRESS_READY, "Unknown", ROLLOUT_IN_PROGRESS, ROLLOUT_MESSAGE)
    wanted = [Condition.true(ALL_TRAFFIC_ASSIGNED), ingress, _certificate()]
    status["conditions"] = _with_ready(old, wanted, now=now)
    timings = {key: ro.timing for key, ro in rollouts.items() if ro.timing and not ro.done}
    due = [timing.next_step for timing in timings.values() if timing.next_step]
    return RouteDecision(status, table, timings, min(due) if due else None)


def rollout_duration(route: Route, network: Network) -> float:
    """Seconds of a gradual rollout: the Route's annotation, else ``config-network``'s."""
    annotations = route["metadata"].get("annotations") or {}
    text = annotations.get(ROLLOUT_DURATION_ANNOTATION)
    if text is None:
        return float(network.config.rollout_duration)
    try:
        return parse_go_duration(text).total_seconds()
    except ValueError:  # refused at admission; one stored before is taken as none
        return 0.0


def _roll(
    spec_traffic: list[TrafficTarget],
    traffic: list[TrafficTarget],
    old_traffic: list[TrafficTarget],
    revisions: Mapping[str, Revision],
    timings: Mapping[RolloutKey, rollout.Timing],
    now: float,
) -> tuple[list[TrafficTarget], dict[RolloutKey, rollout.Rollout]]:
    """Status traffic with each configuration target expanded into its rollout's
    shares (older revisions first, the tag on the newest), and those rollouts. The
    previous shares are read back from the old ``status.traffic``."""
    out: list[TrafficTarget] = []
    rollouts: dict[RolloutKey, rollout.Rollout] = {}
    for target, resolved in zip(spec_traffic, traffic, strict=True):
        config = target.get("configurationName", "")
        if target.get("revisionName") or not config:
            out.append(resolved)
            continue
        tag = target.get("tag", "")
        before = tuple(
            (name, entry.get("percent") or 0)
            for entry in old_traffic
            if entry.get("latestRevision")
            and entry.get("tag", "") in ("", tag)
            and (name := entry.get("revisionName", "")) in revisions
            and (revisions[name]["metadata"].get("labels") or {}).get(CONFIGURATION_LABEL) == config
        )
        previous = rollout.Rollout(sum(p for _, p in before), before, timings.get((tag, config)))
        ro = rollout.step(
            previous, latest=resolved["revisionName"], percent=resolved["percent"], now=now
        )
        rollouts[(tag, config)] = ro
        *older, (newest, share) = ro.shares or ((resolved["revisionName"], 0),)
        out += [{"revisionName": n, "latestRevision": True, "percent": p} for n, p in older]
        out.append({**resolved, "revisionName": newest, "percent": share})
    return out, rollouts


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
    host: str, traffic: list[TrafficTarget], *, route: Route, network: Network
) -> RoutingTable:
    """The split by revision (targets naming one revision add up), the tags' hosts and
    everyone's cluster-local names."""
    shares: dict[str, int] = {}
    tags = {}
    tag_aliases = {}
    for target in traffic:
        revision = target.get("revisionName", "")
        if percent := target.get("percent", 0):
            shares[revision] = shares.get(revision, 0) + percent
        if tag := target.get("tag"):
            tag_host = network.host(route, tag)
            tags[tag_host] = revision
            names = internal_names(network.internal_host(route, tag), tag_host)
            tag_aliases.update(dict.fromkeys(names, revision))
    return RoutingTable(
        host=host,
        split=tuple(shares.items()),
        tags=tags,
        aliases=internal_names(network.internal_host(route), host),
        tag_aliases=tag_aliases,
        public=not cluster_local(route),
    )


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
