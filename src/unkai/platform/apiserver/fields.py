"""Field paths and ``metadata.managedFields``: who last set which field.

A field set is a set of *leaf paths*: tuples of map keys down to a scalar, a list or an
empty map. Lists are atomic, as they are by default for CRD schemas without
``x-kubernetes-list-type``: a manager owns a whole list, never an item. Sets are
written to ``managedFields[].fieldsV1`` in Kubernetes' nested ``{"f:key": {...}}`` form.

Every write records ownership: an update or patch gives its manager the leaf paths it
changed (taking them from other managers); an apply gives its manager exactly the
paths it applied (see :mod:`unkai.platform.apiserver.apply`).
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

Path = tuple[str, ...]
Object = dict[str, Any]
_MISSING = object()

_SYSTEM_METADATA = frozenset({
    "name", "namespace", "generateName", "uid", "resourceVersion", "generation",
    "creationTimestamp", "deletionTimestamp", "deletionGracePeriodSeconds",
    "managedFields", "selfLink",
})  # fmt: skip


def leaf_paths(value: Any, prefix: Path = ()) -> set[Path]:
    """Every leaf path under ``value`` (a scalar, a list or an empty map is a leaf)."""
    if isinstance(value, dict) and value:
        paths: set[Path] = set()
        for key, child in value.items():
            paths |= leaf_paths(child, (*prefix, str(key)))
        return paths
    return {prefix} if prefix else set()


def owned_paths(obj: Object, *, status: bool) -> set[Path]:
    """The user-owned leaf paths of an object: no apiVersion, kind or system metadata;
    only ``status`` when ``status`` is True, everything but it otherwise."""
    paths = set()
    for path in leaf_paths(obj):
        root = path[0]
        if root in ("apiVersion", "kind") or (status != (root == "status")):
            continue
        if root == "metadata" and (len(path) < 2 or path[1] in _SYSTEM_METADATA):
            continue
        paths.add(path)
    return paths


def get(obj: Any, path: Path) -> Any:
    """The value at ``path`` or the module's missing marker (compare with :func:`has`)."""
    for part in path:
        if not isinstance(obj, dict) or part not in obj:
            return _MISSING
        obj = obj[part]
    return obj


def has(obj: Any, path: Path) -> bool:
    return get(obj, path) is not _MISSING


def put(obj: Object, path: Path, value: Any) -> None:
    """Set ``path`` to ``value``, creating (or replacing non-map) parents."""
    for part in path[:-1]:
        if not isinstance(obj.get(part), dict):
            obj[part] = {}
        obj = obj[part]
    obj[path[-1]] = value


def remove(obj: Object, path: Path) -> None:
    """Delete ``path`` if present, then any parent maps it left empty."""
    parents = []
    node: Any = obj
    for part in path[:-1]:
        if not isinstance(node, dict) or not isinstance(node.get(part), dict):
            return
        parents.append((node, part))
        node = node[part]
    node.pop(path[-1], None)
    for parent, part in reversed(parents):
        if parent[part]:
            break
        del parent[part]


def overlaps(a: Path, b: Path) -> bool:
    """One path is a prefix of the other: they name (parts of) the same field."""
    shorter = min(len(a), len(b))
    return a[:shorter] == b[:shorter]


def changed(old: Object, new: Object, *, status: bool) -> set[Path]:
    """Leaf paths set or changed in ``new`` plus those ``new`` dropped."""
    old_paths, new_paths = owned_paths(old, status=status), owned_paths(new, status=status)
    return {p for p in new_paths if get(old, p) != get(new, p)} | (old_paths - new_paths)


def encode(paths: Iterable[Path]) -> Object:
    """A field set in Kubernetes' ``FieldsV1`` shape."""
    tree: Object = {}
    for path in sorted(paths):
        node = tree
        for part in path:
            node = node.setdefault(f"f:{part}", {})
    return tree


def decode(tree: Any, prefix: Path = ()) -> set[Path]:
    """Read ``FieldsV1``; list-item keys (``k:``/``v:``/``i:``) from other clients make
    the list itself the leaf, matching our atomic lists."""
    if not isinstance(tree, dict) or not tree:
        return {prefix} if prefix else set()
    if any(not key.startswith("f:") and key != "." for key in tree):
        return {prefix} if prefix else set()
    paths: set[Path] = set()
    for key, child in tree.items():
        if key != ".":
            paths |= decode(child, (*prefix, key[2:]))
    return paths
