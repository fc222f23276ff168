"""Service: a Configuration and a Route under one name.

A Service's spec is a Configuration spec (``template``) plus a Route spec
(``traffic``) whose targets imply the Service's own Configuration.
"""

from __future__ import annotations

import copy
from typing import Any

from unkai.api.knative import configuration, metadata, route, traffic
from unkai.api.knative.fields import root
from unkai.api.yamlsource import Problem

SPEC_FIELDS = configuration.SPEC_FIELDS | route.SPEC_FIELDS
SERVICE_LABELS: dict[str, str | None] = {}


def default(obj: dict[str, Any]) -> dict[str, Any]:
    """A defaulted copy of a Service: template spec and traffic."""
    result = copy.deepcopy(obj)
    spec = result.setdefault("spec", {})
    if isinstance(spec, dict):
        configuration.default_template_spec(spec)
        traffic.default(spec, in_service=True)
    return result


def validate(obj: dict[str, Any], old: dict[str, Any] | None) -> list[Problem]:
    node = root(obj)
    metadata.validate_object_fields(node)
    node.at("spec").allow_only(SPEC_FIELDS)
    metadata.validate_serving_labels(node.at("metadata"), owned=SERVICE_LABELS)
    metadata.validate_rollout_duration(node.at("metadata"))
    configuration.validate_template_holder(node, old)
    traffic.validate(node.at("spec").at("traffic"), in_service=True)
    return node.problems
