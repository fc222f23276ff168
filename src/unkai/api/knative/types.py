"""The Knative objects Unkai serves, typed: spec and status of each kind.

These are Knative's Go types (``pkg/apis/serving/v1``, ``eventing/pkg/apis``) as
``TypedDict`` s over the plain dicts the store keeps, every key optional, as
:mod:`unkai.api.objects` explains. They describe objects *after* admission: the
kind modules here (``default``/``validate``) take untrusted dicts and are what makes a
stored object fit its type; the controllers then read fields by name and mypy checks
the names. Pod-level fields (containers, volumes) stay untyped dicts: the controllers
copy them from a template to a Revision without looking inside.
"""

# ruff: noqa: N815 (keys are Knative's JSON names: latestReadyRevisionName, not snake_case)

from __future__ import annotations

from typing import Any, TypedDict

from unkai.api.objects import Object, ObjectMeta, Status

# -- serving ------------------------------------------------------------------------


class TrafficTarget(TypedDict, total=False):
    """One share of a Route's traffic: pinned to a revision or following a configuration."""

    tag: str
    revisionName: str
    configurationName: str
    latestRevision: bool
    percent: int
    url: str


class Addressable(TypedDict, total=False):
    url: str


class RevisionSpec(TypedDict, total=False):
    containers: list[dict[str, Any]]
    volumes: list[dict[str, Any]]
    containerConcurrency: int
    timeoutSeconds: int
    responseStartTimeoutSeconds: int
    idleTimeoutSeconds: int
    serviceAccountName: str


class RevisionTemplate(TypedDict, total=False):
    """What a Configuration stamps a Revision from: its metadata and spec."""

    metadata: ObjectMeta
    spec: RevisionSpec


class ContainerStatus(TypedDict, total=False):
    name: str
    imageDigest: str


class RevisionStatus(Status, total=False):
    actualReplicas: int
    desiredReplicas: int
    containerStatuses: list[ContainerStatus]


class Revision(Object, total=False):
    spec: RevisionSpec
    status: RevisionStatus


class ConfigurationSpec(TypedDict, total=False):
    template: RevisionTemplate


class ConfigurationStatus(Status, total=False):
    latestCreatedRevisionName: str
    latestReadyRevisionName: str


class Configuration(Object, total=False):
    spec: ConfigurationSpec
    status: ConfigurationStatus


class RouteSpec(TypedDict, total=False):
    traffic: list[TrafficTarget]


class RouteStatus(Status, total=False):
    url: str
    address: Addressable
    traffic: list[TrafficTarget]
    """As resolved: every entry names a ``revisionName``."""


class Route(Object, total=False):
    spec: RouteSpec
    status: RouteStatus


class ServiceSpec(ConfigurationSpec, RouteSpec, total=False):
    """A Service is a Configuration's template and a Route's traffic, inline."""


class ServiceStatus(ConfigurationStatus, RouteStatus, total=False):
    """Its children's status fields, inline, with the Service's own conditions."""


class Service(Object, total=False):
    spec: ServiceSpec
    status: ServiceStatus


# -- eventing -----------------------------------------------------------------------


class KReference(TypedDict, total=False):
    apiVersion: str
    kind: str
    name: str
    namespace: str


class Destination(TypedDict, total=False):
    """Where events go: an Addressable object, an absolute URI, or a URI relative to it."""

    ref: KReference
    uri: str
    CACerts: str
    audience: str


class DeliverySpec(TypedDict, total=False):
    deadLetterSink: Destination
    retry: int
    backoffPolicy: str
    backoffDelay: str
    retryAfterMax: str
    timeout: str
    format: str


class BrokerSpec(TypedDict, total=False):
    config: KReference
    delivery: DeliverySpec


class BrokerStatus(Status, total=False):
    address: Addressable


class Broker(Object, total=False):
    spec: BrokerSpec
    status: BrokerStatus


class TriggerFilter(TypedDict, total=False):
    attributes: dict[str, str]


class TriggerSpec(TypedDict, total=False):
    broker: str
    filter: TriggerFilter
    filters: list[dict[str, Any]]
    """Subscriptions-API filters; nested (``all``, ``any``, ``not``), so left untyped."""
    subscriber: Destination
    delivery: DeliverySpec


class TriggerStatus(Status, total=False):
    subscriberUri: str
    deadLetterSinkUri: str


class Trigger(Object, total=False):
    spec: TriggerSpec
    status: TriggerStatus


class CloudEventOverrides(TypedDict, total=False):
    extensions: dict[str, str]


class PingSourceSpec(TypedDict, total=False):
    schedule: str
    timezone: str
    contentType: str
    data: str
    dataBase64: str
    sink: Destination
    ceOverrides: CloudEventOverrides


class PingSourceStatus(Status, total=False):
    sinkUri: str


class PingSource(Object, total=False):
    spec: PingSourceSpec
    status: PingSourceStatus
