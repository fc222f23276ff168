"""``spec.traffic``: how a Route (or a Service's route) splits requests.

Each target names a Revision (``revisionName``, pinned) or follows the latest ready
Revision of a Configuration (``configurationName`` / ``latestRevision: true``). Inside
a Service the Configuration is implied, so a target may name neither. Percentages
are whole numbers that sum to exactly 100; a ``tag`` gives a target its own URL.
"""

from __future__ import annotations

from typing import Any

from unkai.api.knative import problems
from unkai.api.knative.fields import Node
from unkai.api.knative.names import dns1035_label, go_list, qualified_name
from unkai.api.yamlsource import Problem

REFERENCES = ("revisionName", "configurationName")
# ``url`` is a TrafficTarget field, but only status may set it (its own check says so).
TARGET_FIELDS = frozenset(
    {"configurationName", "latestRevision", "percent", "revisionName", "tag", "url"}
)


def default(spec: dict[str, Any], *, in_service: bool) -> None:
    """Default ``spec.traffic`` in place (Knative ``RouteSpec.SetDefaults``).

    A Service without traffic sends 100% to its latest ready Revision. Every target gets
    ``latestRevision`` (true unless it names a revision) and ``percent`` (0).
    """
    traffic = spec.get("traffic")
    if not traffic and in_service:
        spec["traffic"] = traffic = [{"percent": 100, "latestRevision": True}]
    if not isinstance(traffic, list):
        return
    for target in traffic:
        if isinstance(target, dict):
            target.setdefault("latestRevision", not target.get("revisionName"))
            target.setdefault("percent", 0)


def validate(traffic: Node, *, in_service: bool) -> None:
    """Each target, unique DNS-1035 tags, and a sum of exactly 100."""
    tags: set[str] = set()
    total = 0
    for target in traffic.items():
        _validate_target(target, in_service=in_service)
        total += target.at("percent").integer() or 0
        tag = target.at("tag").string()
        if not tag:
            continue
        if errors := dns1035_label(tag):
            message = f"not a DNS 1035 label: {go_list(errors)}"
            target.report(problems.invalid_value(message, target.at("tag").path))
        if tag in tags:
            target.report(Problem(target.at("tag").path, f'Multiple definitions for "{tag}"'))
        tags.add(tag)
    if total != 100:
        traffic.report(Problem(traffic.path, f"Traffic targets sum to {total}, want 100"))


def _validate_target(target: Node, *, in_service: bool) -> None:
    target.allow_only(TARGET_FIELDS)
    revision = target.at("revisionName").string()
    configuration = target.at("configurationName").string()
    latest = target.at("latestRevision").boolean()
    if latest is not None and latest == bool(revision):
        message = (
            f'may not set revisionName "{revision}" when latestRevision is {str(latest).lower()}'
        )
        target.report(Problem(target.at("latestRevision").path, message))
    if in_service and configuration:
        target.report(problems.disallowed_field(target.at("configurationName").path))
    elif revision and configuration:
        target.report(problems.multiple_one_of(target.path, REFERENCES))
    elif revision or configuration:
        field = "revisionName" if revision else "configurationName"
        value = revision or configuration
        if errors := qualified_name(value):
            details = "; ".join(errors)
            target.report(problems.invalid_key_name(value, target.at(field).path, details))
    elif not in_service:
        target.report(problems.missing_one_of(target.path, REFERENCES))
    percent = target.at("percent").integer()
    if percent is not None and not 0 <= percent <= 100:
        target.report(problems.out_of_bounds(percent, 0, 100, target.at("percent").path))
    if target.at("url").present():
        target.report(problems.disallowed_field(target.at("url").path))
