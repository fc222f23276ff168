"""Configuration: the desired Revision template, stamped out on every change.

Validated like a Revision template with the Configuration as parent; on update, a
template with a user-chosen (BYO) name must get a new name when it changes.
"""

from __future__ import annotations

import copy
from typing import Any

from unkai.api import kinds
from unkai.api.knative import metadata, revision
from unkai.api.knative.fields import Node, root
from unkai.api.yamlsource import Problem

SPEC_FIELDS = frozenset({"template"})
CONFIGURATION_LABELS: dict[str, str | None] = {
    metadata.ROUTE_LABEL: None,
    metadata.CONFIGURATION_UID_LABEL: None,
    metadata.SERVICE_UID_LABEL: None,
    metadata.SERVICE_LABEL: kinds.SERVICE.kind,
}


def default_template_spec(spec: dict[str, Any]) -> None:
    """Default the RevisionSpec inside ``spec.template`` (Configuration or Service spec)."""
    template = spec.setdefault("template", {})
    if isinstance(template, dict):
        template_spec = template.setdefault("spec", {})
        if isinstance(template_spec, dict):
            revision.default_spec(template_spec)


def validate_template_holder(node: Node, old: dict[str, Any] | None) -> None:
    """Metadata rules and ``spec.template`` shared by Configuration and Service."""
    meta = node.at("metadata")
    metadata.validate_name(meta)
    metadata.reject_autoscaling_annotations(meta)
    template = node.at("spec").at("template")
    revision.validate_template(template, parent=meta)
    if old is not None:
        old_template = Node(old, (), []).at("spec").at("template").value
        revision.verify_name_change(template, old_template)


def default(obj: dict[str, Any]) -> dict[str, Any]:
    """A defaulted copy of a Configuration."""
    result = copy.deepcopy(obj)
    spec = result.setdefault("spec", {})
    if isinstance(spec, dict):
        default_template_spec(spec)
    return result


def validate(obj: dict[str, Any], old: dict[str, Any] | None) -> list[Problem]:
    node = root(obj)
    metadata.validate_object_fields(node)
    node.at("spec").allow_only(SPEC_FIELDS)
    metadata.validate_serving_labels(node.at("metadata"), owned=CONFIGURATION_LABELS)
    validate_template_holder(node, old)
    return node.problems
