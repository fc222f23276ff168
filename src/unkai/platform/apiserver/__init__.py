"""The Kubernetes-style API server of ``unkai up``: discovery, CRUD, patch, apply,
watch, status subresource, garbage collection and errors as ``Status``.

Start one with :class:`ApiServer`; controllers use its :attr:`ApiServer.service`
(:class:`ResourceService`), an async Python API with the same semantics as HTTP.
"""

from unkai.platform.apiserver.app import build_app
from unkai.platform.apiserver.errors import ApiError
from unkai.platform.apiserver.kinds import knative_registry, standard_registry
from unkai.platform.apiserver.patching import (
    APPLY_PATCH,
    JSON_PATCH,
    MERGE_PATCH,
    STRATEGIC_MERGE_PATCH,
)
from unkai.platform.apiserver.server import ApiServer
from unkai.platform.apiserver.service import ResourceService
from unkai.platform.apiserver.types import Column, Registry, ResourceType
from unkai.platform.apiserver.watching import ObjectWatch

__all__ = [
    "APPLY_PATCH",
    "JSON_PATCH",
    "MERGE_PATCH",
    "STRATEGIC_MERGE_PATCH",
    "ApiError",
    "ApiServer",
    "Column",
    "ObjectWatch",
    "Registry",
    "ResourceService",
    "ResourceType",
    "build_app",
    "knative_registry",
    "standard_registry",
]
