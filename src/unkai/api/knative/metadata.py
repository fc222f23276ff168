"""``metadata`` rules every Knative object shares.

Knative's ``apis.ValidateObjectMetadata``: a name (or a generateName prefix) that is a
DNS-1035 label, because names become host names. Serving adds label rules: the
``serving.knative.dev/*`` labels belong to the controllers, and the ones that name an
owner must agree with an owner reference, so a user cannot graft a Revision onto
someone else's Configuration. Every object has the same top level (``apiVersion``,
``kind``, ``metadata``, ``spec``, ``status``) and its ``metadata`` is Kubernetes'
ObjectMeta; a field outside them is refused like any other unknown field.
"""

from __future__ import annotations

from collections.abc import Mapping

from unkai.api import kinds
from unkai.api.knative import problems
from unkai.api.knative.durations import parse_go_duration
from unkai.api.knative.fields import Node, dicts
from unkai.api.knative.names import dns1035_label, go_list
from unkai.api.yamlsource import Problem

SERVICE_LABEL = "serving.knative.dev/service"
SERVICE_UID_LABEL = "serving.knative.dev/serviceUID"
CONFIGURATION_LABEL = "serving.knative.dev/configuration"
CONFIGURATION_UID_LABEL = "serving.knative.dev/configurationUID"
CONFIGURATION_GENERATION_LABEL = "serving.knative.dev/configurationGeneration"
ROUTE_LABEL = "serving.knative.dev/route"
ROUTING_STATE_LABEL = "serving.knative.dev/routingState"
VISIBILITY_LABEL = "networking.knative.dev/visibility"
CLUSTER_LOCAL = "cluster-local"
AUTOSCALING_GROUP = "autoscaling.knative.dev"
ROLLOUT_DURATION_ANNOTATION = "serving.knative.dev/rollout-duration"

OBJECT_FIELDS = frozenset({"apiVersion", "kind", "metadata", "spec", "status"})
# All of ObjectMeta: the API server and the controllers write most of it.
OBJECT_META_FIELDS = frozenset(
    {
        "annotations",
        "creationTimestamp",
        "deletionGracePeriodSeconds",
        "deletionTimestamp",
        "finalizers",
        "generateName",
        "generation",
        "labels",
        "managedFields",
        "name",
        "namespace",
        "ownerReferences",
        "resourceVersion",
        "selfLink",
        "uid",
    }
)


def validate_object_fields(node: Node) -> None:
    """Only the fields Kubernetes defines at an object's top level and in its metadata.

    ``status`` is written by controllers, so what it holds is theirs to decide.
    """
    node.allow_only(OBJECT_FIELDS)
    node.at("metadata").allow_only(OBJECT_META_FIELDS)


def validate_name(meta: Node) -> None:
    """Name or generateName present, each a DNS-1035 label (or label prefix)."""
    name = meta.at("name").string()
    generate_name = meta.at("generateName").string()
    if generate_name and (errors := dns1035_label(generate_name, prefix=True)):
        message = f"not a DNS 1035 label prefix: {go_list(errors)}"
        meta.report(Problem((*meta.path, "generateName"), message))
    elif name and (errors := dns1035_label(name)):
        meta.report(Problem((*meta.path, "name"), f"not a DNS 1035 label: {go_list(errors)}"))
    elif not name and not generate_name:
        meta.report(Problem((*meta.path, "name"), "name or generateName is required"))


def validate_serving_labels(meta: Node, *, owned: Mapping[str, str | None]) -> None:
    """Reject ``serving.knative.dev/*`` labels not in ``owned``.

    ``owned`` maps each allowed label to the owner kind whose reference must carry the
    label's value as its name (``None``: allowed without a check). The visibility
    label may only say ``cluster-local``.
    """
    labels = meta.at("labels")
    references = dicts(meta.at("ownerReferences").value)
    for key, value in labels.string_map().items():
        path = (*labels.path, key)
        if key == VISIBILITY_LABEL and value != CLUSTER_LOCAL:
            meta.report(problems.invalid_value(value, path))
        elif key in owned:
            kind = owned[key]
            matches = any(
                ref.get("kind") == kind and ref.get("name") == value for ref in references
            )
            if kind is not None and not matches:
                meta.report(problems.missing_field(path))
        elif key.startswith(kinds.SERVING + "/"):
            meta.report(problems.invalid_key_name(key, path))


def validate_rollout_duration(meta: Node) -> None:
    """``serving.knative.dev/rollout-duration`` on a Service or Route: a Go duration,
    whole seconds, not negative (Knative's ``ValidateRolloutDurationAnnotation``)."""
    annotations = meta.at("annotations")
    value = annotations.string_map().get(ROLLOUT_DURATION_ANNOTATION)
    if value is None:
        return
    path = (*annotations.path, ROLLOUT_DURATION_ANNOTATION)
    try:
        duration = parse_go_duration(value)
    except ValueError:
        meta.report(problems.invalid_value(value, path))
        return
    if duration.microseconds:
        meta.report(Problem(path, f"rollout-duration={value} is not at second precision"))
    elif duration.total_seconds() < 0:
        meta.report(Problem(path, f"rollout-duration={value} must be positive"))


def reject_autoscaling_annotations(meta: Node) -> None:
    """Autoscaling annotations on a Service or Configuration itself do nothing; say so."""
    annotations = meta.at("annotations")
    for key in annotations.string_map():
        if key.startswith(AUTOSCALING_GROUP):
            details = (
                'autoscaling annotations must be put under "spec.template.metadata.annotations"'
                " to work"
            )
            meta.report(problems.invalid_key_name(key, (*annotations.path, key), details))
