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
* Eventing: :class:`TriggerPlan` (with its :class:`DeliveryPlan`) and :class:`PingPlan`,
  what the eventing controllers resolve from Triggers and PingSources, and
  :class:`EventingPlane`, the broker data plane they program with them.
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
    CRASH_LOOP_BACK_OFF = "CrashLoopBackOff"
    UNSUPPORTED_BY_RUNNER = "UnsupportedByRunner"
    CREATE_CONTAINER_CONFIG_ERROR = "CreateContainerConfigError"
    PROTOCOL_UNSUPPORTED = "ProtocolUnsupported"
    NOT_ISOLATED = "NotIsolated"
    """Healthy, but the sandbox or limits could not be applied here (the message says
    what): on ``ContainerHealthy=True``, so that it shows without failing the revision."""


PERMANENT: frozenset[str] = frozenset(
    {
        Reason.BUNDLE_MISSING,
        Reason.CONTAINER_RUNTIME_UNAVAILABLE,
        Reason.UNSUPPORTED_BY_RUNNER,
        Reason.PROTOCOL_UNSUPPORTED,
    }
)
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
    each served 100%. ``aliases``: more names of ``host`` (the cluster-local
    ``{name}.{namespace}.svc.cluster.local`` and ``….svc``), served to callers inside
    the platform only; ``tag_aliases``: the same for the tags (cluster-local name of a
    tag → its revision). ``public``: whether callers outside may reach ``host`` and the
    tags at all (``False`` for ``networking.knative.dev/visibility: cluster-local``).
    """

    host: str
    split: tuple[tuple[str, int], ...]
    tags: Mapping[str, str] = field(default_factory=dict)
    aliases: tuple[str, ...] = ()
    tag_aliases: Mapping[str, str] = field(default_factory=dict)
    public: bool = True

    def revisions(self, namespace: str) -> set[RevisionKey]:
        """Every revision this table sends traffic to, by percent or by tag."""
        names = {name for name, _ in self.split} | set(self.tags.values())
        return {RevisionKey(namespace, name) for name in names}


BackoffPolicy = Literal["linear", "exponential"]


@dataclass(frozen=True)
class DeliveryPlan:
    """A DeliverySpec with durations in seconds and the dead-letter sink resolved.

    ``timeout`` and ``retry_after_max`` are ``None`` when not set; ``wire_format`` is
    ``"json"`` (structured) or ``"binary"`` when ``format`` forces one, else ``None``.
    """

    retry: int = 0
    backoff_policy: BackoffPolicy = "exponential"
    backoff_delay: float = 0.0
    timeout: float | None = None
    retry_after_max: float | None = None
    dead_letter_uri: str | None = None
    wire_format: Literal["json", "binary"] | None = None
    dead_letter_ca_certs: str = ""
    """PEM certificates to trust for an https dead-letter sink (its ``CACerts``)."""


@dataclass(frozen=True)
class TriggerPlan:
    """A Ready Trigger as the dispatcher serves it.

    ``filter_attributes`` is the legacy ``spec.filter.attributes``; ``filters`` the
    ``spec.filters`` list as canonical JSON text (``""`` when absent), compiled by the
    data plane so that the controllers need no filter engine.
    """

    broker: str
    subscriber_uri: str
    delivery: DeliveryPlan
    filter_attributes: tuple[tuple[str, str], ...] = ()
    filters: str = ""
    subscriber_ca_certs: str = ""
    """PEM certificates to trust for an https subscriber (the Destination's ``CACerts``)."""


@dataclass(frozen=True)
class PingPlan:
    """A PingSource as its scheduler runs it: when, what, and where to."""

    schedule: str
    timezone: str
    sink_uri: str
    content_type: str = ""
    data: bytes = b""
    extensions: tuple[tuple[str, str], ...] = ()
    sink_ca_certs: str = ""


class EventingPlane(Protocol):
    """The broker data plane, as the eventing controllers program it.

    ``None`` (or ``False`` for a broker) takes the object out. ``retain_triggers`` is
    called once the controllers have listed every Trigger: stored deliveries of any
    other trigger (deleted while the platform was down) are dropped.
    """

    def program_broker(self, key: NamespacedName, ready: bool) -> None: ...

    def program_trigger(self, key: NamespacedName, plan: TriggerPlan | None) -> None: ...

    def program_ping(self, key: NamespacedName, plan: PingPlan | None) -> None: ...

    def retain_triggers(self, keys: set[NamespacedName]) -> None: ...
