"""Trigger: a filter on a Broker's events and the subscriber that receives them.

``spec.broker`` is required and immutable (Knative v1 does not default it). The
legacy ``filter.attributes`` map and the Subscriptions-API ``filters`` are both
checked; each element of ``filters`` may use only one dialect. A ``cesql`` expression
is parsed here, as Knative's webhook parses it, so a Trigger that could never be
compiled is refused with the position of the error; Unkai also refuses what Knative
would accept and then silently skip or never match (docs/knative-compat.md).
"""

from __future__ import annotations

import copy
import re
from typing import Any

from unkai.api.knative import destinations, metadata, problems
from unkai.api.knative.diff import diff
from unkai.api.knative.fields import Node, root
from unkai.api.yamlsource import Problem
from unkai.events import cesql

BROKER_LABEL = "eventing.knative.dev/broker"
# Not ``brokerRef``: cross-namespace brokers are behind a Knative feature flag, off by default.
SPEC_FIELDS = frozenset({"broker", "delivery", "filter", "filters", "subscriber"})
FILTER_FIELDS = frozenset({"attributes"})
DIALECTS = ("exact", "prefix", "suffix", "all", "any", "not", "cesql")
_ATTRIBUTE_NAME = re.compile(r"[a-z][a-z0-9]*")
_ATTRIBUTE_DETAILS = (
    "Attribute name must start with a letter and can only contain lowercase alphanumeric"
)


def default(obj: dict[str, Any]) -> dict[str, Any]:
    """Match-all filter, subscriber/dead-letter namespaces, and the broker label."""
    result = copy.deepcopy(obj)
    namespace = destinations.namespace_of(result)
    spec = result.setdefault("spec", {})
    if not isinstance(spec, dict):
        return result
    spec.setdefault("filter", {})
    destinations.default_destination(spec.get("subscriber"), namespace=namespace)
    destinations.default_delivery(spec.get("delivery"), namespace=namespace)
    broker = spec.get("broker")
    meta = result.setdefault("metadata", {})
    if isinstance(broker, str) and broker and isinstance(meta, dict):
        labels = meta.setdefault("labels", {})
        if isinstance(labels, dict):
            labels[BROKER_LABEL] = broker
    return result


def validate(obj: dict[str, Any], old: dict[str, Any] | None) -> list[Problem]:
    node = root(obj)
    metadata.validate_object_fields(node)
    metadata.validate_name(node.at("metadata"))
    spec = node.at("spec")
    spec.allow_only(SPEC_FIELDS)
    namespace = destinations.namespace_of(obj)
    broker = spec.at("broker").string()
    if not broker:
        node.report(problems.missing_field(spec.at("broker").path))
    spec.at("filter").allow_only(FILTER_FIELDS)
    attributes = spec.at("filter").at("attributes")
    _validate_attribute_names(attributes, single=False)
    for element in spec.at("filters").items():
        _validate_filter(element)
    destinations.validate_destination(spec.at("subscriber"), namespace=namespace)
    destinations.validate_delivery(spec.at("delivery"), namespace=namespace)
    if old is not None:
        old_broker = (old.get("spec") or {}).get("broker")
        if changes := diff(old_broker, broker, spec.at("broker").path):
            node.report(problems.immutable_changed(spec.at("broker").path, changes))
    return node.problems


def _validate_attribute_names(attributes: Node, *, single: bool) -> None:
    names = attributes.string_map()
    if single:
        _validate_not_empty(attributes, names)
    if single and len(names) > 1:
        attributes.report(
            Problem(attributes.path, "Multiple items found, can have only one key-value")
        )
    for name in names:
        if _ATTRIBUTE_NAME.fullmatch(name) is None:
            path = (*attributes.path, name)
            attributes.report(problems.invalid_key_name(name, path, _ATTRIBUTE_DETAILS))


def _validate_filter(element: Node) -> None:
    """One Subscriptions-API filter: one dialect, valid attribute names, nested filters."""
    element.allow_only(DIALECTS)
    used = [dialect for dialect in DIALECTS if element.at(dialect).value not in (None, "", {}, [])]
    if len(used) > 1:
        message = "multiple dialects found, filters can have only one dialect set"
        element.report(Problem(element.path, message))
    for dialect in ("exact", "prefix", "suffix"):
        _validate_attribute_names(element.at(dialect), single=True)
    for dialect in ("all", "any"):
        for nested in element.at(dialect).items():
            _validate_filter(nested)
    if element.at("not").present():
        _validate_filter(element.at("not"))
    _validate_cesql(element.at("cesql"))


def _validate_not_empty(attributes: Node, pairs: dict[str, str]) -> None:
    """Knative's broker drops an ``exact``/``prefix``/``suffix`` filter with an empty
    value at run time ("attribute and value can't be empty"); refuse it instead."""
    for name, value in pairs.items():
        if not value:
            message = "invalid arguments, attribute and value can't be empty"
            attributes.report(Problem((*attributes.path, name), message))


def _validate_cesql(node: Node) -> None:
    text = node.string()
    if not text:
        return
    try:
        expression = cesql.parse(text)
    except cesql.CesqlParseError as error:
        node.report(problems.invalid_value(text, node.path, f"parse error: {error}"))
        return
    for problem in expression.problems():
        node.report(problems.invalid_value(text, node.path, problem))
