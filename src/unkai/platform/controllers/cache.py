"""What the controllers know of the stored objects: a cache kept by their watches.

Reconciles read from here instead of listing from the store, so one reconcile costs
O(its own objects), not O(every object in the namespace) — at a thousand services
that is the difference between milliseconds and minutes. The cache may lag a write
by one event; that is safe because reconciles are level-based: a write based on a
stale read fails (409 Conflict, or AlreadyExists) and the key is simply queued again.

The cache holds objects of every kind, as the API hands them out (plain dicts), and
gives them back as ``Any``: the caller asked for a kind and reads the object as that
kind's type (:mod:`unkai.api.knative.types`), which admission made it fit. That is
where the stored JSON becomes a typed object, once, instead of in every reconciler.
"""

from __future__ import annotations

from collections.abc import Mapping
from types import MappingProxyType
from typing import Any

from unkai.api.knative.metadata import CONFIGURATION_LABEL
from unkai.api.knative.types import TrafficTarget

Object = dict[str, Any]
_EMPTY: Mapping[str, Object] = MappingProxyType({})


class ObjectCache:
    """Objects by kind, namespace and name; revisions by their configuration; and
    objects by the names their ``spec.traffic`` targets carry (a Route's, a Service's)."""

    def __init__(self) -> None:
        self._objects: dict[tuple[str, str], dict[str, Object]] = {}
        self._by_configuration: dict[tuple[str, str], set[str]] = {}
        self._by_target: dict[tuple[str, str, str], set[str]] = {}

    def store(self, kind: str, obj: Object) -> None:
        namespace, name = where(obj)
        objects = self._objects.setdefault((kind, namespace), {})
        self._unindex_targets(kind, objects.get(name))
        objects[name] = obj
        configuration = (obj["metadata"].get("labels") or {}).get(CONFIGURATION_LABEL)
        if configuration is not None:
            self._by_configuration.setdefault((namespace, configuration), set()).add(name)
        for target in _targets(obj):
            self._by_target.setdefault((kind, namespace, target), set()).add(name)

    def drop(self, kind: str, obj: Object) -> None:
        namespace, name = where(obj)
        self._unindex_targets(kind, self._objects.get((kind, namespace), {}).pop(name, None))
        configuration = (obj["metadata"].get("labels") or {}).get(CONFIGURATION_LABEL)
        if configuration is not None:
            self._by_configuration.get((namespace, configuration), set()).discard(name)

    def targeting(self, kind: str, namespace: str, name: str) -> set[str]:
        """Names of the objects of ``kind`` whose traffic names ``name`` (as a
        ``configurationName`` or a ``revisionName``)."""
        return set(self._by_target.get((kind, namespace, name), ()))

    def _unindex_targets(self, kind: str, old: Object | None) -> None:
        if old is not None:
            namespace, name = where(old)
            for target in _targets(old):
                self._by_target.get((kind, namespace, target), set()).discard(name)

    def get(self, kind: str, namespace: str, name: str) -> Any:
        """The object, or None."""
        return self._objects.get((kind, namespace), {}).get(name)

    def namespace(self, kind: str, namespace: str) -> Mapping[str, Any]:
        """Every object of ``kind`` in ``namespace`` by name (a read-only view)."""
        objects = self._objects.get((kind, namespace))
        return MappingProxyType(objects) if objects is not None else _EMPTY

    def keys(self, kind: str) -> list[tuple[str, str]]:
        """``(namespace, name)`` of every object of ``kind``, in every namespace."""
        return [
            (namespace, name)
            for (each, namespace), objects in self._objects.items()
            if each == kind
            for name in objects
        ]

    def labelled(self, kind: str, namespace: str, configuration: str) -> list[Any]:
        """The objects of ``kind`` labelled as belonging to ``configuration``."""
        names = self._by_configuration.get((namespace, configuration), set())
        objects = self.namespace(kind, namespace)
        return [objects[name] for name in names if name in objects]


def where(obj: Object) -> tuple[str, str]:
    metadata = obj["metadata"]
    return metadata.get("namespace", ""), metadata["name"]


def _targets(obj: Object) -> set[str]:
    """The names a Route's or a Service's traffic targets carry (none for other kinds)."""
    traffic: list[TrafficTarget] = obj.get("spec", {}).get("traffic", [])
    names = set()
    for target in traffic:
        names.add(target.get("configurationName", ""))
        names.add(target.get("revisionName", ""))
    return names - {""}
