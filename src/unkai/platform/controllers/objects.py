"""Object plumbing shared by reconcilers: metadata access, ownership, desired state.

Reconcilers return *desired* children; :func:`update_for` tells the loop whether an
existing child must be rewritten to match, and how, so creating and updating share one
definition of "the child as it should be".
"""

from __future__ import annotations

import copy
from typing import Any


def meta(obj: object) -> dict[str, Any]:
    value = obj.get("metadata") if isinstance(obj, dict) else None
    return value if isinstance(value, dict) else {}


def section(obj: object, key: str) -> dict[str, Any]:
    """``obj[key]`` when it is a mapping (``spec``, ``status``), else an empty dict."""
    value = obj.get(key) if isinstance(obj, dict) else None
    return value if isinstance(value, dict) else {}


def name(obj: object) -> str:
    return str(meta(obj).get("name", ""))


def namespace(obj: object) -> str:
    return str(meta(obj).get("namespace", ""))


def generation(obj: object) -> int:
    """``metadata.generation``; the store starts it at 1, so an unset one counts as 1."""
    value = meta(obj).get("generation")
    return value if isinstance(value, int) and value > 0 else 1


def owner_reference(owner: dict[str, Any]) -> dict[str, Any]:
    """A controller reference to ``owner``: deleting the owner deletes the child."""
    reference = {
        "apiVersion": owner.get("apiVersion", ""),
        "kind": owner.get("kind", ""),
        "name": name(owner),
        "controller": True,
        "blockOwnerDeletion": True,
    }
    if uid := meta(owner).get("uid"):
        reference["uid"] = uid
    return reference


def is_controlled_by(child: object, owner: dict[str, Any]) -> bool:
    """Whether ``child``'s controller reference points at ``owner`` (by uid when known)."""
    references = meta(child).get("ownerReferences")
    for reference in references if isinstance(references, list) else []:
        if not isinstance(reference, dict) or not reference.get("controller"):
            continue
        uid = meta(owner).get("uid")
        if uid and reference.get("uid"):
            return bool(reference.get("uid") == uid)
        return reference.get("kind") == owner.get("kind") and reference.get("name") == name(owner)
    return False


def update_for(existing: dict[str, Any], desired: dict[str, Any]) -> dict[str, Any] | None:
    """``existing`` rewritten with ``desired``'s spec, labels and annotations, or ``None``
    when it already matches (Knative's reconcileConfiguration/reconcileRoute)."""
    updated = copy.deepcopy(existing)
    updated["spec"] = copy.deepcopy(desired.get("spec", {}))
    for key in ("labels", "annotations"):
        wanted = meta(desired).get(key) or {}
        if wanted or meta(existing).get(key):
            updated.setdefault("metadata", {})[key] = copy.deepcopy(wanted)
    return None if updated == existing else updated
