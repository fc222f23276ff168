"""Eventing reconcilers as pure decisions: Broker, Trigger and PingSource status and plans.

Each takes the object, what it depends on (looked up through ``lookup``) and ``now``,
and returns its new status and what the broker data plane should serve (a
:class:`~unkai.platform.contracts.TriggerPlan`, a :class:`~unkai.platform.contracts.PingPlan`,
or whether a broker takes events). Conditions and reasons are Knative's
(``pkg/apis/eventing/v1/*_lifecycle.go``, ``pkg/apis/sources/v1/ping_lifecycle.go``),
so ``kubectl wait --for=condition=Ready`` and scripts written for a cluster work here.

Destinations resolve as Knative's resolver does: a ``ref`` to an Addressable (a Service,
a Broker) gives its ``status.address.url``; a ``uri`` alone is used as written, and with
a ``ref`` it is resolved relative to the ref's URL. A destination's ``CACerts`` (PEM) is
what an https request to it trusts; certificates that do not load leave it unresolved.
Its ``audience`` is not used: it names the OIDC token Knative sends when its
``authentication-oidc`` feature is on (off by default), and ``unkai up`` issues no
tokens; the resolved condition's message says so.
"""

from __future__ import annotations

import base64
import json
import ssl
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any
from urllib.parse import urljoin

from unkai.api import kinds
from unkai.api.knative.durations import parse_iso8601_duration
from unkai.api.objects import Condition as StoredCondition
from unkai.platform.contracts import DeliveryPlan, PingPlan, TriggerPlan
from unkai.platform.controllers import conditions, objects
from unkai.platform.controllers.conditions import Condition

INGRESS_HOST = "broker-ingress.knative-eventing"
DEPENDENCY_ANNOTATION = "knative.dev/dependency"
Lookup = Callable[[str, str, str], Any]
"""``lookup(group_resource, namespace, name)``: the object, or ``None``."""

ADDRESSABLE = {
    (kinds.SERVING, kinds.SERVICE.kind): kinds.SERVICE.group_resource,
    (kinds.EVENTING, kinds.BROKER.kind): kinds.BROKER.group_resource,
}


@dataclass(frozen=True)
class Resolved:
    """A destination's URI, or why there is none yet."""

    uri: str | None
    reason: str = ""
    message: str = ""
    ca_certs: str = ""
    note: str = ""
    """For a resolved destination: what of it is not applied (its ``audience``)."""


def broker_url(namespace: str, name: str, *, domain: str, port: int) -> str:
    """Where a Broker takes events: Knative's ingress path on the gateway's port."""
    host = f"{INGRESS_HOST}.{domain}"
    authority = host if port == 80 else f"{host}:{port}"
    return f"http://{authority}/{namespace}/{name}"


def resolve(destination: Mapping[str, Any] | None, namespace: str, lookup: Lookup) -> Resolved:
    """The URI a ``duckv1.Destination`` names now."""
    if not destination:
        return Resolved(None, "DestinationMissing", "no destination given")
    ca_certs = str(destination.get("CACerts") or "")
    if ca_certs and (problem := _pem_problem(ca_certs)):
        return Resolved(None, "InvalidCACerts", f"CACerts: {problem}")
    note = AUDIENCE_NOTE if destination.get("audience") else ""
    uri = destination.get("uri") or ""
    ref = destination.get("ref")
    if not ref:
        return Resolved(uri, ca_certs=ca_certs, note=note)
    group = str(ref.get("apiVersion", "")).partition("/")[0]
    kind, name = ref.get("kind", ""), ref.get("name", "")
    where = f"{kind} {ref.get('namespace') or namespace}/{name}"
    resource = ADDRESSABLE.get((group, kind))
    if resource is None:
        message = f"{ref.get('apiVersion')} {kind} is not an Addressable this platform serves"
        return Resolved(None, "NotAddressable", message)
    target = lookup(resource, ref.get("namespace") or namespace, name)
    if target is None:
        return Resolved(None, "NotFound", f"{where} does not exist")
    address = ((target.get("status") or {}).get("address") or {}).get("url")
    if not address:
        return Resolved(None, "AddressNotSet", f"{where} has no address yet (not Ready)")
    return Resolved(urljoin(address, uri) if uri else address, ca_certs=ca_certs, note=note)


AUDIENCE_NOTE = (
    "audience is not used: unkai up sends no OIDC token (as Knative with its "
    "authentication-oidc feature off, the default)"
)


def _pem_problem(pem: str) -> str:
    """Why ``pem`` does not load as trusted certificates ("" when it does)."""
    try:
        ssl.create_default_context(cadata=pem)
    except (ssl.SSLError, ValueError) as error:
        return f"not PEM certificates ({error.args[-1] if error.args else error})"
    return ""


