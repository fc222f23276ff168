"""Object plumbing shared by reconcilers: metadata access, ownership, desired state.

Reconcilers return *desired* children; :func:`update_for` tells the loop whether an
existing child must be rewritten to match, and how, so creating and updating share one
definition of "the child as it should be". Objects are typed (:mod:`unkai.api.objects`,
:mod:`unkai.api.knative.types`): what the store hands out has passed admission, so
fields are read by name, with a default only where Kubernetes lets them be absent.
"""

from __future__ import annotations

import copy
from typing import Literal, TypeVar

from unkai.api.knative.types import Configuration, Route
from unkai.api.objects import Object, ObjectMeta, OwnerReference

Child = TypeVar("Child", Configuration, Route)
"""What a Service owns and :func:`update_for` keeps in line."""
_COPIED: tuple[Literal["labels", "annotations"], ...] = ("labels", "annotations")


def meta(obj: Object) -> ObjectMeta:
    return obj.get("metadata", {})


def name(obj: Object) -> str:
    return meta(obj).get("name", "")


def namespace(obj: Object) -> str:
    return meta(obj).get("namespace", "")


def generation(obj: Object) -> int:
    """``metadata.generation``; the store starts it at 1, so an unset one counts as 1."""
    return meta(obj).get("generation") or 1


def owner_reference(owner: Object) -> OwnerReference:
    """A controller reference to ``owner``: deleting the owner deletes the child."""
    reference: OwnerReference = {
        "apiVersion": owner.get("apiVersion", ""),
        "kind": owner.get("kind", ""),
        "name": name(owner),
        "controller": True,
        "blockOwnerDeletion": True,
    }
    if uid := meta(owner).get("uid"):
        reference["uid"] = uid
    return reference


def is_controlled_by(child: Object, owner: Object) -> bool:
    """Whether ``child``'s controller reference points at ``owner`` (by uid when known)."""
    for reference in meta(child).get("ownerReferences", []):
        if not reference.get("controller"):
            continue
        uid = meta(owner).get("uid")
        if uid and reference.get("uid"):
            return reference.get("uid") == uid
        return reference.get("kind") == owner.get("kind") and reference.get("name") == name(owner)
    return False


def update_for(existing: Child, desired: Child) -> Child | None:
    """``existing`` rewritten with ``desired``'s spec, labels and annotations, or ``None``
    when it already matches (Knative's reconcileConfiguration/reconcileRoute)."""
    updated = copy.deepcopy(existing)
    updated["spec"] = copy.deepcopy(desired.get("spec", {}))
    for key in _COPIED:
        wanted = meta(desired).get(key) or {}
        if wanted or meta(existing).get(key):
            updated.setdefault("metadata", {})[key] = copy.deepcopy(wanted)
    return None if updated == existing else updated
