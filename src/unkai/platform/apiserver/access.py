"""What a tenant may do: everything inside its namespace, nothing outside it.

A pure decision on the request line, made before any handler runs, so that no verb
(watch and the bundle upload included) can reach another namespace: the admin may do
anything; a tenant of namespace ``NS`` may read discovery and OpenAPI documents, read
its own Namespace object, and use any resource under ``…/namespaces/NS/``, Unkai's
bundles (``/unkai/v1/namespaces/NS/bundles/…``) included. Lists across all namespaces,
other namespaces, cluster-scoped objects and other paths (``/metrics``) are refused with
Kubernetes' 403 wording and verbs (``get`` an object, ``list`` a collection, ``watch``
with ``?watch=true``; ``cannot get path "/metrics"``), which kubectl prints as is.
"""

from __future__ import annotations

from typing import Final
from urllib.parse import parse_qs

from unkai.platform.apiserver.tokens import Identity

PUBLIC_PREFIXES: Final = ("/openapi/",)
PUBLIC_PATHS: Final = frozenset({"/api", "/api/v1", "/apis", "/openapi/v2", "/openapi/v3"})
EXTENSION: Final = ("unkai", "v1")
"""``/unkai/v1/…``: Unkai's own resources (bundles), checked as an API group "unkai"."""
_VERBS: Final = {
    "GET": "get", "HEAD": "get", "POST": "create", "PUT": "update",
    "PATCH": "patch", "DELETE": "delete",
}  # fmt: skip
_TRUE: Final = frozenset({"true", "1"})  # how Kubernetes reads a boolean query parameter


def refusal(identity: Identity, method: str, path: str, query: str = "") -> str | None:
    """Why ``identity`` may not send ``method path?query``, or ``None`` when it may."""
    namespace = identity.namespace
    if namespace is None or path in PUBLIC_PATHS or path.startswith(PUBLIC_PREFIXES):
        return None
    parts = [part for part in path.split("/") if part]
    if parts[:1] == ["apis"] and len(parts) <= 3:
        return None  # /apis/{group}[/{version}]: discovery
    resources = _group_and_rest(parts)
    if resources is None:  # what Kubernetes calls a non-resource URL
        return f'forbidden: User "{identity.user}" cannot {method.lower()} path "{path}"'
    group, rest = resources
    if rest[:1] == ["namespaces"] and len(rest) >= 2:
        asked = rest[1]
        collection = len(rest) == 3
        if asked == namespace and (len(rest) > 2 or method in ("GET", "HEAD")):
            return None
        resource = rest[2] if len(rest) > 2 else "namespaces"
        scope = f'in the namespace "{asked}"' if len(rest) > 2 else "at the cluster scope"
    else:
        collection = len(rest) == 1
        resource = rest[0] if rest else ""
        scope = "at the cluster scope"
    verb = _verb(method, query, collection=collection)
    return (
        f'{resource}{"." + group if group else ""} is forbidden: User "{identity.user}" '
        f'cannot {verb} resource "{resource}" in API group "{group}" {scope}'
    )


def _verb(method: str, query: str, *, collection: bool) -> str:
    """The Kubernetes verb of a request: a read is ``get``, ``list`` or ``watch``."""
    verb = _VERBS.get(method, method.lower())
    if verb != "get" or not collection:
        return verb
    watch = parse_qs(query).get("watch", [""])[-1].lower() in _TRUE
    return "watch" if watch else "list"


def _group_and_rest(parts: list[str]) -> tuple[str, list[str]] | None:
    """``/api/v1/…`` → ``("", […])``; ``/apis/{group}/{version}/…`` → ``(group, […])``;
    ``/unkai/v1/…`` → ``("unkai", […])``; ``None`` for any other path."""
    if parts[:1] == ["api"]:
        return "", parts[2:]
    if parts[:1] == ["apis"]:
        return parts[1], parts[3:]
    if tuple(parts[:2]) == EXTENSION:
        return EXTENSION[0], parts[2:]
    return None
