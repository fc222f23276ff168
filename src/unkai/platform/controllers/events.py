"""Kubernetes Events for what the controllers did, so ``kubectl describe`` tells the story.

Knative's reconcilers record an Event when they create a child or when a
Configuration's latest ready revision changes; the reasons and messages here are
theirs (``Created``, ``Created Configuration "hello"``, ``LatestReadyUpdate``…), so
what a user reads in ``kubectl describe ksvc`` matches Knative's documentation.
:func:`make_event` is a pure builder; the loop writes what it returns.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from unkai.api import kinds
from unkai.api.knative.types import Configuration, ConfigurationStatus
from unkai.api.objects import Event, Object, ObjectReference, Status
from unkai.platform.controllers import conditions, objects

TTL = timedelta(hours=1)  # kube-apiserver's --event-ttl default
NORMAL = "Normal"
WARNING = "Warning"
COMPONENT = "unkai-controller"


def make_event(involved: Object, *, type_: str, reason: str, message: str, now: datetime) -> Event:
    """A core/v1 Event about ``involved``, named as kubectl's recorder names them."""
    meta = objects.meta(involved)
    stamp = conditions.timestamp(now)
    reference: ObjectReference = {
        "apiVersion": involved.get("apiVersion", ""),
        "kind": involved.get("kind", ""),
        "name": objects.name(involved),
        "namespace": objects.namespace(involved),
    }
    if uid := meta.get("uid"):
        reference["uid"] = uid
    return {
        "apiVersion": kinds.EVENT.api_version,
        "kind": kinds.EVENT.kind,
        "metadata": {
            "generateName": f"{objects.name(involved)}.",
            "namespace": objects.namespace(involved),
        },
        "involvedObject": reference,
        "type": type_,
        "reason": reason,
        "message": message,
        "source": {"component": COMPONENT},
        "reportingComponent": COMPONENT,
        "firstTimestamp": stamp,
        "lastTimestamp": stamp,
        "count": 1,
    }


def created(owner: Object, child: Object, *, now: datetime) -> Event:
    """``Created Configuration "hello"`` on the owner (Knative's wording)."""
    message = f'Created {child.get("kind", "")} "{objects.name(child)}"'
    return make_event(owner, type_=NORMAL, reason="Created", message=message, now=now)


def latest_ready_changed(
    configuration: Configuration,
    old: ConfigurationStatus,
    new: ConfigurationStatus,
    *,
    now: datetime,
) -> list[Event]:
    """Knative's Configuration events for a status change: ``LatestReadyUpdate`` when
    the latest ready revision moves, ``LatestCreatedFailed`` when the latest created
    one has just failed."""
    found: list[Event] = []
    ready = new.get("latestReadyRevisionName")
    if ready and ready != old.get("latestReadyRevisionName"):
        message = f'LatestReadyRevisionName updated to "{ready}"'
        found.append(
            make_event(
                configuration, type_=NORMAL, reason="LatestReadyUpdate", message=message, now=now
            )
        )
    if _failed(new) and not _failed(old):
        message = f'Latest created revision "{new.get("latestCreatedRevisionName")}" has failed'
        found.append(
            make_event(
                configuration, type_=WARNING, reason="LatestCreatedFailed", message=message, now=now
            )
        )
    return found


def _failed(status: Status) -> bool:
    ready = conditions.find(status, conditions.READY)
    return ready is not None and ready.status == "False"


def expired(event: Event, *, now: datetime) -> bool:
    """Whether an Event is older than :data:`TTL` (as the API server forgets them)."""
    stamp = event.get("lastTimestamp") or objects.meta(event).get("creationTimestamp", "")
    return bool(stamp) and conditions.moment(stamp) < now - TTL
