"""The kinds Unkai manages, as lightkube resource classes.

Knative's kinds are custom resources, so lightkube has no models for them; generic
resources carry them as plain dicts. Core kinds (namespaces, secrets, configmaps) are
handled the same way so that every object the CLI touches has one shape.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache
from typing import Any

from lightkube import generic_resource

from unkai.api import knative
from unkai.api.knative import registry


@dataclass(frozen=True)
class Kind:
    group: str
    version: str
    kind: str
    plural: str
    namespaced: bool = True

    @property
    def api_version(self) -> str:
        return f"{self.group}/{self.version}" if self.group else self.version

    @property
    def qualified(self) -> str:
        """``services.serving.knative.dev``: how kubectl names a resource type."""
        return f"{self.plural}.{self.group}" if self.group else self.plural


KNOWN = (
    *(
        Kind(kind.group, kind.version, kind.kind, kind.plural, kind.namespaced)
        for kind in knative.KINDS.values()
    ),
    Kind("", "v1", "Namespace", "namespaces", namespaced=False),
    Kind("", "v1", "Secret", "secrets"),
    Kind("", "v1", "ConfigMap", "configmaps"),
)


def _known(group: str, kind: str) -> Kind:
    return next(known for known in KNOWN if known.group == group and known.kind == kind)


SERVICE = _known(registry.SERVING, "Service")
CONFIGURATION = _known(registry.SERVING, "Configuration")
REVISION = _known(registry.SERVING, "Revision")
ROUTE = _known(registry.SERVING, "Route")
TRIGGER = _known(registry.EVENTING, "Trigger")


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
