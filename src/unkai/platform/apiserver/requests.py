"""Reading requests: URL paths to resource targets, bodies to JSON values.

Paths follow the Kubernetes layout::

    /api/v1/{resource}[/{name}[/{subresource}]]         (cluster-scoped, or all namespaces)
    /api/v1/namespaces/{namespace}/{resource}[/{name}[/{subresource}]]
    /apis/{group}/{version}/...                          (the same below a group)

``/api/v1/namespaces/x/status`` is the status of namespace ``x``, while
``/api/v1/namespaces/x/configmaps`` lists configmaps in it: the third segment decides.
"""

from __future__ import annotations

import asyncio
import json
from dataclasses import dataclass
from typing import Any

from starlette.requests import Request

from unkai.platform.apiserver import bodies, errors, protobuf
from unkai.platform.apiserver.patching import APPLY_PATCH
from unkai.platform.apiserver.types import Registry, ResourceType

JSON_TYPES = frozenset({
    "application/json", "application/merge-patch+json", "application/json-patch+json",
    "application/strategic-merge-patch+json",
})  # fmt: skip
YAML_TYPES = frozenset({"application/yaml", APPLY_PATCH})


@dataclass(frozen=True)
class Target:
    """What a resource URL addresses: a collection (``name`` None), an object, or an
    object's subresource; ``namespace`` None lists across namespaces."""

    rt: ResourceType
    namespace: str | None
    name: str | None
    subresource: str = ""


def resolve(registry: Registry, group: str, version: str, segments: list[str]) -> Target | None:
    """The target of the path segments after ``/api/v1`` or ``/apis/{group}/{version}``;
    None for anything not served, including subresources other than a kind's status."""
    target = _resolve(registry, group, version, segments)
    if target is None or target.subresource not in ("", "status"):
        return None
    return None if target.subresource and not target.rt.has_status else target


def _resolve(registry: Registry, group: str, version: str, segments: list[str]) -> Target | None:
    if len(segments) >= 3 and segments[0] == "namespaces":
        rt = registry.lookup(group, version, segments[2])
        if rt is not None and rt.namespaced and len(segments) <= 5:
            name = segments[3] if len(segments) > 3 else None
            return Target(rt, segments[1], name, segments[4] if len(segments) > 4 else "")
    if not segments or len(segments) > 3:
        return None
    rt = registry.lookup(group, version, segments[0])
    if rt is None or (rt.namespaced and len(segments) > 1):
        return None
    name = segments[1] if len(segments) > 1 else None
    return Target(rt, None, name, segments[2] if len(segments) > 2 else "")


def content_type(request: Request) -> str:
    return request.headers.get("content-type", "application/json").split(";")[0].strip().lower()


async def read_body(
    request: Request, *, optional: bool = False, rt: ResourceType | None = None
) -> Any:
    """The parsed body (JSON, or YAML for apply patches); 400 says what failed and where,
    413 that it is over the size limit (:mod:`~unkai.platform.apiserver.bodies`).

    ``rt`` is the kind of object a create or update carries: for the built-in kinds the
    body may then also be protobuf, as client-go's typed clients (kubectl) send it."""
    raw = await bodies.read(request)
    if optional and not raw.strip():
        return None
    kind = content_type(request)
    if kind in JSON_TYPES or kind in YAML_TYPES:
        try:
            return bodies.parse_json(raw)
        except (UnicodeDecodeError, json.JSONDecodeError) as error:
            if kind in JSON_TYPES:
                raise errors.bad_request(f"the request body is not valid JSON: {error}") from None
        # JSON is YAML, and what kubectl sends even as YAML: only other YAML gets here.
        return await asyncio.to_thread(bodies.parse_yaml, raw)
    accepted = ["application/json", "application/yaml"]
    if rt is not None and protobuf.serves(rt):
        if kind == protobuf.MEDIA_TYPE:
            return protobuf.decode(raw, rt)
        accepted.append(protobuf.MEDIA_TYPE)
    raise errors.unsupported_media_type(kind, accepted)


def field_manager(request: Request) -> str | None:
    """The ``fieldManager`` parameter, else the user agent's product name (as Kubernetes
    defaults it), else None."""
    explicit = request.query_params.get("fieldManager")
    if explicit:
        return explicit
    agent = request.headers.get("user-agent", "").split("/")[0].strip()
    return agent or None
