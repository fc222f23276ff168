"""Configuration: stamp out a Revision per template change, and track readiness.

Every change to ``spec.template`` bumps the Configuration's ``metadata.generation`` (the
store does that, and only for spec changes), and each generation gets its own Revision
``{configuration}-{generation:05d}``, or the template's own (BYO) name. Changing only
the Configuration's own labels or annotations changes no generation and makes no
Revision. ``Ready`` follows the latest created Revision; once that one is ready it is
also the latest ready one, whatever its generation (rolling back to an earlier BYO name
reuses that Revision when its spec is the template's, as Knative does, and fails with
``already exists`` when it is not). While it is not ready, ``latestReadyRevisionName``
is the newest ready Revision no older than the current one.
"""

from __future__ import annotations

import copy
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime

from unkai.api import kinds
from unkai.api.knative import metadata as labels
from unkai.api.knative import userinfo
from unkai.api.knative.names import child_name
from unkai.api.knative.types import (
    Configuration,
    ConfigurationStatus,
    Revision,
    RevisionTemplate,
)
from unkai.platform.controllers import conditions, objects
from unkai.platform.controllers.conditions import Condition

REVISION_FAILED = "RevisionFailed"


@dataclass(frozen=True)
class ConfigurationDecision:
    """A Revision to create (if the current generation has none yet) and the new status."""

    revision: Revision | None
    status: ConfigurationStatus


def _template(configuration: Configuration) -> RevisionTemplate:
    return configuration.get("spec", {}).get("template", {})


def revision_name(configuration: Configuration) -> str:
    """The Revision that belongs to the Configuration's current generation."""
    byo = _template(configuration).get("metadata", {}).get("name")
    if byo:
        return byo
    return child_name(objects.name(configuration), f"-{objects.generation(configuration):05d}")


def make_revision(configuration: Configuration) -> Revision:
    """The Revision for the current template: template metadata and spec, our labels,
    and as its creator the Configuration's last modifier."""
    template = copy.deepcopy(_template(configuration))
    meta = template.get("metadata", {})
    config_meta = objects.meta(configuration)
    meta.pop("generateName", None)
    meta["name"] = revision_name(configuration)
    meta["namespace"] = objects.namespace(configuration)
    revision_labels = dict(meta.get("labels", {}))
    revision_labels[labels.CONFIGURATION_LABEL] = objects.name(configuration)
    revision_labels[labels.CONFIGURATION_GENERATION_LABEL] = str(objects.generation(configuration))
    if uid := config_meta.get("uid"):
        revision_labels[labels.CONFIGURATION_UID_LABEL] = uid
    for key in (labels.SERVICE_LABEL, labels.SERVICE_UID_LABEL):
        if value := config_meta.get("labels", {}).get(key):
            revision_labels[key] = value
    meta["labels"] = revision_labels
    if modifier := config_meta.get("annotations", {}).get(userinfo.LAST_MODIFIER):
        # Knative: the Revision's creator is who last changed the Configuration.
        meta["annotations"] = {**meta.get("annotations", {}), userinfo.CREATOR: modifier}
    meta["ownerReferences"] = [objects.owner_reference(configuration)]
    return {
        "apiVersion": kinds.REVISION.api_version,
        "kind": kinds.REVISION.kind,
        "metadata": meta,
        "spec": template.get("spec", {}),
    }


def reconcile_configuration(
    configuration: Configuration, *, revisions: Iterable[Revision], now: datetime
) -> ConfigurationDecision:
    """Decide from the Configuration and the Revisions in its namespace."""
    by_name = {objects.name(revision): revision for revision in revisions}
    owned = [r for r in by_name.values() if objects.is_controlled_by(r, configuration)]
    wanted_name = revision_name(configuration)
    latest = by_name.get(wanted_name)
    to_create = None
    if latest is None:
        to_create = make_revision(configuration)
        ready = Condition(conditions.READY, "Unknown")
    elif not objects.is_controlled_by(latest, configuration):
        message = (
            f'Revision creation failed with message: revision "{wanted_name}" already exists '
            "and is not owned by this Configuration."
        )
        ready = Condition(conditions.READY, "False", REVISION_FAILED, message)
    elif latest.get("spec") != _template(configuration).get("spec", {}):
        message = (
            "Revision creation failed with message: "
            f'{kinds.REVISION.group_resource} "{wanted_name}" already exists'
        )
        ready = Condition(conditions.READY, "False", REVISION_FAILED, message)
    else:
        ready = _latest_created_ready(latest)
    old = configuration.get("status", {})
    if ready.status == "True":
        latest_ready = wanted_name
    else:
        latest_ready = _latest_ready(owned, current=old.get("latestReadyRevisionName", ""))
    status = copy.copy(old)
    status["observedGeneration"] = objects.generation(configuration)
    status["latestCreatedRevisionName"] = wanted_name
    if latest_ready:
        status["latestReadyRevisionName"] = latest_ready
    else:
        status.pop("latestReadyRevisionName", None)
    status["conditions"] = conditions.merge(old.get("conditions", []), [ready], now=now)
    return ConfigurationDecision(revision=to_create, status=status)


def _latest_created_ready(revision: Revision) -> Condition:
    observed = conditions.find(revision.get("status"), conditions.READY)
    if observed is None or observed.status == "Unknown":
        return Condition(conditions.READY, "Unknown")
    if observed.status == "False":
        message = f'Revision "{objects.name(revision)}" failed with message: {observed.message}.'
        return Condition(conditions.READY, "False", REVISION_FAILED, message)
    return Condition(conditions.READY, "True")


def _generation_of(revision: Revision) -> int:
    value = objects.meta(revision).get("labels", {}).get(labels.CONFIGURATION_GENERATION_LABEL, "")
    return int(value) if value.isdigit() else 0


def _latest_ready(owned: list[Revision], *, current: str) -> str:
    """Newest ready Revision no older than the current latest ready one (which stays
    latest ready when nothing newer is ready)."""
    floor = next((_generation_of(r) for r in owned if objects.name(r) == current), 0)
    ready = [
        revision
        for revision in owned
        if _generation_of(revision) >= floor
        and (found := conditions.find(revision.get("status"), conditions.READY))
        and found.status == "True"
    ]
    if ready:
        return objects.name(max(ready, key=_generation_of))
    return current if floor else ""
