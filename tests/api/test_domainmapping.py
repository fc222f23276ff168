"""DomainMapping admission: Knative's checks, and what unkai up cannot serve refused.

Aspects: a fully qualified name, no generateName, a complete ref in the mapping's own
namespace (defaulted to it), only Knative Services as targets, no TLS.
"""

from typing import Any

import pytest

from unkai.api.knative import KINDS

KIND = KINDS[("serving.knative.dev", "v1beta1", "domainmappings")]


def mapping(name: str = "www.example.com", **spec: Any) -> dict[str, Any]:
    ref = {"kind": "Service", "apiVersion": "serving.knative.dev/v1", "name": "hello"}
    return {
        "apiVersion": "serving.knative.dev/v1beta1",
        "kind": "DomainMapping",
        "metadata": {"name": name, "namespace": "default"},
        "spec": {"ref": ref, **spec},
    }


def admit(obj: dict[str, Any]) -> list[tuple[str, str]]:
    return [(p.field, p.message) for p in KIND.validate(KIND.default(obj), None)]


def test_a_mapping_to_a_service_passes_and_gets_its_namespace() -> None:
    assert admit(mapping()) == []
    assert KIND.default(mapping())["spec"]["ref"]["namespace"] == "default"


@pytest.mark.parametrize(
    ("obj", "found"),
    [
        (mapping("example"), [("metadata.name", 'name: Invalid value: "example": should be a'
                               " domain with at least two segments separated by dots")]),
        (mapping("Www.example.com"), [("metadata.name", 'name: Invalid value:'
          ' "Www.example.com": a lowercase RFC 1123 subdomain must consist of lower case'
          " alphanumeric characters, '-' or '.', and must start and end with an alphanumeric"
          " character (e.g. 'example.com', regex used for validation is"
          " '[a-z0-9]([-a-z0-9]*[a-z0-9])?(\\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*')")]),
        (mapping(ref={"kind": "Service", "apiVersion": "serving.knative.dev/v1", "name": "x",
                      "namespace": "other"}),
         [("spec.ref.namespace",
           'mismatched namespaces: parent namespace: "default" does not match ref: "other"')]),
        (mapping(ref={"kind": "Service", "apiVersion": "serving.knative.dev/v1"}),
         [("spec.ref.name", "missing field(s)")]),
        (mapping(ref={"kind": "Broker", "apiVersion": "eventing.knative.dev/v1", "name": "b"}),
         [("spec.ref", "invalid value: Broker (eventing.knative.dev/v1): unkai up maps"
           " domains to Knative Services (serving.knative.dev/v1) only")]),
        (mapping(tls={"secretName": "cert"}),
         [("spec.tls", "must not set the field(s): unkai up's gateway serves plain HTTP;"
           " map the domain without tls")]),
    ],
)  # fmt: skip
def test_refused(obj: dict[str, Any], found: list[tuple[str, str]]) -> None:
    assert admit(obj) == found
