"""The kinds ``unkai up`` serves, described as their CRDs (or core types) describe them.

Printer columns follow the ``additionalPrinterColumns`` of Knative's CRDs so that
``kubectl get ksvc`` prints what it prints against a cluster. Admission hooks are the
no-op defaults here; the platform plugs the Knative ones in with
:meth:`~unkai.platform.apiserver.types.Registry.with_admission`.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from unkai.platform.apiserver.types import Column, Object, Registry, ResourceType

SERVING = "serving.knative.dev"
EVENTING = "eventing.knative.dev"
SOURCES = "sources.knative.dev"


def field(*path: str) -> Callable[[Object], Any]:
    """Read a nested field, or None where any step is missing."""

    def read(obj: Object) -> Any:
        value: Any = obj
        for part in path:
            if not isinstance(value, dict):
                return None
            value = value.get(part)
        return value

    return read


def condition(kind: str, attribute: str) -> Callable[[Object], Any]:
    """Read ``status.conditions[?(@.type==kind)].attribute``."""

    def read(obj: Object) -> Any:
        for entry in field("status", "conditions")(obj) or ():
            if isinstance(entry, dict) and entry.get("type") == kind:
                return entry.get(attribute)
        return None

    return read


AGE = Column("Age", field("metadata", "creationTimestamp"), type="date")
READY = Column("Ready", condition("Ready", "status"))
REASON = Column("Reason", condition("Ready", "reason"))
LATEST = (
    Column("LatestCreated", field("status", "latestCreatedRevisionName")),
    Column("LatestReady", field("status", "latestReadyRevisionName")),
)
_KNATIVE = ("all", "knative")
_INVOLVED = ("kind", "namespace", "name", "uid", "apiVersion", "resourceVersion", "fieldPath")

SERVICE = ResourceType(
    SERVING, "v1", "Service", "services", "service",
    short_names=("kservice", "ksvc"), categories=(*_KNATIVE, "serving"),
    columns=(Column("URL", field("status", "url")), *LATEST, READY, REASON),
)  # fmt: skip
CONFIGURATION = ResourceType(
    SERVING, "v1", "Configuration", "configurations", "configuration",
    short_names=("config", "cfg"), categories=(*_KNATIVE, "serving"),
    columns=(*LATEST, READY, REASON),
)  # fmt: skip
REVISION = ResourceType(
    SERVING, "v1", "Revision", "revisions", "revision",
    short_names=("rev",), categories=(*_KNATIVE, "serving"),
    columns=(
        Column("Config Name", field("metadata", "labels", f"{SERVING}/configuration")),
        Column("Generation", field("metadata", "labels", f"{SERVING}/configurationGeneration")),
        READY, REASON,
        Column("Actual Replicas", field("status", "actualReplicas"), type="integer"),
        Column("Desired Replicas", field("status", "desiredReplicas"), type="integer"),
    ),
)  # fmt: skip
ROUTE = ResourceType(
    SERVING, "v1", "Route", "routes", "route",
    short_names=("rt",), categories=(*_KNATIVE, "serving"),
    columns=(Column("URL", field("status", "url")), READY, REASON),
)  # fmt: skip
BROKER = ResourceType(
    EVENTING, "v1", "Broker", "brokers", "broker", categories=(*_KNATIVE, "eventing"),
    columns=(
        Column("URL", field("status", "address", "url")), AGE, READY, REASON,
        Column("Class", field("metadata", "annotations", f"{EVENTING}/broker.class"), priority=1),
    ),
)  # fmt: skip
TRIGGER = ResourceType(
    EVENTING, "v1", "Trigger", "triggers", "trigger", categories=(*_KNATIVE, "eventing"),
    columns=(
        Column("Broker", field("spec", "broker")),
        Column("Subscriber_URI", field("status", "subscriberUri")), AGE, READY, REASON,
    ),
)  # fmt: skip
PING_SOURCE = ResourceType(
    SOURCES, "v1", "PingSource", "pingsources", "pingsource", categories=(*_KNATIVE, "sources"),
    columns=(
        Column("Sink", field("status", "sinkUri")),
        Column("Schedule", field("spec", "schedule")), AGE, READY, REASON,
    ),
)  # fmt: skip


def namespace_defaults(obj: Object) -> Object:
    """What Kubernetes fills in on a namespace: its finalizer and the Active phase."""
    spec = obj.setdefault("spec", {})
    spec.setdefault("finalizers", ["kubernetes"])
    obj.setdefault("status", {}).setdefault("phase", "Active")
    return obj


NAMESPACE = ResourceType(
    "", "v1", "Namespace", "namespaces", "namespace", namespaced=False, default=namespace_defaults,
    short_names=("ns",), strategic_merge=True, selectable_fields=("status.phase",),
    columns=(Column("Status", field("status", "phase")), AGE),
)  # fmt: skip
SECRET = ResourceType(
    "", "v1", "Secret", "secrets", "secret", has_status=False, strategic_merge=True,
    selectable_fields=("type",),
    columns=(
        Column("Type", field("type")),
        Column("Data", lambda obj: len(obj.get("data") or {}), type="integer"), AGE,
    ),
)  # fmt: skip
CONFIG_MAP = ResourceType(
    "", "v1", "ConfigMap", "configmaps", "configmap", short_names=("cm",),
    has_status=False, strategic_merge=True,
    columns=(Column("Data", lambda obj: len(obj.get("data") or {}), type="integer"), AGE),
)  # fmt: skip
EVENT = ResourceType(
    "", "v1", "Event", "events", "event", short_names=("ev",), has_status=False,
    strategic_merge=True,
    selectable_fields=(
        *(f"involvedObject.{name}" for name in _INVOLVED), "reason", "source", "type",
    ),
    columns=(
        Column("Type", field("type")), Column("Reason", field("reason")),
        Column("Message", field("message")), AGE,
    ),
)  # fmt: skip

ALL = (
    NAMESPACE, SECRET, CONFIG_MAP, EVENT,
    SERVICE, CONFIGURATION, REVISION, ROUTE, BROKER, TRIGGER, PING_SOURCE,
)  # fmt: skip


def standard_registry() -> Registry:
    """Every kind ``unkai up`` serves, with no-op admission hooks."""
    return Registry(ALL)
