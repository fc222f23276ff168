"""What the control plane and the data plane exchange, and nothing else.

The controllers (Knative's reconcilers) and the data plane (gateway, runners,
autoscaler, instances) stand side by side: neither imports the other. They meet here,
in plain values and one protocol, as Knative's reconcilers and activator meet only in
shared API types (``types.NamespacedName``, the PodAutoscaler), never in each other's
packages. An import-linter contract in ``pyproject.toml`` keeps it so.

* :class:`NamespacedName` keys every namespaced object the two sides talk about:
  a revision (:data:`RevisionKey`) or a route (:data:`RouteKey`).
* :class:`RoutingTable`: what the route controller computes and the gateway serves.
* :class:`RevisionReadiness`, answered with a :class:`RevisionHealth` made of
  :class:`Report` s: what the data plane knows about a revision, folded by the revision
  controller into its conditions.
* :class:`Reason`: the condition reasons either side writes, named once.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Literal, NamedTuple, Protocol

Status = Literal["True", "False", "Unknown"]
"""A condition's status, as Kubernetes spells it."""


class NamespacedName(NamedTuple):
    """A namespaced object, named as in the API: its namespace and its name."""

    namespace: str
    name: str

    def __str__(self) -> str:
        return f"{self.namespace}/{self.name}"


RevisionKey = NamespacedName
"""A Revision: what the gateway, the autoscaler and the runners key their state by."""
RouteKey = NamespacedName
"""A Route, as the route controller programs it into the gateway."""


class Reason(StrEnum):
    """Reasons of a Revision's conditions that the platform itself decides.

    Values are Knative's where Knative has the case (``ContainerMissing``); the rest, in
    the same CamelCase, name what only the embedded platform can hit. Reasons read from
    an instance (``ExitCode1``, ``OOMKilled``) stay plain strings: they are facts
    reported, not a closed set.
    """

    DEPLOYING = "Deploying"
    BUNDLE_MISSING = "BundleMissing"
    FUNCTION_INVALID = "FunctionInvalid"
    REQUIREMENTS_FAILED = "RequirementsFailed"
    LOAD_TIMEOUT = "LoadTimeout"
    READINESS_TIMEOUT = "ReadinessTimeout"
    FORK_FAILED = "ForkFailed"
    CONTAINER_RUNTIME_UNAVAILABLE = "ContainerRuntimeUnavailable"
    CONTAINER_MISSING = "ContainerMissing"
    INSTANCE_START_FAILED = "InstanceStartFailed"
    SCALING_FAILED = "ScalingFailed"
    CREATE_CONTAINER_CONFIG_ERROR = "CreateContainerConfigError"
    NOT_ISOLATED = "NotIsolated"
    """Healthy, but the sandbox or limits could not be applied here (the message says
    what): on ``ContainerHealthy=True``, so that it shows without failing the revision."""


PERMANENT: frozenset[str] = frozenset({Reason.BUNDLE_MISSING, Reason.CONTAINER_RUNTIME_UNAVAILABLE})
"""Reasons that retrying cannot cure until the revision or the machine changes: the
revision then reports ``ResourcesAvailable=False`` as well as an unhealthy container, as
Knative does for an image it cannot fetch."""


@dataclass(frozen=True)
class Report:
    """One reported condition: ``"True"``, ``"False"`` or ``"Unknown"``, and why.

    ``reason`` is stored as a plain ``str`` (a :class:`Reason` is converted), so a report
    serialises to JSON and YAML like any other status field."""

    status: Status
    reason: str = ""
    message: str = ""

    def __post_init__(self) -> None:
        object.__setattr__(self, "reason", str(self.reason))


DEPLOYING = Report("Unknown", Reason.DEPLOYING)
"""What a revision reports before the data plane knows anything of it."""


@dataclass(frozen=True)
class RevisionHealth:
    """What the data plane knows about one revision.

    ``resources_available``: instances could be created (False e.g. when the image or
    bundle cannot be found). ``container_healthy``: the container started and passed its
    readiness probe (False e.g. when it exits). ``active``: whether it is serving or
    scaled to zero. Replica counts are shown by ``kubectl get revisions``.
    """

    resources_available: Report
    container_healthy: Report
    active: Report | None = None
    actual_replicas: int | None = None
    desired_replicas: int | None = None


class RevisionReadiness(Protocol):
    """The data plane's answer for a revision; ``None`` while it has nothing to say."""

    def health(self, *, namespace: str, name: str) -> RevisionHealth | None: ...


@dataclass(frozen=True)
class RoutingTable:
    """What the gateway serves for one Route; hosts carry no port.

    ``split``: ``(revision, percent)`` pairs for ``host``, merged per revision, zero
    shares left out, in the order of ``spec.traffic``. ``tags``: tag host → revision,
    each served 100%.
    """

    host: str
    split: tuple[tuple[str, int], ...]
    tags: Mapping[str, str] = field(default_factory=dict)

    def revisions(self, namespace: str) -> set[RevisionKey]:
        """Every revision this table sends traffic to, by percent or by tag."""
        names = {name for name, _ in self.split} | set(self.tags.values())
        return {RevisionKey(namespace, name) for name in names}