def delivery_plan(
    spec: Mapping[str, Any] | None, dead_letter_uri: str | None, dead_letter_ca_certs: str = ""
) -> DeliveryPlan:
    """A validated DeliverySpec in seconds (admission checked every field)."""
    spec = spec or {}

    def seconds(field: str) -> float | None:
        text = spec.get(field)
        return parse_iso8601_duration(text).total_seconds() if text else None

    return DeliveryPlan(
        retry=int(spec.get("retry") or 0),
        backoff_policy="linear" if spec.get("backoffPolicy") == "linear" else "exponential",
        backoff_delay=seconds("backoffDelay") or 0.0,
        timeout=seconds("timeout"),
        retry_after_max=seconds("retryAfterMax"),
        dead_letter_uri=dead_letter_uri,
        wire_format=spec.get("format") or None,
        dead_letter_ca_certs=dead_letter_ca_certs,
    )


def _dead_letter(
    delivery: Mapping[str, Any] | None, namespace: str, lookup: Lookup
) -> tuple[Condition, Resolved]:
    """``DeadLetterSinkResolved`` and the sink (True, not configured, when none)."""
    sink = (delivery or {}).get("deadLetterSink")
    if not sink:
        message = "No dead letter sink is configured."
        return Condition("DeadLetterSinkResolved", "True", "DeadLetterSinkNotConfigured",
                         message), Resolved(None)  # fmt: skip
    found = resolve(sink, namespace, lookup)
    if found.uri is None:
        reason = "Unable to get the dead letter sink's URI"
        return Condition("DeadLetterSinkResolved", "False", reason, found.message), found
    return _resolved("DeadLetterSinkResolved", found), found


def _resolved(kind: str, found: Resolved) -> Condition:
    """A True condition for a resolved destination, saying what of it is not applied."""
    return Condition(kind, "True", "", found.note) if found.note else Condition.true(kind)


def _status(obj: Any, wanted: list[Condition], now: datetime) -> dict[str, Any]:
    old: list[StoredCondition] = (obj.get("status") or {}).get("conditions", [])
    merged = conditions.merge(old, [*wanted, conditions.ready(wanted)], now=now)
    return {"observedGeneration": objects.generation(obj), "conditions": merged}


@dataclass(frozen=True)
class BrokerDecision:
    status: dict[str, Any]
    ready: bool


def reconcile_broker(
    broker: Any, *, domain: str, port: int, lookup: Lookup, now: datetime
) -> BrokerDecision:
    """Ingress, filter and the trigger queue are in-process and always there; the
    broker is Ready with its address once its dead-letter sink (if any) resolves."""
    metadata = broker["metadata"]
    url = broker_url(metadata["namespace"], metadata["name"], domain=domain, port=port)
    delivery = (broker.get("spec") or {}).get("delivery")
    dead_letter, dead_letter_sink = _dead_letter(delivery, metadata["namespace"], lookup)
    wanted = [
        Condition.true("Addressable"),
        Condition.true("FilterReady"),
        Condition.true("IngressReady"),
        Condition.true("TriggerChannelReady"),
        dead_letter,
    ]
    status = _status(broker, wanted, now)
    status["address"] = {"name": "http", "url": url}
    status["addresses"] = [{"name": "http", "url": url}]
    if dead_letter_sink.uri:
        status["deadLetterSinkUri"] = dead_letter_sink.uri
    ready = all(condition.status == "True" for condition in wanted)
    return BrokerDecision(status, ready)


@dataclass(frozen=True)
class TriggerDecision:
    status: dict[str, Any]
    plan: TriggerPlan | None


