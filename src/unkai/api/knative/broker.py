"""Broker: an event mesh entry point, with a class annotation and delivery defaults.

The class annotation ``eventing.knative.dev/broker.class`` is required and immutable;
Unkai serves every class with its own broker and defaults it to Knative's
``MTChannelBasedBroker`` so that manifests read back from Unkai apply unchanged to a
cluster. ``spec.config`` is immutable; ``spec.delivery`` may change.
"""

from __future__ import annotations

import copy
from typing import Any

from unkai.api.knative import destinations, metadata, problems
from unkai.api.knative.diff import diff
from unkai.api.knative.fields import root
from unkai.api.yamlsource import Problem

CLASS_ANNOTATION = "eventing.knative.dev/broker.class"
DEFAULT_CLASS = "MTChannelBasedBroker"
DEFAULT_DELIVERY = {"retry": 10, "backoffPolicy": "exponential", "backoffDelay": "PT0.2S"}
SPEC_FIELDS = frozenset({"config", "delivery"})


def default(obj: dict[str, Any]) -> dict[str, Any]:
    """Class annotation and Knative's default delivery (10 exponential retries from 0.2s)."""
    result = copy.deepcopy(obj)
    meta = result.setdefault("metadata", {})
    if isinstance(meta, dict):
        annotations = meta.setdefault("annotations", {})
        if isinstance(annotations, dict) and not annotations.get(CLASS_ANNOTATION):
            annotations[CLASS_ANNOTATION] = DEFAULT_CLASS
    spec = result.setdefault("spec", {})
    if isinstance(spec, dict):
        spec.setdefault("delivery", dict(DEFAULT_DELIVERY))
        destinations.default_delivery(spec["delivery"], namespace=destinations.namespace_of(result))
    return result


def validate(obj: dict[str, Any], old: dict[str, Any] | None) -> list[Problem]:
    node = root(obj)
    metadata.validate_object_fields(node)
    meta = node.at("metadata")
    metadata.validate_name(meta)
    annotations = meta.at("annotations")
    broker_class = annotations.string_map().get(CLASS_ANNOTATION, "")
    if not broker_class:
        node.report(problems.missing_field((*annotations.path, CLASS_ANNOTATION)))
    spec = node.at("spec")
    spec.allow_only(SPEC_FIELDS)
    namespace = destinations.namespace_of(obj)
    if spec.at("config").present():
        destinations.validate_reference(spec.at("config"), namespace="")
    destinations.validate_delivery(spec.at("delivery"), namespace=namespace)
    if old is not None:
        if changes := diff(_immutable_spec(old), _immutable_spec(obj), ("spec",)):
            node.report(problems.immutable_changed(("spec",), changes))
        old_class = ((old.get("metadata") or {}).get("annotations") or {}).get(CLASS_ANNOTATION)
        if broker_class and old_class and old_class != broker_class:
            changes = diff(old_class, broker_class, (*annotations.path, CLASS_ANNOTATION))
            message = f"Immutable annotations changed (-old +new)\n{changes}"
            node.report(Problem(annotations.path, message))
    return node.problems


def _immutable_spec(obj: dict[str, Any]) -> dict[str, Any]:
    """The spec without ``delivery``, the one part of it that may change."""
    spec = obj.get("spec")
    return {k: v for k, v in spec.items() if k != "delivery"} if isinstance(spec, dict) else {}
