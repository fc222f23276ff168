"""Revision status from what the data plane reports about a revision.

The data plane (runners, autoscaler, gateway) is the only thing that knows whether a
revision's instances start and serve. It answers one question through
:class:`RevisionReadiness`; :func:`revision_status` folds the answer into the
Revision's status. ``Ready`` follows ``ResourcesAvailable`` and ``ContainerHealthy``, as
in Knative; ``Active`` (receiving traffic or not) is informational. Until the data plane
reports, everything is ``Unknown`` with reason ``Deploying``.

Images named by a tag are pinned first, as Knative's reconciler does: the digest the
registry gives at creation goes to ``status.containerStatuses[].imageDigest``
(:func:`digest_wanted`, :func:`with_digest`) and is what runs (:func:`image_to_run`),
so a later push to the tag does not change a revision. While the registry is asked
(in the background, :mod:`.digests`) the revision is ``Unknown`` (:func:`resolving`);
one that cannot be resolved fails with Knative's ``ContainerMissing``
(:func:`missing_image`) and keeps it while it is tried again.
"""

from __future__ import annotations

import copy
from collections.abc import Mapping
from datetime import datetime
from typing import Any, cast

from unkai.api.knative.types import ContainerStatus, Revision, RevisionStatus
from unkai.platform.contracts import DEPLOYING, Report, RevisionHealth, RevisionReadiness, Status
from unkai.platform.controllers import conditions, objects
from unkai.platform.controllers.conditions import Condition

CONTAINER_MISSING = "ContainerMissing"
RESOURCES_AVAILABLE = "ResourcesAvailable"
CONTAINER_HEALTHY = "ContainerHealthy"
ACTIVE = "Active"


def revision_status(
    revision: Revision, *, health: RevisionHealth | None, now: datetime
) -> RevisionStatus:
    """The Revision's status given the data plane's report (or its absence)."""
    if health is None:
        health = RevisionHealth(resources_available=DEPLOYING, container_healthy=DEPLOYING)
    dependents = [
        Condition(RESOURCES_AVAILABLE, *_fields(health.resources_available)),
        Condition(CONTAINER_HEALTHY, *_fields(health.container_healthy)),
    ]
    wanted = [*dependents, conditions.ready(dependents)]
    if health.active is not None:
        wanted.append(Condition(ACTIVE, *_fields(health.active), severity=conditions.INFO))
    old = revision.get("status", {})
    status = copy.copy(old)
    status["observedGeneration"] = objects.generation(revision)
    status["conditions"] = conditions.merge(old.get("conditions", []), wanted, now=now)
    status.pop("actualReplicas", None)
    status.pop("desiredReplicas", None)
    if health.actual_replicas is not None:
        status["actualReplicas"] = health.actual_replicas
    if health.desired_replicas is not None:
        status["desiredReplicas"] = health.desired_replicas
    if digests := _digests(revision):
        status["containerStatuses"] = digests
    return status


def _digests(revision: Revision) -> list[ContainerStatus]:
    """``containerStatuses[].imageDigest``: the digest an image pins (a bundle's reference
    always does), else the one its tag was resolved to (kept as it was)."""
    resolved = (revision.get("status") or {}).get("containerStatuses") or []
    found: list[ContainerStatus] = []
    for container in revision.get("spec", {}).get("containers", []):
        image = container.get("image", "")
        name = container.get("name") or "user-container"
        if "@sha256:" in image:
            found.append({"name": name, "imageDigest": image})
        else:
            found += [entry for entry in resolved if entry.get("name") == name]
    return found


def digest_wanted(revision: Revision) -> str | None:
    """The image of the revision's container whose tag has yet to be resolved."""
    image = str(_container(revision).get("image", ""))
    if "@sha256:" in image or (revision.get("status") or {}).get("containerStatuses"):
        return None
    return image


def with_digest(revision: Revision, digest: str) -> Revision:
    """``revision`` with its container's tag resolved to ``digest`` (``""``: a registry
    whose tags are not resolved, which runs the tag)."""
    entry: ContainerStatus = {"name": _container(revision).get("name") or "user-container"}
    if digest:
        entry["imageDigest"] = digest
    status = {**(revision.get("status") or {}), "containerStatuses": [entry]}
    return cast(Revision, {**revision, "status": status})


def image_to_run(revision: Mapping[str, Any]) -> str | None:
    """What the data plane runs: a pinned image as it is, a tag as it was resolved;
    ``None`` while the tag waits to be resolved."""
    image = str(_container(revision).get("image", ""))
    if "@sha256:" in image:
        return image
    resolved = (revision.get("status") or {}).get("containerStatuses") or []
    if not resolved:
        return None
    return resolved[0].get("imageDigest") or image


def missing_image(revision: Revision, why: str, *, now: datetime) -> RevisionStatus:
    """The status of a revision whose tag could not be resolved, in Knative's words."""
    image = _container(revision).get("image", "")
    message = f'Unable to fetch image "{image}": failed to resolve image to digest: {why}'
    health = RevisionHealth(
        resources_available=DEPLOYING,
        container_healthy=Report("False", CONTAINER_MISSING, message),
    )
    return revision_status(revision, health=health, now=now)


def resolving(revision: Revision, image: str, *, now: datetime) -> RevisionStatus:
    """The status of a revision whose tag is being resolved: ``ContainerHealthy`` and
    ``Ready`` Unknown, as Knative leaves them; one that failed to resolve keeps its
    ``ContainerMissing`` while it is tried again, so it does not flap to Unknown."""
    status = revision.get("status") or {}
    healthy = [c for c in status.get("conditions", []) if c["type"] == CONTAINER_HEALTHY]
    if healthy and healthy[0].get("reason") == CONTAINER_MISSING:
        return status
    message = f'Resolving image "{image}" to a digest'
    health = RevisionHealth(
        resources_available=DEPLOYING,
        container_healthy=Report("Unknown", DEPLOYING.reason, message),
    )
    return revision_status(revision, health=health, now=now)


def _container(revision: Mapping[str, Any]) -> Mapping[str, Any]:
    containers = revision.get("spec", {}).get("containers") or [{}]
    return cast(Mapping[str, Any], containers[0])


def reconcile_revision(
    revision: Revision, *, readiness: RevisionReadiness, now: datetime
) -> RevisionStatus:
    """Ask the data plane about ``revision`` and return its new status."""
    health = readiness.health(namespace=objects.namespace(revision), name=objects.name(revision))
    return revision_status(revision, health=health, now=now)


def _fields(report: Report) -> tuple[Status, str, str]:
    return report.status, report.reason, report.message