def reconcile_trigger(trigger: Any, *, lookup: Lookup, now: datetime) -> TriggerDecision:
    """Knative's Trigger conditions; a plan only when every one of them is True.

    The Trigger's own ``delivery`` wins whole over the Broker's (no field merge)."""
    metadata, spec = trigger["metadata"], trigger.get("spec") or {}
    namespace = metadata["namespace"]
    broker = lookup(kinds.BROKER.group_resource, namespace, spec.get("broker", ""))
    broker_ready = conditions.find((broker or {}).get("status"), conditions.READY)
    if broker is None:
        broker_condition = Condition("BrokerReady", "False", "BrokerDoesNotExist",
                                     f'Broker "{spec.get("broker")}" does not exist')  # fmt: skip
    elif broker_ready is None or broker_ready.status != "True":
        reason = broker_ready.reason if broker_ready and broker_ready.reason else "BrokerNotReady"
        message = broker_ready.message if broker_ready else "the broker is not Ready yet"
        broker_condition = Condition("BrokerReady", "Unknown", reason, message)
    else:
        broker_condition = Condition.true("BrokerReady")
    subscriber = resolve(spec.get("subscriber"), namespace, lookup)
    subscriber_condition = _resolved("SubscriberResolved", subscriber)
    if not subscriber.uri:
        reason = "Unable to get the Subscriber's URI"
        subscriber_condition = Condition("SubscriberResolved", "False", reason, subscriber.message)
    delivery = spec.get("delivery") or ((broker or {}).get("spec") or {}).get("delivery")
    dead_letter, dead_letter_sink = _dead_letter(delivery, namespace, lookup)
    wanted = [
        broker_condition,
        _dependency(metadata, lookup),
        subscriber_condition,
        dead_letter,
    ]
    ready = all(condition.status == "True" for condition in wanted)
    wanted.append(
        Condition.true("SubscriptionReady")
        if ready
        else Condition("SubscriptionReady", "Unknown", "NotSubscribed", "waiting for the above")
    )
    status = _status(trigger, wanted, now)
    if subscriber.uri:
        status["subscriberUri"] = subscriber.uri
    if dead_letter_sink.uri:
        status["deadLetterSinkUri"] = dead_letter_sink.uri
    if not ready or subscriber.uri is None:
        return TriggerDecision(status, None)
    attributes = (spec.get("filter") or {}).get("attributes") or {}
    filters = spec.get("filters")
    plan = TriggerPlan(
        broker=spec["broker"],
        subscriber_uri=subscriber.uri,
        delivery=delivery_plan(delivery, dead_letter_sink.uri, dead_letter_sink.ca_certs),
        filter_attributes=tuple(sorted(attributes.items())),
        filters=json.dumps(filters, sort_keys=True) if filters else "",
        subscriber_ca_certs=subscriber.ca_certs,
    )
    return TriggerDecision(status, plan)


def _dependency(metadata: Mapping[str, Any], lookup: Lookup) -> Condition:
    """``DependencyReady`` from the ``knative.dev/dependency`` annotation (Knative's
    trigger lifecycle): True without one; else the named source's Ready. Only
    PingSources are sources here, so any other kind is Unknown and says so."""
    text = (metadata.get("annotations") or {}).get(DEPENDENCY_ANNOTATION)
    if not text:
        return Condition.true("DependencyReady")
    try:
        ref = json.loads(text)
        kind, name = ref["kind"], ref["name"]
    except (ValueError, TypeError, KeyError):
        message = f"{DEPENDENCY_ANNOTATION} is not a JSON object reference: {text}"
        return Condition("DependencyReady", "False", "DependencyInvalid", message)
    if kind != kinds.PING_SOURCE.kind:
        return Condition("DependencyReady", "Unknown", "DependencyUnknown",
                         f"{kind} is not a source this platform runs")  # fmt: skip
    source = lookup(kinds.PING_SOURCE.group_resource, metadata["namespace"], name)
    found = conditions.find((source or {}).get("status"), conditions.READY)
    if source is None:
        return Condition("DependencyReady", "False", "DependencyDoesNotExist",
                         f"PingSource {name} does not exist")  # fmt: skip
    if found is None or found.status != "True":
        return Condition("DependencyReady", "Unknown", "DependencyNotReady",
                         f"PingSource {name} is not Ready")  # fmt: skip
    return Condition.true("DependencyReady")


@dataclass(frozen=True)
class PingDecision:
    status: dict[str, Any]
    plan: PingPlan | None


def reconcile_ping(source: Any, *, lookup: Lookup, now: datetime) -> PingDecision:
    """``SinkProvided`` when the sink resolves; ``Deployed`` once the scheduler runs it
    (in-process, so as soon as there is a plan)."""
    metadata, spec = source["metadata"], source.get("spec") or {}
    sink = resolve(spec.get("sink"), metadata["namespace"], lookup)
    if sink.uri is None:
        wanted = [
            Condition("SinkProvided", "False", "NotFound", sink.message),
            Condition("Deployed", "Unknown", "NoSink", "waiting for the sink"),
        ]
        return PingDecision(_status(source, wanted, now), None)
    wanted = [_resolved("SinkProvided", sink), Condition.true("Deployed")]
    status = _status(source, wanted, now)
    status["sinkUri"] = sink.uri
    overrides = (spec.get("ceOverrides") or {}).get("extensions") or {}
    data = (
        base64.b64decode(spec["dataBase64"])
        if spec.get("dataBase64")
        else str(spec.get("data") or "").encode()
    )
    plan = PingPlan(
        schedule=spec.get("schedule") or "* * * * *",
        timezone=spec.get("timezone") or "",
        sink_uri=sink.uri,
        content_type=spec.get("contentType") or "",
        data=data,
        extensions=tuple(sorted(overrides.items())),
        sink_ca_certs=sink.ca_certs,
    )
    return PingDecision(status, plan)
