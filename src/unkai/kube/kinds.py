"""The kinds Unkai manages, as lightkube resource classes.

Knative's kinds are custom resources, so lightkube has no models for them; generic
resources carry them as plain dicts. Core kinds (namespaces, secrets, configmaps) are
handled the same way so that every object the CLI touches has one shape. The kinds'
names come from :mod:`unkai.api.kinds`.
"""

from __future__ import annotations

from functools import cache
from typing import Any

from lightkube import generic_resource

from unkai.api import kinds
from unkai.api.kinds import (
    BROKER,
    CONFIGURATION,
    PING_SOURCE,
    REVISION,
    ROUTE,
    SERVICE,
    TRIGGER,
    Kind,
)

__all__ = [
    "BROKER",
    "CONFIGURATION",
    "KNOWN",
    "PING_SOURCE",
    "REVISION",
    "ROUTE",
    "SERVICE",
    "TRIGGER",
    "Kind",
    "find",
    "resource",
]

KNOWN = (*kinds.KNATIVE, kinds.NAMESPACE, kinds.SECRET, kinds.CONFIG_MAP)
"""The kinds the CLI accepts in a manifest (:func:`unkai.kube.client.to_object`)."""


def find(api_version: str, kind: str) -> Kind | None:
    for known in KNOWN:
        if known.api_version == api_version and known.kind == kind:
            return known
    return None


@cache
def resource(kind: Kind) -> Any:
    """The lightkube class for ``kind`` (made once; lightkube keeps a registry of them)."""
    if kind.namespaced:
        return generic_resource.create_namespaced_resource(
            kind.group, kind.version, kind.kind, kind.plural
        )
    return generic_resource.create_global_resource(kind.group, kind.version, kind.kind, kind.plural)
