"""What a tenant may do: everything inside its namespace, nothing outside it.

A pure decision on the request line, made before any handler runs, so that no verb
(watch and the bundle upload included) can reach another namespace: the admin may do
anything; a tenant of namespace ``NS`` may read discovery and OpenAPI documents, read
its own Namespace object, and use any resource under ``…/namespaces/NS/``. Lists across
all namespaces, other namespaces, cluster-scoped objects and ``/metrics`` are refused
with Kubernetes' 403 wording, which kubectl prints as is.
"""

from __future__ import annotations

from typing import Final

from unkai.platform.apiserver.tokens import Identity

PUBLIC_PREFIXES: Final = ("/openapi/",)
PUBLIC_PATHS: Final = frozenset({"/api", "/api/v1", "/apis", "/openapi/v2", "/openapi/v3"})
TENANT_PREFIXES: Final = ("/unkai/v1/bundles/",)
"""Bundles are content-addressed and name no namespace: uploading one reveals nothing
and runs nothing until a Service in the tenant's own namespace names it."""
_VERBS: Final = {
    "GET": "get", "HEAD": "get", "POST": "create", "PUT": "update",
    "PATCH": "patch", "DELETE": "delete",
}  # fmt: skip


def refusal(identity: Identity, method: str, path: str) -> str | None:
    """Why ``identity`` may not send ``method path``, or ``None`` when it may."""
    namespace = identity.namespace
    if namespace is None or path in PUBLIC_PATHS or path.startswith(PUBLIC_PREFIXES):
        return None
    if path.startswith(TENANT_PREFIXES):
        return None
    parts = [part for part in path.split("/") if part]
    if parts[:1] == ["apis"] and len(parts) <= 3:
        return None  # /apis/{group}[/{version}]: discovery
    group, rest = _group_and_rest(parts)
    verb = _VERBS.get(method, method.lower())
    if rest[:1] == ["namespaces"] and len(rest) >= 2:
        asked = rest[1]
        if asked == namespace and (len(rest) > 2 or verb == "get"):
            return None
        resource = rest[2] if len(rest) > 2 else "namespaces"
        scope = f'in the namespace "{asked}"' if len(rest) > 2 else "at the cluster scope"
    else:
        resource = rest[0] if rest else path
        scope = "at the cluster scope"
    return (
        f'{resource}{"." + group if group else ""} is forbidden: User "{identity.user}" '
        f'cannot {verb} resource "{resource}" in API group "{group}" {scope}'
    )


def _group_and_rest(parts: list[str]) -> tuple[str, list[str]]:
    """``/api/v1/…`` → ``("", […])``; ``/apis/{group}/{version}/…`` → ``(group, […])``."""
    if parts[:1] == ["api"]:
        return "", parts[2:]
    if parts[:1] == ["apis"]:
        return parts[1], parts[3:]
    return "", parts
