"""DomainMapping: a custom host served with its Service's traffic, as a pure decision.

The mapping's name is the host; the gateway serves it with the split of the target
Service's Route (``status.traffic``), so the custom host follows every traffic change
and rollout of the Service. Conditions are Knative's (``domainmapping_lifecycle.go``):
``DomainClaimed`` (one namespace owns a host: the oldest mapping of that name, as
Knative's ClusterDomainClaim first come, first served), ``ReferenceResolved``,
``IngressReady`` (the gateway applies the table), ``CertificateProvisioned`` (plain
HTTP, as for Routes) and ``Ready``.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from unkai.api import kinds
from unkai.platform.contracts import RoutingTable
from unkai.platform.controllers import conditions
from unkai.platform.controllers.conditions import Condition
from unkai.platform.controllers.route import Network

DOMAIN_CLAIMED = "DomainClaimed"
REFERENCE_RESOLVED = "ReferenceResolved"
INGRESS_READY = "IngressReady"
CERTIFICATE_PROVISIONED = "CertificateProvisioned"
NOT_OWNED = Condition(
    DOMAIN_CLAIMED, "False", "DomainClaimNotOwned",
    "The domain name is already in use by another DomainMapping",
)  # fmt: skip
NOT_RECONCILED = "Ingress has not yet been reconciled."
TLS_NOT_ENABLED = Condition(
    CERTIFICATE_PROVISIONED, "True", "TLSNotEnabled", "external-domain-tls is not enabled"
)


@dataclass(frozen=True)
class MappingDecision:
    status: dict[str, Any]
    table: RoutingTable | None


def host_owner(mappings: list[dict[str, Any]]) -> str:
    """The namespace that owns a host, of every mapping named so: the first created."""
    first = min(
        mappings,
        key=lambda dm: (dm["metadata"].get("creationTimestamp", ""), dm["metadata"]["namespace"]),
    )
    return str(first["metadata"]["namespace"])


def reconcile_domain_mapping(
    mapping: dict[str, Any],
    *,
    owned: bool,
    route: dict[str, Any] | None,
    network: Network,
    programmed: RoutingTable | None,
    now: datetime,
) -> MappingDecision:
    """Decide from the mapping, whether its namespace owns the host, the target
    Service's Route (``None`` when there is none) and what the gateway applies."""
    host: str = mapping["metadata"]["name"]
    old = mapping.get("status", {})
    status = {k: v for k, v in old.items() if k not in ("url", "address")}
    status["observedGeneration"] = mapping["metadata"].get("generation", 1)
    table: RoutingTable | None = None
    if not owned:  # the URL is another namespace's
        wanted = [NOT_OWNED, _unknown(REFERENCE_RESOLVED), _unknown(INGRESS_READY)]
    else:
        url = network.url(host)
        status["url"], status["address"] = url, {"url": url}
        reference, table = _resolve(mapping, route, host)
        ingress = (
            Condition.true(INGRESS_READY)
            if table is not None and programmed == table
            else _unknown(INGRESS_READY, "IngressNotConfigured", NOT_RECONCILED)
        )
        wanted = [Condition.true(DOMAIN_CLAIMED), reference, ingress]
    wanted.append(TLS_NOT_ENABLED)
    status["conditions"] = conditions.merge(
        old.get("conditions", []), [*wanted, conditions.ready(wanted)], now=now
    )
    return MappingDecision(status, table)


def _resolve(
    mapping: dict[str, Any], route: dict[str, Any] | None, host: str
) -> tuple[Condition, RoutingTable | None]:
    name = mapping["spec"]["ref"]["name"]
    if route is None:
        message = f'{kinds.SERVICE.group_resource} "{name}" not found'
        return Condition(REFERENCE_RESOLVED, "False", "ResolveFailed", message), None
    shares: dict[str, int] = {}
    for target in route.get("status", {}).get("traffic", []):
        if percent := target.get("percent") or 0:
            revision = target.get("revisionName", "")
            shares[revision] = shares.get(revision, 0) + percent
    if not shares:
        return Condition.true(REFERENCE_RESOLVED), None  # addressable, nothing served yet
    return Condition.true(REFERENCE_RESOLVED), RoutingTable(host, tuple(shares.items()))


def _unknown(type_: str, reason: str = "", message: str = "") -> Condition:
    return Condition(type_, "Unknown", reason, message)
