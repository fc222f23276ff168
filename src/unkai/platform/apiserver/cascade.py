"""What happens to an object's dependents when it is deleted: Kubernetes' three policies.

* ``Background`` (the default): the object goes at once; the garbage collector
  (:mod:`.collector`) deletes its dependents afterwards.
* ``Foreground``: the object stays, with a ``deletionTimestamp`` and the
  ``foregroundDeletion`` finalizer, until the collector has deleted every dependent; then
  the finalizer is removed and the object goes. ``kubectl delete --cascade=foreground``
  waits for exactly that.
* ``Orphan``: the dependents stay; the references to the object are removed from them
  before it goes, so no collector ever takes them.

Pure helpers here; the service and the collector do the writes.
"""

from __future__ import annotations

import copy
from collections.abc import Iterable
from typing import Final

from unkai.platform.apiserver.types import Object

BACKGROUND: Final = "Background"
FOREGROUND: Final = "Foreground"
ORPHAN: Final = "Orphan"
POLICIES: Final = (FOREGROUND, BACKGROUND, ORPHAN)
FOREGROUND_FINALIZER: Final = "foregroundDeletion"


def dependents(items: Iterable[Object], uid: str) -> list[Object]:
    """The objects among ``items`` that name ``uid`` as an owner."""
    return [item for item in items if uid in owner_uids(item)]


def owner_uids(obj: Object) -> set[str]:
    references = obj["metadata"].get("ownerReferences") or []
    return {str(ref["uid"]) for ref in references if isinstance(ref, dict) and ref.get("uid")}


def without_owner(obj: Object, uid: str) -> Object:
    """``obj`` with its references to ``uid`` removed (the field too, when none is left)."""
    orphan = copy.deepcopy(obj)
    metadata = orphan["metadata"]
    kept = [ref for ref in metadata.get("ownerReferences") or [] if ref.get("uid") != uid]
    if kept:
        metadata["ownerReferences"] = kept
    else:
        metadata.pop("ownerReferences", None)
    return orphan


def holding_for_dependents(obj: Object) -> Object:
    """``obj`` marked to wait for its dependents (it already has a deletionTimestamp)."""
    held = copy.deepcopy(obj)
    finalizers = held["metadata"].setdefault("finalizers", [])
    if FOREGROUND_FINALIZER not in finalizers:
        finalizers.append(FOREGROUND_FINALIZER)
    return held


def released(obj: Object) -> Object:
    """``obj`` without the foreground finalizer: its dependents are gone."""
    done = copy.deepcopy(obj)
    metadata = done["metadata"]
    finalizers = [f for f in metadata.get("finalizers") or [] if f != FOREGROUND_FINALIZER]
    if finalizers:
        metadata["finalizers"] = finalizers
    else:
        metadata.pop("finalizers", None)
    return done
