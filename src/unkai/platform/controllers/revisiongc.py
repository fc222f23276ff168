"""Revision garbage collection, as Knative's (``pkg/reconciler/gc/v2``), as decisions.

Knative keeps every revision a Route serves and deletes the others once they are
*stale* and there are enough of them, by ``config-gc``:

* a revision is **active** while a Route serves it (its ``serving.knative.dev/routingState``
  label is not ``reserve``), while it is its Configuration's latest ready (or, here,
  latest created) revision, or while it carries ``serving.knative.dev/no-gc: "true"``
  (as an annotation, Knative's key, or a label). Active revisions are never deleted
  and do not count;
* a non-active revision is **stale** when it was created longer ago than
  ``retain-since-create-time`` *and* last active longer ago than
  ``retain-since-last-active-time`` (a ``disabled`` one does not protect; both disabled:
  nothing is stale);
* from the most recently active down, the stale revisions beyond the first
  ``min-non-active-revisions`` go, and so does every non-active one beyond
  ``max-non-active-revisions``, stale or not.

Knative's labeler writes ``routingState`` and the time it changed
(``serving.knative.dev/routingStateModified``) when Routes change; :func:`routing_marks`
decides those writes here, so the last active time survives a restart.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Final

from unkai.api.knative.clusterconfig import GcConfig
from unkai.api.knative.metadata import ROUTING_STATE_LABEL

NO_GC: Final = "serving.knative.dev/no-gc"
ROUTING_STATE_MODIFIED: Final = "serving.knative.dev/routingStateModified"
ACTIVE: Final = "active"
RESERVE: Final = "reserve"


def routing_marks(revision: Mapping[str, Any], *, routed: bool, now: datetime) -> dict[str, Any]:
    """The metadata ``revision`` should have for its routing state (``routed``: a Route
    serves it); the same metadata when nothing changes."""
    metadata = revision["metadata"]
    labels = dict(metadata.get("labels") or {})
    annotations = dict(metadata.get("annotations") or {})
    state = ACTIVE if routed else RESERVE
    if labels.get(ROUTING_STATE_LABEL) != state:
        labels[ROUTING_STATE_LABEL] = state
        annotations[ROUTING_STATE_MODIFIED] = now.strftime("%Y-%m-%dT%H:%M:%SZ")
    return {**metadata, "labels": labels, "annotations": annotations}


@dataclass(frozen=True)
class Candidate:
    """A revision as the collector sees it."""

    name: str
    created: float
    """Creation time (seconds since the epoch)."""
    last_active: float
    """When it stopped being routed (its creation when never routed)."""
    active: bool


def candidate(revision: Mapping[str, Any], latest: Iterable[str]) -> Candidate:
    """``revision`` as a :class:`Candidate`; ``latest`` are its Configuration's latest
    created and ready revisions."""
    metadata = revision["metadata"]
    labels, annotations = metadata.get("labels") or {}, metadata.get("annotations") or {}
    created = _seconds(metadata.get("creationTimestamp")) or 0.0
    preserved = any(str(m.get(NO_GC, "")).lower() == "true" for m in (labels, annotations))
    active = (
        metadata["name"] in set(latest)
        or preserved
        or labels.get(ROUTING_STATE_LABEL) != RESERVE  # never labelled: not yet decided
    )
    modified = _seconds(annotations.get(ROUTING_STATE_MODIFIED))
    return Candidate(metadata["name"], created, modified or created, active)


def collect(candidates: Iterable[Candidate], config: GcConfig, *, now: float) -> list[str]:
    """The names to delete, most recently active first."""
    revisions = sorted(candidates, key=lambda c: c.last_active, reverse=True)
    least, most = config.min_non_active_revisions, config.max_non_active_revisions
    times = (config.retain_since_create_time, config.retain_since_last_active_time)
    if len(revisions) <= least or (most is None and times == (None, None)):
        return []
    doomed: list[str] = []
    stale = non_active = 0
    for revision in revisions:
        if revision.active:
            continue
        non_active += 1
        stale += _stale(revision, config, now)
        if stale > least or (most is not None and non_active > most):
            doomed.append(revision.name)
    return doomed


def _stale(revision: Candidate, config: GcConfig, now: float) -> bool:
    since_create, since_active = (
        config.retain_since_create_time,
        config.retain_since_last_active_time,
    )
    if since_create is None and since_active is None:
        return False
    if since_create is not None and now - revision.created < since_create:
        return False  # created too recently
    return since_active is None or now - revision.last_active >= since_active


def _seconds(stamp: object) -> float | None:
    if not isinstance(stamp, str) or not stamp:
        return None
    try:
        return datetime.fromisoformat(stamp.replace("Z", "+00:00")).timestamp()
    except ValueError:
        return None
