"""Route: a standalone traffic split over Revisions and Configurations.

Unlike a Service's traffic, every target of a Route must name its Revision or
Configuration, and a Route without traffic is not defaulted (the sum rule rejects it).
"""

from __future__ import annotations

import copy
from typing import Any

from unkai.api import kinds
from unkai.api.knative import metadata, traffic
from unkai.api.knative.fields import root
from unkai.api.yamlsource import Problem

SPEC_FIELDS = frozenset({"traffic"})
ROUTE_LABELS: dict[str, str | None] = {metadata.SERVICE_LABEL: kinds.SERVICE.kind}


def default(obj: dict[str, Any]) -> dict[str, Any]:
    result = copy.deepcopy(obj)
    spec = result.setdefault("spec", {})
    if isinstance(spec, dict):
        traffic.default(spec, in_service=False)
    return result


def validate(obj: dict[str, Any], old: dict[str, Any] | None) -> list[Problem]:
    node = root(obj)
    metadata.validate_object_fields(node)
    node.at("spec").allow_only(SPEC_FIELDS)
    meta = node.at("metadata")
    metadata.validate_name(meta)
    metadata.validate_serving_labels(meta, owned=ROUTE_LABELS)
    metadata.validate_rollout_duration(meta)
    traffic.validate(node.at("spec").at("traffic"), in_service=False)
    return node.problems
