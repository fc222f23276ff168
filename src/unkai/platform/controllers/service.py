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
from typing import Any

from unkai.api.knative import metadata as labels
from unkai.platform.controllers import conditions, objects
from unkai.platform.controllers.conditions import Condition

CONFIGURATIONS_READY = "ConfigurationsReady"
ROUTES_READY = "RoutesReady"
NOT_OWNED = "NotOwned"
LAST_APPLIED = "kubectl.kubernetes.io/last-applied-configuration"
_CONFIGURATION_FIELDS = ("latestCreatedRevisionName", "latestReadyRevisionName")
_ROUTE_FIELDS = ("url", "address", "traffic")


@dataclass(frozen=True)
class ServiceDecision:
    """Children to create or update (``None``: leave as they are) and the new status."""

    configuration: dict[str, Any] | None
    route: dict[str, Any] | None
    status: dict[str, Any]


def _child(service: dict[str, Any], kind: str, spec: dict[str, Any]) -> dict[str, Any]:
    """A child named after ``service``, owned by it, carrying its labels and annotations
    (but not kubectl's last-applied copy of the Service)."""
    meta = objects.meta(service)
    child_labels = dict(meta.get("labels") or {})
    child_labels[labels.SERVICE_LABEL] = objects.name(service)
    if kind == "Configuration" and (uid := meta.get("uid")):
        # Revisions inherit it; Knative's Route admission does not allow it on Routes.
        child_labels[labels.SERVICE_UID_LABEL] = str(uid)
    annotations = {k: v for k, v in (meta.get("annotations") or {}).items() if k != LAST_APPLIED}
    child_meta: dict[str, Any] = {
        "name": objects.name(service),
        "namespace": objects.namespace(service),
        "labels": child_labels,
        "ownerReferences": [objects.owner_reference(service)],
    }
    if annotations:
        child_meta["annotations"] = annotations
    return {
        "apiVersion": "serving.knative.dev/v1",
        "kind": kind,
        "metadata": child_meta,
        "spec": spec,
    }


def make_configuration(service: dict[str, Any]) -> dict[str, Any]:
    """The Configuration a Service wants: its template, its labels plus ours."""
    spec = objects.section(service, "spec")
    return _child(service, "Configuration", {"template": copy.deepcopy(spec.get("template", {}))})


def make_route(service: dict[str, Any]) -> dict[str, Any]:
    """The Route a Service wants: its traffic, bound to its Configuration."""
    traffic = copy.deepcopy(objects.section(service, "spec").get("traffic") or [])
    for target in traffic:
        if isinstance(target, dict) and not target.get("revisionName"):
            target["configurationName"] = objects.name(service)
    return _child(service, "Route", {"traffic": traffic})


def reconcile_service(
    service: dict[str, Any],
    *,
    configuration: dict[str, Any] | None,
    route: dict[str, Any] | None,
    now: datetime,
) -> ServiceDecision:
    """Decide from the Service and its observed children (``None`` when absent)."""
    want_config, config_ready = _reconcile_child(
        service, configuration, make_configuration(service), CONFIGURATIONS_READY
    )
    old = objects.section(service, "status")
    if config_ready.reason == NOT_OWNED:  # Knative stops here: no Route, nothing served
        configuration = route = want_route = None
        route_ready = conditions.find(old, ROUTES_READY) or Condition(ROUTES_READY, "Unknown")
    else:
        want_route, route_ready = _reconcile_child(
            service, route, make_route(service), ROUTES_READY
        )
        if route_ready.reason == NOT_OWNED:
            route = None
    status = {key: value for key, value in old.items() if key != "conditions"}
    status["observedGeneration"] = objects.generation(service)
    for child, fields in ((configuration, _CONFIGURATION_FIELDS), (route, _ROUTE_FIELDS)):
        child_status = objects.section(child, "status")
        for key in fields:
            if key in child_status:
                status[key] = copy.deepcopy(child_status[key])
            else:
                status.pop(key, None)
    if route_ready.status == "True" and configuration and route:
        route_ready = _route_caught_up(configuration, route)
    wanted = [config_ready, route_ready]
    status["conditions"] = conditions.merge(
        conditions.previous(old), [*wanted, conditions.ready(wanted)], now=now
    )
    return ServiceDecision(configuration=want_config, route=want_route, status=status)


def _reconcile_child(
    service: dict[str, Any], existing: dict[str, Any] | None, desired: dict[str, Any], type_: str
) -> tuple[dict[str, Any] | None, Condition]:
    """What to write for one child, and the Service condition that reflects it."""
    kind = desired["kind"]
    if existing is None:
        return desired, Condition(type_, "Unknown")
    if not objects.is_controlled_by(existing, service):
        message = f'There is an existing {kind} "{objects.name(existing)}" that we do not own.'
        return None, Condition(type_, "False", NOT_OWNED, message)
    update = objects.update_for(existing, desired)
    child_status = objects.section(existing, "status")
    new_spec = update is not None and update.get("spec") != existing.get("spec")
    if new_spec or child_status.get("observedGeneration") != objects.generation(existing):
        # Only a new spec is a new generation; new labels or annotations are not.
        message = f"The {kind} is still working to reflect the latest desired specification."
        return update, Condition(type_, "Unknown", "OutOfDate", message)
    observed = conditions.find(child_status, conditions.READY)
    if observed is None:
        return update, Condition(type_, "Unknown")
    return update, Condition(type_, observed.status, observed.reason, observed.message)


def _route_caught_up(configuration: dict[str, Any], route: dict[str, Any]) -> Condition:
    """RoutesReady only once the Route serves the Configuration's latest ready Revision
    (Knative's ``checkRoutesNotReady``): a ready Route may lag a new Revision."""
    latest_ready = objects.section(configuration, "status").get("latestReadyRevisionName")
    want = []
    for target in objects.section(route, "spec").get("traffic") or []:
        revision = target.get("revisionName")
        if target.get("configurationName") == objects.name(configuration):
            revision = latest_ready
        want.append((target.get("tag"), revision, target.get("percent") or 0))
    got = [
        (target.get("tag"), target.get("revisionName"), target.get("percent") or 0)
        for target in objects.section(route, "status").get("traffic") or []
    ]
    if want == got:
        return Condition(ROUTES_READY, "True")
    return Condition(ROUTES_READY, "Unknown", "RouteNotYetReady", "Waiting for Route to be ready")
