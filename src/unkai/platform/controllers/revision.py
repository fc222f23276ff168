"""Revision status from what the data plane reports about a revision.

The data plane (runners, autoscaler, gateway) is the only thing that knows whether a
revision's instances start and serve. It answers one question through
:class:`RevisionReadiness`; :func:`revision_status` folds the answer into the
Revision's status. ``Ready`` follows ``ResourcesAvailable`` and ``ContainerHealthy``, as
in Knative; ``Active`` (receiving traffic or not) is informational. Until the data plane
reports, everything is ``Unknown`` with reason ``Deploying``.
"""

from __future__ import annotations

import copy
from datetime import datetime

from unkai.api.knative.types import ContainerStatus, Revision, RevisionStatus
from unkai.platform.contracts import DEPLOYING, Report, RevisionHealth, RevisionReadiness, Status
from unkai.platform.controllers import conditions, objects
from unkai.platform.controllers.conditions import Condition

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
    """``containerStatuses[].imageDigest`` for containers whose image names its digest
    (a bundle's reference always does): Knative resolves a tag to one; Unkai records
    only a digest the reference pins, never one it did not see."""
    found: list[ContainerStatus] = []
    for container in revision.get("spec", {}).get("containers", []):
        image = container.get("image", "")
        if "@sha256:" in image:
            found.append({"name": container.get("name") or "user-container", "imageDigest": image})
    return found


def reconcile_revision(
    revision: Revision, *, readiness: RevisionReadiness, now: datetime
) -> RevisionStatus:
    """Ask the data plane about ``revision`` and return its new status."""
    health = readiness.health(namespace=objects.namespace(revision), name=objects.name(revision))
    return revision_status(revision, health=health, now=now)


def _fields(report: Report) -> tuple[Status, str, str]:
    return report.status, report.reason, report.message
