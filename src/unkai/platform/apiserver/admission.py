"""What the server does to an object before storing it: pure functions of (type, old,
body, now) that fill in system metadata and enforce the write rules.

* On create the server assigns uid, creationTimestamp and ``generation: 1`` and drops
  any status (kinds with a status subresource), then defaults and validates.
* An update of the main resource keeps the old status and system metadata; one of the
  ``status`` subresource keeps everything but status.
* ``managedFields`` are left alone here: :mod:`unkai.platform.apiserver.managed` owns them.
* ``generation`` goes up by one when anything outside ``metadata`` and ``status``
  changes (the CRD rule; for Knative kinds that is ``spec``), or when deletion starts.
"""

from __future__ import annotations

import copy
from typing import Any

from unkai.api.knative import userinfo
from unkai.api.yamlsource import Problem
from unkai.platform.apiserver import errors, objectmeta
from unkai.platform.apiserver.types import Object, ResourceType

_SYSTEM = ("uid", "creationTimestamp", "generation", "deletionTimestamp",
           "deletionGracePeriodSeconds")  # fmt: skip


def check_shape(rt: ResourceType, body: Any) -> Object:
    """The body must be an object of this kind; fill in apiVersion and kind if absent."""
    if not isinstance(body, dict):
        raise errors.bad_request(f"the body must be a JSON object, not {type(body).__name__}")
    for key, want in (("apiVersion", rt.api_version), ("kind", rt.kind)):
        got = body.get(key, want)
        if got != want:
            raise errors.bad_request(
                f"the API version and kind in the body ({body.get('apiVersion')}, "
                f"{body.get('kind')}) do not match the URL ({rt.api_version}, {rt.kind})"
            )
    metadata = body.get("metadata", {})
    if not isinstance(metadata, dict):
        raise errors.bad_request("metadata must be a JSON object")
    return {**body, "apiVersion": rt.api_version, "kind": rt.kind, "metadata": dict(metadata)}


def for_create(rt: ResourceType, body: Object, *, uid: str, now: str) -> Object:
    """A new object from a checked body whose metadata.name is already decided."""
    obj = copy.deepcopy(body)
    metadata = obj["metadata"]
    for key in (*_SYSTEM, "resourceVersion", "selfLink"):
        metadata.pop(key, None)
    metadata.update(uid=uid, creationTimestamp=now, generation=1)
    if rt.has_status:
        obj.pop("status", None)
    return obj


def for_update(rt: ResourceType, old: Object, body: Object, *, subresource: str) -> Object:
    """The object an update of ``old`` with ``body`` stores (before admission hooks)."""
    if subresource == "status":
        obj = copy.deepcopy(old)
        if "status" in body:
            obj["status"] = copy.deepcopy(body["status"])
        else:
            obj.pop("status", None)
        return obj
    obj = copy.deepcopy(body)
    metadata = obj["metadata"]
    for key in _SYSTEM:
        if key in old["metadata"]:
            metadata[key] = copy.deepcopy(old["metadata"][key])
        else:
            metadata.pop(key, None)
    if rt.has_status:
        obj.pop("status", None)
        if "status" in old:
            obj["status"] = copy.deepcopy(old["status"])
    return obj


def next_generation(old: Object, new: Object) -> Object:
    """``new`` with ``generation`` one above ``old``'s if its content changed.

    Called after defaulting, so a write that only spells out defaults (a re-apply of
    the same manifest) is no change.
    """
    if _content(new) != _content(old):
        new["metadata"]["generation"] = int(old["metadata"].get("generation", 1)) + 1
    return new


def _content(obj: Object) -> Object:
    return {k: v for k, v in obj.items() if k not in ("metadata", "status", "apiVersion", "kind")}


def admit(rt: ResourceType, obj: Object, old: Object | None) -> Object:
    """Validate metadata, default, then apply the kind's own rules; 422 on any problem.

    Metadata comes first so that defaulters and validators may rely on its shape."""
    _refuse(rt, obj, objectmeta.problems(rt, obj["metadata"]))
    obj = rt.default(obj)
    _refuse(rt, obj, userinfo.stamp(rt.group_resource, obj, old), webhook=rt.webhook)
    _refuse(rt, obj, rt.validate(obj, old), webhook=rt.webhook)
    return obj


def _refuse(rt: ResourceType, obj: Object, problems: list[Problem], *, webhook: str = "") -> None:
    if problems:
        metadata = obj["metadata"]
        name = str(metadata.get("name") or metadata.get("generateName") or "")
        if webhook:
            raise errors.denied(
                webhook=webhook, group=rt.group, kind=rt.kind, name=name, problems=problems
            )
        raise errors.invalid(group=rt.group, kind=rt.kind, name=name, problems=problems)


def begin_deletion(obj: Object, *, now: str) -> Object:
    """Mark an object with finalizers as being deleted (idempotent)."""
    obj = copy.deepcopy(obj)
    metadata = obj["metadata"]
    if "deletionTimestamp" not in metadata:
        metadata.update(deletionTimestamp=now, deletionGracePeriodSeconds=0)
        metadata["generation"] = int(metadata.get("generation", 1)) + 1
    return obj
