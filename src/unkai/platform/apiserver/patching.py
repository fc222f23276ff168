"""Patch types: JSON merge patch (RFC 7386) and JSON patch (RFC 6902) over plain JSON
values, and the choice between them by content type (:func:`patch_object`).

Both return new values and never change their inputs. A JSON patch that is malformed
(not a list of operations) is the caller's 400; one that does not apply to the object
(a missing path, a failed ``test``) raises :class:`PatchError`, which the service
turns into a 422 like the Kubernetes API server does.
"""

from __future__ import annotations

import copy
from typing import Any

from unkai.errors import UserError
from unkai.platform.apiserver import errors
from unkai.platform.apiserver.types import Object, ResourceType

MERGE_PATCH = "application/merge-patch+json"
JSON_PATCH = "application/json-patch+json"
STRATEGIC_MERGE_PATCH = "application/strategic-merge-patch+json"
APPLY_PATCH = "application/apply-patch+yaml"


class PatchError(UserError, ValueError):
    """A JSON patch operation could not be applied to the document."""


def merge_patch(target: Any, patch: Any) -> Any:
    """RFC 7386: objects merge key by key, ``null`` removes, anything else replaces."""
    if not isinstance(patch, dict):
        return copy.deepcopy(patch)
    result = dict(target) if isinstance(target, dict) else {}
    for key, value in patch.items():
        if value is None:
            result.pop(key, None)
        else:
            result[key] = merge_patch(result.get(key), value)
    return result


def json_patch(document: Any, operations: list[dict[str, Any]]) -> Any:
    """RFC 6902: apply ``operations`` in order; all or nothing."""
    result = copy.deepcopy(document)
    for index, operation in enumerate(operations):
        try:
            result = _apply(result, operation)
        except PatchError as error:
            raise PatchError(f"operation {index} ({operation.get('op')}): {error}") from None
    return result


def patch_object(rt: ResourceType, old: Object, patch: Any, patch_type: str) -> Any:
    """``old`` patched by a merge or JSON patch (``patch_type`` is the content type);
    400 for a malformed patch, 422 for one that does not apply, 415 for other types."""
    if patch_type == MERGE_PATCH or (patch_type == STRATEGIC_MERGE_PATCH and rt.strategic_merge):
        if not isinstance(patch, dict):
            raise errors.bad_request("a merge patch must be a JSON object")
        return merge_patch(old, patch)
    if patch_type == JSON_PATCH:
        if not isinstance(patch, list) or not all(isinstance(op, dict) for op in patch):
            raise errors.bad_request("a JSON patch must be a JSON array of operations")
        try:
            return json_patch(old, patch)
        except PatchError as error:
            raise errors.ApiError(
                422, "Invalid", f"the JSON patch could not be applied: {error}"
            ) from None
    accepted = [JSON_PATCH, MERGE_PATCH, APPLY_PATCH]
    if rt.strategic_merge:
        accepted.insert(2, STRATEGIC_MERGE_PATCH)
    raise errors.unsupported_media_type(patch_type, accepted)


def _pointer(path: Any) -> list[str]:
    if not isinstance(path, str) or (path and not path.startswith("/")):
        raise PatchError(f"invalid JSON pointer {path!r}")
    return [part.replace("~1", "/").replace("~0", "~") for part in path.split("/")[1:]]


def _index(container: list[Any], part: str, *, insert: bool) -> int:
    if insert and part == "-":
        return len(container)
    if not part.isdigit() or (len(part) > 1 and part.startswith("0")):
        raise PatchError(f"invalid array index {part!r}")
    index = int(part)
    if index > len(container) or (index == len(container) and not insert):
        raise PatchError(f"array index {index} out of range")
    return index


def _parent(document: Any, parts: list[str]) -> Any:
    node = document
    for part in parts[:-1]:
        if isinstance(node, dict) and part in node:
            node = node[part]
        elif isinstance(node, list):
            node = node[_index(node, part, insert=False)]
        else:
            raise PatchError(f"path /{'/'.join(parts)} does not exist")
    return node


def _get(document: Any, parts: list[str]) -> Any:
    if not parts:
        return document
    parent, last = _parent(document, parts), parts[-1]
    if isinstance(parent, dict) and last in parent:
        return parent[last]
    if isinstance(parent, list):
        return parent[_index(parent, last, insert=False)]
    raise PatchError(f"path /{'/'.join(parts)} does not exist")


def _add(document: Any, parts: list[str], value: Any) -> Any:
    if not parts:
        return value
    parent, last = _parent(document, parts), parts[-1]
    if isinstance(parent, dict):
        parent[last] = value
    elif isinstance(parent, list):
        parent.insert(_index(parent, last, insert=True), value)
    else:
        raise PatchError(f"cannot add to a {type(parent).__name__}")
    return document


def _remove(document: Any, parts: list[str]) -> Any:
    if not parts:
        raise PatchError("cannot remove the whole document")
    _get(document, parts)
    parent, last = _parent(document, parts), parts[-1]
    if isinstance(parent, dict):
        del parent[last]
    else:
        del parent[_index(parent, last, insert=False)]
    return document


def _apply(document: Any, operation: dict[str, Any]) -> Any:
    op = operation.get("op")
    parts = _pointer(operation.get("path"))
    if op in ("add", "replace", "test") and "value" not in operation:
        raise PatchError("missing value")
    if op == "add":
        return _add(document, parts, copy.deepcopy(operation["value"]))
    if op == "remove":
        return _remove(document, parts)
    if op == "replace":
        if not parts:
            return copy.deepcopy(operation["value"])
        _get(document, parts)
        return _add(_remove(document, parts), parts, copy.deepcopy(operation["value"]))
    if op in ("move", "copy"):
        source = _pointer(operation.get("from"))
        value = copy.deepcopy(_get(document, source))
        if op == "move":
            document = _remove(document, source)
        return _add(document, parts, value)
    if op == "test":
        if _get(document, parts) != operation["value"]:
            raise PatchError(f"test failed at {operation['path']}")
        return document
    raise PatchError(f"unknown op {op!r}")
