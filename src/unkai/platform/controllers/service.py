"""Service: own a Configuration and a Route of the same name; summarise their status.

:func:`make_configuration` and :func:`make_route` are Knative's pure builders: the
Service's template becomes the Configuration's spec, its traffic becomes the Route's,
with targets that name no revision bound to the Service's Configuration. The Service
status inlines both children's status fields and reports ``ConfigurationsReady`` and
``RoutesReady``, whose worst state becomes ``Ready``.
"""

from __future__ import annotations

import copy
from dataclasses import dataclass
from datetime import datetime
from typing import Literal

from unkai.api import kinds
from unkai.api.knative import metadata as labels
from unkai.api.knative.types import (
    Configuration,
    ConfigurationSpec,
    Route,
    RouteSpec,
    Service,
    ServiceStatus,
)
from unkai.api.objects import ObjectMeta
from unkai.platform.controllers import conditions, objects
from unkai.platform.controllers.conditions import Condition
from unkai.platform.controllers.objects import Child

CONFIGURATIONS_READY = "ConfigurationsReady"
ROUTES_READY = "RoutesReady"
NOT_OWNED = "NotOwned"
LAST_APPLIED = "kubectl.kubernetes.io/last-applied-configuration"
_REVISION_NAMES: tuple[Literal["latestCreatedRevisionName", "latestReadyRevisionName"], ...] = (
    "latestCreatedRevisionName",
    "latestReadyRevisionName",
)
_ROUTE_FIELDS: tuple[Literal["url", "address", "traffic"], ...] = ("url", "address", "traffic")


@dataclass(frozen=True)
class ServiceDecision:
    """Children to create or update (``None``: leave as they are) and the new status."""

    configuration: Configuration | None
    route: Route | None
    status: ServiceStatus


def _child_meta(service: Service, kind: kinds.Kind) -> ObjectMeta:
    """A child named after ``service``, owned by it, carrying its labels and annotations
    (but not kubectl's last-applied copy of the Service)."""
    meta = objects.meta(service)
    child_labels = dict(meta.get("labels", {}))
    child_labels[labels.SERVICE_LABEL] = objects.name(service)
    if kind == kinds.CONFIGURATION and (uid := meta.get("uid")):
        # Revisions inherit it; Knative's Route admission does not allow it on Routes.
        child_labels[labels.SERVICE_UID_LABEL] = uid
    annotations = {k: v for k, v in meta.get("annotations", {}).items() if k != LAST_APPLIED}
    child_meta: ObjectMeta = {
        "name": objects.name(service),
        "namespace": objects.namespace(service),
        "labels": child_labels,
        "ownerReferences": [objects.owner_reference(service)],
    }
    if annotations:
        child_meta["annotations"] = annotations
    return child_meta


def make_configuration(service: Service) -> Configuration:
    """The Configuration a Service wants: its template, its labels plus ours."""
    spec: ConfigurationSpec = {
        "template": copy.deepcopy(service.get("spec", {}).get("template", {}))
    }
    return {
        "apiVersion": kinds.CONFIGURATION.api_version,
        "kind": kinds.CONFIGURATION.kind,
        "metadata": _child_meta(service, kinds.CONFIGURATION),
        "spec": spec,
    }


def make_route(service: Service) -> Route:
    """The Route a Service wants: its traffic, bound to its Configuration."""
    traffic = copy.deepcopy(service.get("spec", {}).get("traffic", []))
    for target in traffic:
        if not target.get("revisionName"):
            target["configurationName"] = objects.name(service)
    spec: RouteSpec = {"traffic": traffic}
    return {
        "apiVersion": kinds.ROUTE.api_version,
        "kind": kinds.ROUTE.kind,
        "metadata": _child_meta(service, kinds.ROUTE),
        "spec": spec,
    }


