"""PingSource: a CloudEvent on a cron schedule, sent to a sink.

``schedule`` defaults to every minute and must parse (with ``timezone`` applied);
``data`` and ``dataBase64`` are mutually exclusive, and JSON content is checked as
JSON, as Knative's webhook does.
"""

from __future__ import annotations

import base64
import binascii
import copy
import json
from typing import Any

from unkai.api.knative import cron, destinations, metadata, problems
from unkai.api.knative.fields import Node, root
from unkai.api.yamlsource import Problem

DEFAULT_SCHEDULE = "* * * * *"
JSON_CONTENT = "application/json"
SPEC_FIELDS = frozenset(
    {"ceOverrides", "contentType", "data", "dataBase64", "schedule", "sink", "timezone"}
)


def default(obj: dict[str, Any]) -> dict[str, Any]:
    result = copy.deepcopy(obj)
    spec = result.setdefault("spec", {})
    if isinstance(spec, dict):
        if not spec.get("schedule"):
            spec["schedule"] = DEFAULT_SCHEDULE
        destinations.default_destination(
            spec.get("sink"), namespace=destinations.namespace_of(result)
        )
    return result


def validate(obj: dict[str, Any], old: dict[str, Any] | None) -> list[Problem]:
    node = root(obj)
    metadata.validate_object_fields(node)
    metadata.validate_name(node.at("metadata"))
    spec = node.at("spec")
    spec.allow_only(SPEC_FIELDS)
    timezone = spec.at("timezone").string()
    try:
        cron.parse(spec.at("schedule").string(), timezone=timezone)
    except ValueError as error:
        field = "timezone" if str(error).startswith("provided bad location") else "schedule"
        node.report(problems.invalid_value(error, spec.at(field).path))
    destinations.validate_destination(spec.at("sink"), namespace=destinations.namespace_of(obj))
    data, data_base64 = spec.at("data"), spec.at("dataBase64")
    is_json = spec.at("contentType").string() == JSON_CONTENT
    if data.string() and data_base64.string():
        node.report(problems.multiple_one_of(spec.path, ("data", "dataBase64")))
    elif data_base64.string():
        try:
            decoded = base64.b64decode(data_base64.string(), validate=True)
        except binascii.Error as error:
            node.report(problems.invalid_value(error, data_base64.path))
        else:
            if is_json:
                _require_json(decoded, data_base64)
    elif data.string() and is_json:
        _require_json(data.string().encode(), data)
    destinations.validate_ce_overrides(spec.at("ceOverrides"))
    return node.problems


def _require_json(payload: bytes, field: Node) -> None:
    try:
        json.loads(payload)
    except ValueError as error:
        field.report(problems.invalid_value(error, field.path))
