"""Revision: the immutable snapshot of code and configuration that serves traffic.

Defaulting and validation of a RevisionSpec are shared by every place one is written:
a Revision itself and the ``spec.template`` of a Configuration or Service. A Revision's
spec never changes after creation (``Immutable fields changed (-old +new)``); a change
to a template makes a new Revision instead.
"""

from __future__ import annotations

import copy
from typing import Any

from unkai.api import kinds
from unkai.api.knative import autoscaling, clusterconfig, metadata, podspec, problems
from unkai.api.knative.diff import diff
from unkai.api.knative.fields import Node, root
from unkai.api.knative.names import dns1035_label, go_list
from unkai.api.yamlsource import Problem

SPEC_FIELDS = podspec.POD_FIELDS | {
    "containerConcurrency",
    "idleTimeoutSeconds",
    "responseStartTimeoutSeconds",
    "timeoutSeconds",
}
TEMPLATE_FIELDS = frozenset({"metadata", "spec"})
# The CRD's template metadata, and generateName, whose prefix Knative validates.
TEMPLATE_METADATA_FIELDS = frozenset(
    {"annotations", "finalizers", "generateName", "labels", "name", "namespace"}
)

REVISION_LABELS: dict[str, str | None] = {
    metadata.ROUTING_STATE_LABEL: None,
    metadata.ROUTE_LABEL: None,
    metadata.SERVICE_LABEL: None,
    metadata.SERVICE_UID_LABEL: None,
    metadata.CONFIGURATION_UID_LABEL: None,
    metadata.CONFIGURATION_GENERATION_LABEL: None,
    metadata.CONFIGURATION_LABEL: kinds.CONFIGURATION.kind,
}


def default_spec(spec: dict[str, Any]) -> None:
    """Fill a RevisionSpec in place: timeout, concurrency (``config-defaults``'s, see
    :data:`~.clusterconfig.ADMISSION_DEFAULTS`) and the container defaults.

    ``responseStartTimeoutSeconds`` and ``idleTimeoutSeconds`` stay unset, as Knative
    leaves them with its default config: unset they mean "as ``timeoutSeconds``" and
    "none", and a stored default would make lowering ``timeoutSeconds`` alone invalid.
    """
    settings = clusterconfig.ADMISSION_DEFAULTS.get()
    spec.setdefault("timeoutSeconds", settings.revision_timeout_seconds)
    spec.setdefault("containerConcurrency", settings.container_concurrency)
    podspec.default(spec)


def validate_spec(spec: Node) -> None:
    """Pod spec, the three timeouts and the concurrency limit of a RevisionSpec."""
    spec.allow_only(SPEC_FIELDS)
    podspec.validate(spec)
    settings = clusterconfig.ADMISSION_DEFAULTS.get()
    ceiling = settings.max_revision_timeout_seconds
    timeout = spec.at("timeoutSeconds").integer()
    if timeout is not None and not 1 <= timeout <= ceiling:
        spec.report(problems.out_of_bounds(timeout, 1, ceiling, spec.at("timeoutSeconds").path))
        timeout = None
    limit = timeout if timeout is not None else settings.revision_timeout_seconds
    for key in ("responseStartTimeoutSeconds", "idleTimeoutSeconds"):
        value = spec.at(key).integer()
        if value is not None and not 0 <= value <= limit:
            spec.report(problems.out_of_bounds(value, 0, limit, spec.at(key).path))
    concurrency = spec.at("containerConcurrency")
    value = concurrency.integer()
    most = settings.container_concurrency_max_limit
    if value is not None and not 0 <= value <= most:
        spec.report(problems.out_of_bounds(value, 0, most, concurrency.path))


def validate_template(template: Node, *, parent: Node) -> None:
    """A ``spec.template``: its spec, its autoscaling annotations and a BYO name.

    ``parent`` is the metadata of the Configuration or Service holding the template;
    a BYO revision name must start with ``<parent name>-`` and needs a fixed parent name.
    """
    template.allow_only(TEMPLATE_FIELDS)
    validate_spec(template.at("spec"))
    meta = template.at("metadata")
    meta.allow_only(TEMPLATE_METADATA_FIELDS)
    annotations = meta.at("annotations")
    template.problems.extend(autoscaling.validate(annotations.string_map(), annotations.path))
    generate_name = meta.at("generateName").string()
    name = meta.at("name").string()
    if generate_name and (errors := dns1035_label(generate_name, prefix=True)):
        message = f"not a DNS 1035 label prefix: {go_list(errors)}"
        template.report(problems.invalid_value(message, meta.at("generateName").path))
    if not name:
        return
    prefix = parent.at("name").string() + "-"
    if errors := dns1035_label(name):
        message = f"not a DNS 1035 label: {go_list(errors)}"
        template.report(problems.invalid_value(message, meta.at("name").path))
    elif prefix == "-" and parent.at("generateName").string():
        template.report(problems.disallowed_field(meta.at("name").path))
    elif not name.startswith(prefix):
        message = f'"{name}" must have prefix "{prefix}"'
        template.report(problems.invalid_value(message, meta.at("name").path))


def verify_name_change(template: Node, old_template: object) -> None:
    """A BYO-named template may not change without a new name (the name is the revision)."""
    name = template.at("metadata").at("name").string()
    old_name = Node(old_template, (), []).at("metadata").at("name").string()
    if not name or name != old_name:
        return
    changes = diff(old_template, template.value)
    if changes:
        message = f"Saw the following changes without a name change (-old +new)\n{changes}"
        template.report(Problem((*template.path, "metadata", "name"), message))


def default(obj: dict[str, Any]) -> dict[str, Any]:
    """A defaulted copy of a Revision."""
    result = copy.deepcopy(obj)
    spec = result.setdefault("spec", {})
    if isinstance(spec, dict):
        default_spec(spec)
    return result


def validate(obj: dict[str, Any], old: dict[str, Any] | None) -> list[Problem]:
    """A Revision on create, or its update against ``old`` (the spec is immutable)."""
    node = root(obj)
    metadata.validate_object_fields(node)
    meta = node.at("metadata")
    metadata.validate_name(meta)
    metadata.validate_serving_labels(meta, owned=REVISION_LABELS)
    annotations = meta.at("annotations")
    node.problems.extend(autoscaling.validate(annotations.string_map(), annotations.path))
    if old is None:
        validate_spec(node.at("spec"))
    elif changes := diff(old.get("spec"), obj.get("spec"), ("spec",)):
        node.report(problems.immutable_changed(("spec",), changes))
    return node.problems