def reconcile_service(
    service: Service,
    *,
    configuration: Configuration | None,
    route: Route | None,
    now: datetime,
) -> ServiceDecision:
    """Decide from the Service and its observed children (``None`` when absent)."""
    want_config, config_ready = _reconcile_child(
        service, configuration, make_configuration(service), CONFIGURATIONS_READY
    )
    old = service.get("status", {})
    want_route: Route | None
    if config_ready.reason == NOT_OWNED:  # Knative stops here: no Route, nothing served
        configuration = route = want_route = None
        route_ready = conditions.find(old, ROUTES_READY) or Condition(ROUTES_READY, "Unknown")
    else:
        want_route, route_ready = _reconcile_child(
            service, route, make_route(service), ROUTES_READY
        )
        if route_ready.reason == NOT_OWNED:
            route = None
    status = _inline_children(old, configuration, route)
    status["observedGeneration"] = objects.generation(service)
    if route_ready.status == "True" and configuration and route:
        route_ready = _route_caught_up(configuration, route)
    wanted = [config_ready, route_ready]
    status["conditions"] = conditions.merge(
        old.get("conditions", []), [*wanted, conditions.ready(wanted)], now=now
    )
    return ServiceDecision(configuration=want_config, route=want_route, status=status)


def _inline_children(
    old: ServiceStatus, configuration: Configuration | None, route: Route | None
) -> ServiceStatus:
    """The Service's previous status with its children's fields inlined; a field the
    child lacks, or whose child is not ours (``None``), is dropped."""
    status = copy.copy(old)
    for key in _ROUTE_FIELDS:
        status.pop(key, None)
    config_status = configuration.get("status", {}) if configuration else {}
    for name in _REVISION_NAMES:
        if name in config_status:
            status[name] = config_status[name]
        else:
            status.pop(name, None)
    route_status = copy.deepcopy(route.get("status", {})) if route else {}
    if "url" in route_status:
        status["url"] = route_status["url"]
    if "address" in route_status:
        status["address"] = route_status["address"]
    if "traffic" in route_status:
        status["traffic"] = route_status["traffic"]
    return status


def _reconcile_child(
    service: Service, existing: Child | None, desired: Child, type_: str
) -> tuple[Child | None, Condition]:
    """What to write for one child, and the Service condition that reflects it."""
    kind = desired.get("kind", "")
    if existing is None:
        return desired, Condition(type_, "Unknown")
    if not objects.is_controlled_by(existing, service):
        message = f'There is an existing {kind} "{objects.name(existing)}" that we do not own.'
        return None, Condition(type_, "False", NOT_OWNED, message)
    update = objects.update_for(existing, desired)
    child_status = existing.get("status", {})
    new_spec = update is not None and update.get("spec") != existing.get("spec")
    if new_spec or child_status.get("observedGeneration") != objects.generation(existing):
        # Only a new spec is a new generation; new labels or annotations are not.
        message = f"The {kind} is still working to reflect the latest desired specification."
        return update, Condition(type_, "Unknown", "OutOfDate", message)
    observed = conditions.find(child_status, conditions.READY)
    if observed is None:
        return update, Condition(type_, "Unknown")
    return update, Condition(type_, observed.status, observed.reason, observed.message)


def _route_caught_up(configuration: Configuration, route: Route) -> Condition:
    """RoutesReady only once the Route serves the Configuration's latest ready Revision
    (Knative's ``checkRoutesNotReady``): a ready Route may lag a new Revision."""
    latest_ready = configuration.get("status", {}).get("latestReadyRevisionName")
    want = []
    for target in route.get("spec", {}).get("traffic", []):
        revision = target.get("revisionName")
        if target.get("configurationName") == objects.name(configuration):
            revision = latest_ready
        want.append((target.get("tag"), revision, target.get("percent") or 0))
    got = [
        (target.get("tag"), target.get("revisionName"), target.get("percent") or 0)
        for target in route.get("status", {}).get("traffic", [])
    ]
    if want == got:
        return Condition(ROUTES_READY, "True")
    return Condition(ROUTES_READY, "Unknown", "RouteNotYetReady", "Waiting for Route to be ready")
