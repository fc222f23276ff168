"""The kinds ``unkai up`` serves, described as their CRDs (or core types) describe them.

Every kind's names come from :mod:`unkai.api.kinds`. The Knative kinds' schemas and
columns come from :data:`unkai.api.knative.KINDS` (the ``additionalPrinterColumns`` of
Knative's CRDs, so that ``kubectl get ksvc`` prints what it prints against a cluster);
how the core kinds are served is described here.
:func:`knative_registry` adds Knative's defaulting and validation.
"""

from __future__ import annotations

import re
from base64 import b64encode
from collections.abc import Callable
from typing import Any

from unkai.api import kinds, knative
from unkai.api.knative import clusterconfig
from unkai.api.yamlsource import Problem
from unkai.platform.apiserver.types import Column, Object, Registry, ResourceType


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


AGE = Column("Age", field("metadata", "creationTimestamp"), type="date")
_INVOLVED = ("kind", "namespace", "name", "uid", "apiVersion", "resourceVersion", "fieldPath")
_SEGMENT = re.compile(
    r"""\.((?:\\\.|[^.\[])+)"""  # .name, with \. escapes
    r"""|\[['"]((?:\\\.|[^'"])+)['"]\]"""  # ['quoted.name']
    r"""|\[\?\(@\.(\w+)==['"]([^'"]*)['"]\)\]"""  # [?(@.type=="Ready")]
)


def json_path(expression: str) -> Callable[[Object], Any]:
    """A reader for the JSONPath subset of CRD printer columns (None where it misses)."""
    steps: list[tuple[str, ...]] = []
    for match in _SEGMENT.finditer(expression):
        name, quoted, key, value = match.groups()
        if key is not None:
            steps.append(("filter", key, value))
        else:
            steps.append(("field", (name or quoted).replace("\\.", ".")))

    def read(obj: Object) -> Any:
        value: Any = obj
        for step in steps:
            if step[0] == "field":
                value = value.get(step[1]) if isinstance(value, dict) else None
            else:
                items = value if isinstance(value, list) else []
                value = next(
                    (i for i in items if isinstance(i, dict) and i.get(step[1]) == step[2]), None
                )
        return value

    return read


def knative_type(definition: knative.Definition) -> ResourceType:
    """The served form of a Knative kind: names, columns and schema from its CRD."""
    columns = tuple(
        Column(
            column["name"],
            json_path(column["jsonPath"]),
            type=column.get("type", "string"),
            priority=int(column.get("priority", 0)),
        )
        for column in definition.printer_columns
    )
    return ResourceType(
        definition.identity, short_names=definition.short_names,
        categories=definition.categories, columns=columns, schema=dict(definition.schema),
    )  # fmt: skip


def namespace_defaults(obj: Object) -> Object:
    """What Kubernetes fills in on a namespace: its finalizer and the Active phase."""
    spec = obj.setdefault("spec", {})
    spec.setdefault("finalizers", ["kubernetes"])
    obj.setdefault("status", {}).setdefault("phase", "Active")
    return obj


def secret_defaults(obj: Object) -> Object:
    """What Kubernetes makes of a written secret: ``stringData`` merged into ``data``
    (base64-encoded, winning over ``data``) and never stored, and the ``Opaque`` type
    when none is given (``kubectl create secret generic`` leaves it to the server)."""
    string_data = obj.get("stringData")
    if isinstance(string_data, dict):
        del obj["stringData"]
        data = obj["data"] if isinstance(obj.get("data"), dict) else {}
        encoded = {
            key: b64encode(str(value).encode()).decode() for key, value in string_data.items()
        }
        obj["data"] = {**data, **encoded}
    if not obj.get("type"):
        obj["type"] = "Opaque"
    return obj


