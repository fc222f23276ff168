"""Discovery documents: how clients learn which groups, versions and kinds exist.

kubectl reads ``/api`` and ``/apis`` (asking for aggregated discovery first; the plain
JSON answer tells it to fall back), then ``/api/v1`` and ``/apis/{group}/{version}``
to map ``ksvc`` to ``services.serving.knative.dev/v1``.
"""

from __future__ import annotations

from typing import Any

from unkai import __version__
from unkai.platform.apiserver.types import Object, Registry

VERBS = ["create", "delete", "deletecollection", "get", "list", "patch", "update", "watch"]
KUBERNETES_VERSION = ("1", "32")


def version() -> Object:
    major, minor = KUBERNETES_VERSION
    return {
        "major": major,
        "minor": minor,
        "gitVersion": f"v{major}.{minor}.0+unkai.{__version__}",
        "gitCommit": "",
        "gitTreeState": "clean",
        "buildDate": "1970-01-01T00:00:00Z",
        "goVersion": "",
        "compiler": "unkai",
        "platform": "linux/amd64",
    }


def api_versions(server_address: str) -> Object:
    return {
        "kind": "APIVersions",
        "versions": ["v1"],
        "serverAddressByClientCIDRs": [
            {"clientCIDR": "0.0.0.0/0", "serverAddress": server_address}
        ],
    }


def _groups(registry: Registry) -> dict[str, Object]:
    """Each named group with its versions in registration order (the first preferred:
    ``serving.knative.dev`` serves ``v1`` and ``v1beta1`` for DomainMapping)."""
    groups: dict[str, list[dict[str, str]]] = {}
    for group_version, types in registry.group_versions().items():
        if types[0].group:
            version = {"groupVersion": group_version, "version": types[0].version}
            groups.setdefault(types[0].group, []).append(version)
    return {
        name: {"name": name, "versions": versions, "preferredVersion": versions[0]}
        for name, versions in groups.items()
    }


def api_groups(registry: Registry) -> Object:
    groups = list(_groups(registry).values())
    return {"kind": "APIGroupList", "apiVersion": "v1", "groups": groups}


def api_group(registry: Registry, group: str) -> Object | None:
    found = _groups(registry).get(group)
    return None if found is None else {"kind": "APIGroup", "apiVersion": "v1", **found}


def resource_list(registry: Registry, group_version: str) -> Object | None:
    """The ``APIResourceList`` of one group version (None if not served)."""
    types = registry.group_versions().get(group_version)
    if types is None:
        return None
    resources: list[dict[str, Any]] = []
    for rt in types:
        resources.append({
            "name": rt.plural,
            "singularName": rt.singular,
            "namespaced": rt.namespaced,
            "kind": rt.kind,
            "verbs": VERBS,
            **({"shortNames": list(rt.short_names)} if rt.short_names else {}),
            **({"categories": list(rt.categories)} if rt.categories else {}),
        })  # fmt: skip
        if rt.has_status:
            resources.append({
                "name": f"{rt.plural}/status",
                "singularName": "",
                "namespaced": rt.namespaced,
                "kind": rt.kind,
                "verbs": ["get", "patch", "update"],
            })  # fmt: skip
    return {
        "kind": "APIResourceList",
        "apiVersion": "v1",
        "groupVersion": group_version,
        "resources": resources,
    }
