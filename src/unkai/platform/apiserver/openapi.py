"""OpenAPI v2 and v3 documents, generated from the registry at startup.

kubectl refuses to ``apply`` unless it can download one of them. Each kind publishes
its :attr:`~unkai.platform.apiserver.types.ResourceType.schema` or, by default, a
permissive object schema that keeps unknown fields, tagged with
``x-kubernetes-group-version-kind`` like a CRD's. Both documents list the paths the
server serves for each kind (collection, object, ``status``), with their path
parameters and Kubernetes' ``x-kubernetes-action`` names, so clients generated from
them, and kubectl, find every operation. The PATCH operations list the patch types each
kind accepts; kubectl reads them to decide whether to send a strategic-merge patch
(built-in kinds) or a JSON merge patch (Knative kinds).
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable, Iterable

from unkai import __version__
from unkai.platform.apiserver.types import Object, Registry, ResourceType

_PERMISSIVE = {"type": "object", "x-kubernetes-preserve-unknown-fields": True}
_OBJECT = {"type": "object"}
_PATCH_TYPES = [
    "application/json-patch+json",
    "application/merge-patch+json",
    "application/apply-patch+yaml",
]


def definition_name(rt: ResourceType) -> str:
    """``dev.knative.serving.v1.Service``; ``io.k8s.api.core.v1.Namespace`` for core."""
    group = ".".join(reversed(rt.group.split("."))) if rt.group else "io.k8s.api.core"
    return f"{group}.{rt.version}.{rt.kind}"


def schema_of(rt: ResourceType) -> Object:
    schema = dict(rt.schema) if rt.schema is not None else {
        "type": "object",
        "description": f"{rt.kind} ({rt.api_version}), as served by Unkai.",
        "properties": {
            "apiVersion": {"type": "string"},
            "kind": {"type": "string"},
            "metadata": {"type": "object"},
            "spec": _PERMISSIVE,
            "status": _PERMISSIVE,
        },
        "x-kubernetes-preserve-unknown-fields": True,
    }  # fmt: skip
    gvk = {"group": rt.group, "version": rt.version, "kind": rt.kind}
    return {**schema, "x-kubernetes-group-version-kind": [gvk]}


Operation = Callable[[ResourceType, str, str, Object, bool], Object]
"""Builds one operation: (kind, Kubernetes action, path, schema ref, takes a body)."""


def _operations(types: Iterable[ResourceType], refs: str, build: Operation) -> Object:
    """Every path of ``types``, each method's operation made by ``build``; schema
    references point under ``refs``."""
    paths: Object = {}
    for rt in types:
        ref = {"$ref": f"{refs}/{definition_name(rt)}"}
        for path, actions in _paths(rt).items():
            paths[path] = {
                method: build(rt, action, path, ref, body)
                for method, (action, body) in actions.items()
            }
    return paths


def v2(registry: Registry) -> Object:
    paths = _operations(registry, "#/definitions", _v2_operation)
    return {
        "swagger": "2.0",
        "info": {"title": "Unkai", "version": __version__},
        "paths": paths,
        "definitions": {definition_name(rt): schema_of(rt) for rt in registry},
    }


_COLLECTION: dict[str, tuple[str, bool]] = {
    "get": ("list", False), "post": ("post", True), "delete": ("deletecollection", False),
}  # fmt: skip
_ITEM: dict[str, tuple[str, bool]] = {
    "get": ("get", False), "put": ("put", True), "patch": ("patch", True),
    "delete": ("delete", False),
}  # fmt: skip
_STATUS: dict[str, tuple[str, bool]] = {
    "get": ("get", False), "put": ("put", True), "patch": ("patch", True),
}  # fmt: skip


def _paths(rt: ResourceType) -> dict[str, dict[str, tuple[str, bool]]]:
    """Every path served for ``rt``: method → (Kubernetes action, takes a body)."""
    scope = "/namespaces/{namespace}" if rt.namespaced else ""
    collection = f"/{_prefix(rt.api_version)}{scope}/{rt.plural}"
    paths = {collection: _COLLECTION, f"{collection}/{{name}}": _ITEM}
    if rt.has_status:
        paths[f"{collection}/{{name}}/status"] = _STATUS
    return paths


def _path_parameters(path: str) -> list[Object]:
    names = [name for name in ("namespace", "name") if f"{{{name}}}" in path]
    return [{"name": name, "in": "path", "required": True, "type": "string"} for name in names]


def _v2_operation(rt: ResourceType, action: str, path: str, ref: Object, body: bool) -> Object:
    parameters = _path_parameters(path)
    if body:
        schema = ref if action != "patch" else _OBJECT
        parameters.append({"name": "body", "in": "body", "required": True, "schema": schema})
    operation: Object = {
        "operationId": f"{action}{rt.kind}",
        "x-kubernetes-action": action,
        "x-kubernetes-group-version-kind": _gvk(rt),
        "parameters": parameters,
        "responses": {"200": {"description": "OK", "schema": ref}},
    }
    if action == "patch":
        operation["consumes"] = _patch_types(rt)
    return operation


def _gvk(rt: ResourceType) -> Object:
    return {"group": rt.group, "version": rt.version, "kind": rt.kind}


def _patch_types(rt: ResourceType) -> list[str]:
    extra = ["application/strategic-merge-patch+json"] if rt.strategic_merge else []
    return [*_PATCH_TYPES, *extra]


def _prefix(group_version: str) -> str:
    return f"apis/{group_version}" if "/" in group_version else f"api/{group_version}"


def v3_group_version(registry: Registry, group_version: str) -> Object | None:
    """The OpenAPI 3 document of one group version (None if not served)."""
    types = registry.group_versions().get(group_version)
    if types is None:
        return None
    paths = _operations(types, "#/components/schemas", _v3_operation)
    return {
        "openapi": "3.0.0",
        "info": {"title": "Unkai", "version": __version__},
        "paths": paths,
        "components": {"schemas": {definition_name(rt): schema_of(rt) for rt in types}},
    }


def _v3_operation(rt: ResourceType, action: str, path: str, ref: Object, body: bool) -> Object:
    parameters = [
        {"name": p["name"], "in": "path", "required": True, "schema": {"type": "string"}}
        for p in _path_parameters(path)
    ]
    parameters.append({"name": "fieldValidation", "in": "query", "schema": {"type": "string"}})
    operation: Object = {
        "operationId": f"{action}{rt.kind}",
        "x-kubernetes-action": action,
        "x-kubernetes-group-version-kind": _gvk(rt),
        "parameters": parameters,
        "responses": {"200": {"content": {"application/json": {"schema": ref}}}},
    }
    if body:
        types = _patch_types(rt) if action == "patch" else ["application/json"]
        schema = _OBJECT if action == "patch" else ref
        operation["requestBody"] = {"content": {t: {"schema": schema} for t in types}}
    return operation


def v3_index(registry: Registry) -> Object:
    """``/openapi/v3``: one entry per group version, with a content hash for caching."""
    paths = {}
    for group_version in registry.group_versions():
        document = v3_group_version(registry, group_version)
        digest = hashlib.sha256(json.dumps(document, sort_keys=True).encode()).hexdigest()[:32]
        prefix = _prefix(group_version)
        paths[prefix] = {"serverRelativeURL": f"/openapi/v3/{prefix}?hash={digest.upper()}"}
    return {"paths": paths}
