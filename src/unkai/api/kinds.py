"""What a kind is called on the wire: group, version, kind, plural and scope, said once.

Everything that names a kind — the API server's routes and discovery, the CLI's
lightkube classes, the controllers' watches and their ``ownerReferences`` — reads the
names from the :class:`Kind` values here, the way apimachinery's ``GroupVersionKind``
and ``GroupVersionResource`` serve Kubernetes' server, clients and controllers alike.
What each of them adds (admission hooks and printer columns for the server, a
lightkube class for the client) lives with them and starts from one of these values.
"""

from __future__ import annotations

from dataclasses import dataclass

SERVING = "serving.knative.dev"
EVENTING = "eventing.knative.dev"
SOURCES = "sources.knative.dev"
CORE_GROUP = ""
"""Kubernetes' core group: its ``apiVersion`` is just ``v1``."""


@dataclass(frozen=True)
class Kind:
    """One kind as the API names it; ``plural`` is the resource name in its URLs."""

    group: str
    version: str
    kind: str
    plural: str
    namespaced: bool = True

    @property
    def api_version(self) -> str:
        """``serving.knative.dev/v1``; ``v1`` for the core group."""
        return f"{self.group}/{self.version}" if self.group else self.version

    @property
    def group_resource(self) -> str:
        """``services.serving.knative.dev`` (``namespaces`` for the core group): how
        kubectl and the API server's registry name a resource across versions."""
        return f"{self.plural}.{self.group}" if self.group else self.plural

    @property
    def singular(self) -> str:
        """The lower-case kind, as Kubernetes defaults a CRD's singular name."""
        return self.kind.lower()

    @property
    def list_kind(self) -> str:
        return f"{self.kind}List"


SERVICE = Kind(SERVING, "v1", "Service", "services")
CONFIGURATION = Kind(SERVING, "v1", "Configuration", "configurations")
REVISION = Kind(SERVING, "v1", "Revision", "revisions")
ROUTE = Kind(SERVING, "v1", "Route", "routes")
DOMAIN_MAPPING = Kind(SERVING, "v1beta1", "DomainMapping", "domainmappings")
BROKER = Kind(EVENTING, "v1", "Broker", "brokers")
TRIGGER = Kind(EVENTING, "v1", "Trigger", "triggers")
PING_SOURCE = Kind(SOURCES, "v1", "PingSource", "pingsources")
KNATIVE = (
    SERVICE, CONFIGURATION, REVISION, ROUTE, DOMAIN_MAPPING, BROKER, TRIGGER, PING_SOURCE,
)  # fmt: skip
"""The Knative kinds Unkai serves and deploys."""

NAMESPACE = Kind(CORE_GROUP, "v1", "Namespace", "namespaces", namespaced=False)
SECRET = Kind(CORE_GROUP, "v1", "Secret", "secrets")
CONFIG_MAP = Kind(CORE_GROUP, "v1", "ConfigMap", "configmaps")
EVENT = Kind(CORE_GROUP, "v1", "Event", "events")
CORE_SERVICE = Kind(CORE_GROUP, "v1", "Service", "services")
"""Kubernetes' own Service: served so that ``services`` means what it means on a cluster
(``kubectl get services`` listed Knative Services otherwise), but none can be made."""
POD = Kind(CORE_GROUP, "v1", "Pod", "pods")
"""A read-only view of a revision's running instances, as a cluster shows them."""
CORE = (NAMESPACE, SECRET, CONFIG_MAP, EVENT, CORE_SERVICE, POD)
"""The core kinds ``unkai up`` serves beside Knative's."""
