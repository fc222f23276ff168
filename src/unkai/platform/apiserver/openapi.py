"""OpenAPI v2 and v3 documents, generated from the registry at startup.

kubectl refuses to ``apply`` unless it can download one of them. Each kind publishes
its :attr:`~unkai.platform.apiserver.types.ResourceType.schema` or, by default, a
permissive object schema that keeps unknown fields, tagged with
``x-kubernetes-group-version-kind`` like a CRD's. The v3 PATCH operations list the
patch types each kind accepts; kubectl reads them to decide whether to send a
strategic-merge patch (built-in kinds) or a JSON merge patch (Knative kinds).
"""

from __future__ import annotations

import hashlib
import json
from typing import Any

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


def v2(registry: Registry) -> Object:
    return {
        "swagger": "2.0",
        "info": {"title": "Unkai", "version": __version__},
        "paths": {},
        "definitions": {definition_name(rt): schema_of(rt) for rt in registry},
    }


def _prefix(group_version: str) -> str:
    return f"apis/{group_version}" if "/" in group_version else f"api/{group_version}"


def v3_group_version(registry: Registry, group_version: str) -> Object | None:
    """The OpenAPI 3 document of one group version (None if not served)."""
    types = registry.group_versions().get(group_version)
    if types is None:
        return None
    paths: dict[str, Any] = {}
    for rt in types:
        ref = {"$ref": f"#/components/schemas/{definition_name(rt)}"}
        gvk = {"group": rt.group, "version": rt.version, "kind": rt.kind}
        scope = "/namespaces/{namespace}" if rt.namespaced else ""
        patch_types = [*_PATCH_TYPES]
        if rt.strategic_merge:
            patch_types.append("application/strategic-merge-patch+json")
        item = f"/{_prefix(group_version)}{scope}/{rt.plural}/{{name}}"
        operation = {
            "x-kubernetes-group-version-kind": gvk,
            "parameters": [
                {"name": "fieldValidation", "in": "query", "schema": {"type": "string"}}
            ],
            "responses": {"200": {"content": {"application/json": {"schema": ref}}}},
        }
        paths[item] = {
            "get": {**operation, "x-kubernetes-action": "get"},
            "put": {**operation, "x-kubernetes-action": "put",
                    "requestBody": {"content": {"application/json": {"schema": ref}}}},
            "patch": {**operation, "x-kubernetes-action": "patch",
                      "requestBody": {"content": {t: {"schema": _OBJECT} for t in patch_types}}},
        }  # fmt: skip
        paths[f"/{_prefix(group_version)}{scope}/{rt.plural}"] = {
            "post": {**operation, "x-kubernetes-action": "post",
                     "requestBody": {"content": {"application/json": {"schema": ref}}}},
        }  # fmt: skip
    return {
        "openapi": "3.0.0",
        "info": {"title": "Unkai", "version": __version__},
        "paths": paths,
        "components": {"schemas": {definition_name(rt): schema_of(rt) for rt in types}},
    }


def v3_index(registry: Registry) -> Object:
    """``/openapi/v3``: one entry per group version, with a content hash for caching."""
    paths = {}
    for group_version in registry.group_versions():
        document = v3_group_version(registry, group_version)
        digest = hashlib.sha256(json.dumps(document, sort_keys=True).encode()).hexdigest()[:32]
        prefix = _prefix(group_version)
        paths[prefix] = {"serverRelativeURL": f"/openapi/v3/{prefix}?hash={digest.upper()}"}
    return {"paths": paths}