NAMESPACE = ResourceType(
    kinds.NAMESPACE, short_names=("ns",), default=namespace_defaults, strategic_merge=True,
    selectable_fields=("status.phase",), columns=(Column("Status", field("status", "phase")), AGE),
)  # fmt: skip
SECRET = ResourceType(
    kinds.SECRET, has_status=False, strategic_merge=True, default=secret_defaults,
    selectable_fields=("type",),
    columns=(
        Column("Type", field("type")),
        Column("Data", lambda obj: len(obj.get("data") or {}), type="integer"), AGE,
    ),
)  # fmt: skip
CONFIG_MAP = ResourceType(
    kinds.CONFIG_MAP, short_names=("cm",), has_status=False, strategic_merge=True,
    columns=(Column("Data", lambda obj: len(obj.get("data") or {}), type="integer"), AGE),
)  # fmt: skip
EVENT = ResourceType(
    kinds.EVENT, short_names=("ev",), has_status=False, strategic_merge=True,
    selectable_fields=(
        *(f"involvedObject.{name}" for name in _INVOLVED), "reason", "source", "type",
    ),
    columns=(
        Column("Type", field("type")), Column("Reason", field("reason")),
        Column("Message", field("message")), AGE,
    ),
)  # fmt: skip


def no_core_services(obj: Object, old: Object | None) -> list[Problem]:
    """``unkai up`` routes through its gateway, not Kubernetes Services: refuse one
    rather than store it and route nothing to it."""
    return [Problem((), NO_CORE_SERVICES)]


NO_CORE_SERVICES = (
    "unkai up runs no Kubernetes Services (its gateway routes Knative Services by host); "
    "deploy a Knative Service (apiVersion: serving.knative.dev/v1) instead"
)
CORE_SERVICE = ResourceType(
    kinds.CORE_SERVICE, short_names=("svc",), strategic_merge=True, validate=no_core_services,
    columns=(Column("Type", field("spec", "type")), AGE),
)  # fmt: skip


def _ready(obj: Object) -> str:
    statuses = field("status", "containerStatuses")(obj) or []
    return f"{sum(1 for s in statuses if s.get('ready'))}/{len(statuses)}"


POD = ResourceType(
    kinds.POD, short_names=("po",), read_only=True, strategic_merge=True,
    selectable_fields=("status.phase",),
    columns=(
        Column("Ready", _ready), Column("Status", field("status", "phase")),
        Column(
            "Restarts",
            lambda obj: sum(s.get("restartCount", 0)
                            for s in field("status", "containerStatuses")(obj) or []),
            type="integer",
        ),
        AGE,
    ),
)  # fmt: skip

CORE = (NAMESPACE, SECRET, CONFIG_MAP, EVENT, CORE_SERVICE, POD)


def standard_registry() -> Registry:
    """Every kind ``unkai up`` serves, with no-op admission hooks (generic API tests)."""
    return Registry((*CORE, *(knative_type(definition) for definition in knative.KINDS.values())))


def knative_registry(
    defaults: Callable[[], clusterconfig.DefaultsConfig] = clusterconfig.DefaultsConfig,
) -> Registry:
    """The served kinds with Knative's defaulting and validation plugged in, run with
    the ``config-defaults`` that ``defaults()`` gives at the time."""
    registry = standard_registry()
    for definition in knative.KINDS.values():
        registry = registry.with_admission(
            definition.identity.group_resource,
            default=clusterconfig.admitting(definition.default, defaults),
            validate=clusterconfig.admitting(definition.validate, defaults),
            webhook=WEBHOOKS[definition.identity.group],
        )
    return registry.with_admission(
        kinds.CONFIG_MAP.group_resource,
        validate=clusterconfig.validate,
        webhook="config.webhook.serving.knative.dev",
    )


WEBHOOKS = {
    kinds.SERVING: "validation.webhook.serving.knative.dev",
    kinds.EVENTING: "validation.webhook.eventing.knative.dev",
    kinds.SOURCES: "validation.webhook.eventing.knative.dev",
}
"""The Knative webhook each group's refusals come from, as a cluster names it."""
