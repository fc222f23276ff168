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

from unkai.api import objects as stored
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


def find(status: stored.Status | None, type_: str) -> Condition | None:
    """The condition of ``type_`` in a status (``None`` when absent, or no status yet)."""
    for item in (status or {}).get("conditions", []):
        if item.get("type") == type_:
            return Condition(
                type_,
                item.get("status", "Unknown"),
                item.get("reason", ""),
                item.get("message", ""),
                item.get("severity", ""),
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


def merge(
    old: Iterable[stored.Condition], new: Iterable[Condition], *, now: datetime
) -> list[stored.Condition]:
    """``new`` as stored conditions sorted by type; unchanged statuses keep their time."""
    times = {item.get("type"): (item.get("status"), item.get("lastTransitionTime")) for item in old}
    result = []
    for condition in sorted(new, key=lambda c: c.type):
        previous_status, previous_time = times.get(condition.type, (None, None))
        when = previous_time if previous_status == condition.status and previous_time else None
        item: stored.Condition = {"type": condition.type, "status": condition.status}
        if condition.severity:
            item["severity"] = condition.severity
        if condition.reason:
            item["reason"] = condition.reason
        if condition.message:
            item["message"] = condition.message
        item["lastTransitionTime"] = when or timestamp(now)
        result.append(item)
    return result
