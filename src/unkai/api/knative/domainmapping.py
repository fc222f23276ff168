"""DomainMapping (``serving.knative.dev/v1beta1``): a custom host for a Service.

The mapping's name is the host (``www.example.com``); ``spec.ref`` names what answers
it, in the mapping's own namespace. Validation follows Knative's
``domainmapping_validation.go``: the name is a fully qualified domain name (at least
two labels), no ``generateName``, a complete ``ref`` (``kind``, ``apiVersion``,
``name``) in the same namespace. Unkai's gateway routes Knative Services only and
serves plain HTTP, so a ``ref`` to any other kind and ``spec.tls`` are refused here
with the reason, rather than stored and never served.

Knative ships no CRD of it beside the v1 kinds that Unkai generates schemas from, so
its schema and printer columns are written here.
"""

from __future__ import annotations

import copy
import re
from typing import Any

from unkai.api import kinds
from unkai.api.knative import metadata, problems
from unkai.api.knative.fields import root
from unkai.api.knative.names import dns1123_subdomain, go_list
from unkai.api.yamlsource import Problem

SPEC_FIELDS = frozenset({"ref", "tls"})
REF_FIELDS = frozenset({"apiVersion", "kind", "name", "namespace", "address"})
_TWO_LABELS = re.compile(r".+\..+")

_OBJECT = {"type": "object", "x-kubernetes-preserve-unknown-fields": True}
SCHEMA: dict[str, Any] = {
    "type": "object",
    "properties": {
        "apiVersion": {"type": "string"},
        "kind": {"type": "string"},
        "metadata": {"type": "object"},
        "spec": {
            "type": "object",
            "required": ["ref"],
            "properties": {
                "ref": {
                    "type": "object",
                    "required": ["kind", "name", "apiVersion"],
                    "properties": {
                        "apiVersion": {"type": "string"},
                        "kind": {"type": "string"},
                        "name": {"type": "string"},
                        "namespace": {"type": "string"},
                        "address": {"type": "string"},
                    },
                },
                "tls": _OBJECT,
            },
        },
        "status": _OBJECT,
    },
}
PRINTER_COLUMNS: tuple[dict[str, str], ...] = (
    {"name": "URL", "type": "string", "jsonPath": ".status.url"},
    {"name": "Ready", "type": "string",
     "jsonPath": ".status.conditions[?(@.type=='Ready')].status"},
    {"name": "Reason", "type": "string",
     "jsonPath": ".status.conditions[?(@.type=='Ready')].reason"},
)  # fmt: skip


def default(obj: dict[str, Any]) -> dict[str, Any]:
    """The ref's namespace defaults to the mapping's, as Knative's ``SetDefaults``."""
    result = copy.deepcopy(obj)
    spec = result.get("spec")
    ref = spec.get("ref") if isinstance(spec, dict) else None
    namespace = (result.get("metadata") or {}).get("namespace")
    if isinstance(ref, dict) and namespace and not ref.get("namespace"):
        ref["namespace"] = namespace
    return result


def validate(obj: dict[str, Any], old: dict[str, Any] | None) -> list[Problem]:
    node = root(obj)
    metadata.validate_object_fields(node)
    meta = node.at("metadata")
    name = meta.at("name").string()
    if meta.at("generateName").string():
        node.report(problems.disallowed_field(meta.at("generateName").path))
    if errors := _fqdn(name):
        message = f'name: Invalid value: "{name}": {"; ".join(errors)}'
        node.report(Problem(meta.at("name").path, message))
    spec = node.at("spec")
    spec.allow_only(SPEC_FIELDS)
    if spec.at("tls").present():
        why = "unkai up's gateway serves plain HTTP; map the domain without tls"
        node.report(Problem(spec.at("tls").path, f"must not set the field(s): {why}"))
    ref = spec.at("ref")
    if not ref.present():
        node.report(problems.missing_field(ref.path))
        return node.problems
    ref.allow_only(REF_FIELDS)
    for key in ("kind", "apiVersion", "name"):
        if not ref.at(key).string():
            node.report(problems.missing_field(ref.at(key).path))
    namespace = meta.at("namespace").string()
    ref_namespace = ref.at("namespace").string()
    if namespace and ref_namespace and ref_namespace != namespace:
        details = f'parent namespace: "{namespace}" does not match ref: "{ref_namespace}"'
        node.report(Problem(ref.at("namespace").path, f"mismatched namespaces: {details}"))
    kind, version = ref.at("kind").string(), ref.at("apiVersion").string()
    if kind and version and (kind, version) != (kinds.SERVICE.kind, kinds.SERVICE.api_version):
        message = (
            f"invalid value: {kind} ({version}): unkai up maps domains to Knative Services"
            f" ({kinds.SERVICE.api_version}) only"
        )
        node.report(Problem(ref.path, message))
    return node.problems


def _fqdn(name: str) -> list[str]:
    """Kubernetes' ``IsFullyQualifiedDomainName``: a DNS-1123 subdomain of two labels."""
    if not name:
        return ["Required value"]
    errors = []
    if _TWO_LABELS.fullmatch(name.rstrip(".")) is None:
        errors.append("should be a domain with at least two segments separated by dots")
    if found := dns1123_subdomain(name.rstrip(".")):
        errors.append(go_list(found) if len(found) > 1 else found[0])
    return errors
