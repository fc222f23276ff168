"""Eventing's shared shapes: Destination, KReference, DeliverySpec, CE overrides.

A Trigger's subscriber, a PingSource's sink and a dead-letter sink are all
``duckv1.Destination``: a reference to an Addressable object, an absolute URI, or a
reference plus a relative URI resolved against it. Defaulting fills a reference's
namespace with the parent's, as Knative does. ``CACerts`` and ``audience`` (TLS and
OIDC towards the destination) are accepted, as fields Knative defines.
"""

from __future__ import annotations

import re
from typing import Any
from urllib.parse import urlsplit

from unkai.api.knative import problems
from unkai.api.knative.durations import parse_iso8601_duration
from unkai.api.knative.fields import Node
from unkai.api.yamlsource import Problem

DESTINATION_FIELDS = frozenset({"CACerts", "audience", "ref", "uri"})
REFERENCE_FIELDS = frozenset({"apiVersion", "kind", "name", "namespace"})
# ``timeout`` and ``retryAfterMax`` are behind Knative feature flags; Unkai takes both.
DELIVERY_FIELDS = frozenset(
    {
        "backoffDelay",
        "backoffPolicy",
        "deadLetterSink",
        "format",
        "retry",
        "retryAfterMax",
        "timeout",
    }
)
CE_OVERRIDES_FIELDS = frozenset({"extensions"})
BACKOFF_POLICIES = ("linear", "exponential")
DELIVERY_FORMATS = ("json", "binary")
_EXTENSION_NAME = re.compile(r"[a-z0-9]+")


def default_destination(destination: object, *, namespace: str) -> None:
    """Give ``ref`` the parent's namespace when it has none."""
    if isinstance(destination, dict):
        ref = destination.get("ref")
        if isinstance(ref, dict) and not ref.get("namespace") and namespace:
            ref["namespace"] = namespace


def default_delivery(delivery: object, *, namespace: str) -> None:
    if isinstance(delivery, dict):
        default_destination(delivery.get("deadLetterSink"), namespace=namespace)


def validate_destination(destination: Node, *, namespace: str) -> None:
    """Exactly Knative's rules for ``ref`` and ``uri``, and a same-namespace ``ref``."""
    destination.allow_only(DESTINATION_FIELDS)
    ref = destination.at("ref")
    uri = destination.at("uri").string()
    parts = urlsplit(uri)
    absolute = bool(parts.scheme) and bool(parts.netloc)
    if not ref.present() and not uri:
        destination.report(Problem(destination.path, "expected at least one, got none: ref, uri"))
    elif ref.present() and uri and parts.scheme:
        message = "Absolute URI is not allowed when Ref or [apiVersion, kind, name] exists"
        destination.report(Problem(destination.path, message))
    elif not ref.present() and not absolute:
        message = "Relative URI is not allowed when Ref and [apiVersion, kind, name] is absent"
        destination.report(problems.invalid_value(message, destination.at("uri").path))
    elif ref.present():
        validate_reference(ref, namespace=namespace)


def validate_reference(ref: Node, *, namespace: str) -> None:
    ref.allow_only(REFERENCE_FIELDS)
    for key in ("name", "apiVersion", "kind"):
        if not ref.at(key).string():
            ref.report(problems.missing_field(ref.at(key).path))
    other = ref.at("namespace").string()
    if other and namespace and other != namespace:
        message = (
            f'mismatched namespaces: parent namespace: "{namespace}" does not match ref: "{other}"'
        )
        ref.report(Problem(ref.at("namespace").path, message))


def validate_delivery(delivery: Node, *, namespace: str) -> None:
    """``DeliverySpec``: retries, backoff, timeouts (ISO-8601), format, dead-letter sink."""
    if not delivery.present():
        return
    delivery.allow_only(DELIVERY_FIELDS)
    if delivery.at("deadLetterSink").present():
        validate_destination(delivery.at("deadLetterSink"), namespace=namespace)
    retry = delivery.at("retry").integer()
    if retry is not None and retry < 0:
        delivery.report(problems.invalid_value(retry, delivery.at("retry").path))
    policy = delivery.at("backoffPolicy")
    if policy.present() and policy.string() not in BACKOFF_POLICIES:
        delivery.report(problems.invalid_value(policy.string(), policy.path))
    for key in ("backoffDelay", "timeout", "retryAfterMax"):
        field = delivery.at(key)
        if not field.present():
            continue
        try:
            duration = parse_iso8601_duration(field.string())
        except ValueError:
            delivery.report(problems.invalid_value(field.string(), field.path))
            continue
        if key == "timeout" and not duration:
            delivery.report(problems.invalid_value(field.string(), field.path))
    delivery_format = delivery.at("format")
    if delivery_format.present() and delivery_format.string() not in DELIVERY_FORMATS:
        delivery.report(problems.invalid_value(delivery_format.string(), delivery_format.path))


def validate_ce_overrides(overrides: Node) -> None:
    """Extension names a CloudEvent may carry: non-empty, lowercase alphanumeric, ≤ 20."""
    overrides.allow_only(CE_OVERRIDES_FIELDS)
    extensions = overrides.at("extensions")
    for key in extensions.string_map():
        path = (*extensions.path, key)
        if not key:
            overrides.report(problems.invalid_key_name(key, path, "keys MUST NOT be empty"))
        elif len(key) > 20:
            details = "keys SHOULD NOT be longer than 20 characters"
            overrides.report(problems.invalid_key_name(key, path, details))
        elif _EXTENSION_NAME.fullmatch(key) is None:
            details = "keys are expected to be alphanumeric"
            overrides.report(problems.invalid_key_name(key, path, details))


def namespace_of(obj: dict[str, Any]) -> str:
    meta = obj.get("metadata")
    namespace = meta.get("namespace") if isinstance(meta, dict) else None
    return namespace if isinstance(namespace, str) else ""
