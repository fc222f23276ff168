"""Reading an object's conditions: is it Ready, and if not, what does it wait for.

Pure functions of the object as the API returns it (a dict), shared by ``unkai deploy``'s
wait (:mod:`unkai.kube.deploy`) and the CLI's tables.
"""

from __future__ import annotations

from typing import Any


def condition(obj: dict[str, Any], kind: str = "Ready") -> dict[str, Any]:
    """The condition of type ``kind``; ``Unknown`` when the object has none yet."""
    for entry in obj.get("status", {}).get("conditions", []) or []:
        if entry.get("type") == kind:
            return dict(entry)
    return {"type": kind, "status": "Unknown"}


def pending(obj: dict[str, Any]) -> str:
    """What an object not Ready yet is waiting for: the reason and message of its first
    condition that is not True (``Ready`` last, as it repeats the others; informational
    ones such as ``Active`` do not hold readiness up)."""
    entries = obj.get("status", {}).get("conditions", []) or []
    for entry in sorted(entries, key=lambda entry: entry.get("type") == "Ready"):
        said = [entry.get(key) for key in ("reason", "message") if entry.get(key)]
        if entry.get("status") != "True" and entry.get("severity") != "Info" and said:
            return ": ".join(said)
    return ""
