"""Status conditions: set with injected time, folded into a ``Ready`` condition.

Knative objects report ``conditions`` (``type``, ``status``, ``reason``, ``message``,
``lastTransitionTime``, sometimes ``severity``), kept sorted by type. Reconcilers here
compute the conditions they want from what they observe, and :func:`merge` writes them
over the previous ones, keeping ``lastTransitionTime`` unless the status changed, so a
reconcile that changes nothing returns an identical status.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from unkai.platform.contracts import Status

READY = "Ready"
INFO = "Info"


@dataclass(frozen=True)
class Condition:
    """One condition as a reconciler decides it; time is added by :func:`merge`."""

    type: str
    status: Status
    reason: str = ""
    message: str = ""
    severity: str = ""

    @classmethod
    def true(cls, type_: str, *, severity: str = "") -> Condition:
        return cls(type_, "True", severity=severity)


def timestamp(now: datetime) -> str:
    """RFC 3339 in UTC with second precision, as Kubernetes writes times."""
    return now.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def moment(stamp: str) -> datetime:
    """A time as :func:`timestamp` writes it (``...Z``), read back."""
    return datetime.fromisoformat(stamp.replace("Z", "+00:00"))


def find(status: object, type_: str) -> Condition | None:
    """The condition of ``type_`` in a status dict (``None`` when absent)."""
    conditions = status.get("conditions") if isinstance(status, dict) else None
    for item in conditions if isinstance(conditions, list) else []:
        if isinstance(item, dict) and item.get("type") == type_:
            state = item.get("status")
            return Condition(
                type_,
                state if state in ("True", "False") else "Unknown",
                str(item.get("reason", "")),
                str(item.get("message", "")),
                str(item.get("severity", "")),
            )
    return None


def ready(dependents: Sequence[Condition], type_: str = READY) -> Condition:
    """The happy condition of a set: False if any dependent is, else Unknown, else True.

    It takes its reason and message from the first False dependent, else from the first
    Unknown one that has a reason (an Unknown without one, such as a Configuration that
    merely waits, says less than the Route explaining what it waits for).
    """
    failed = [d for d in dependents if d.status == "False"]
    waiting = sorted((d for d in dependents if d.status == "Unknown"), key=lambda d: not d.reason)
    causes = [*failed, *waiting]
    if not causes:
        return Condition(type_, "True")
    return Condition(type_, causes[0].status, causes[0].reason, causes[0].message)


def merge(old: Iterable[Any], new: Iterable[Condition], *, now: datetime) -> list[dict[str, Any]]:
    """``new`` as condition dicts sorted by type; unchanged statuses keep their time."""
    times = {
        item.get("type"): (item.get("status"), item.get("lastTransitionTime"))
        for item in old
        if isinstance(item, dict)
    }
    result = []
    for condition in sorted(new, key=lambda c: c.type):
        previous_status, previous_time = times.get(condition.type, (None, None))
        when = previous_time if previous_status == condition.status and previous_time else None
        item: dict[str, Any] = {"type": condition.type, "status": condition.status}
        for key in ("severity", "reason", "message"):
            if value := getattr(condition, key):
                item[key] = value
        item["lastTransitionTime"] = when or timestamp(now)
        result.append(item)
    return result


def previous(status: object) -> list[Any]:
    """The conditions list of a status dict, or an empty list."""
    conditions = status.get("conditions") if isinstance(status, dict) else None
    return conditions if isinstance(conditions, list) else []
