"""The kinds registry the API server serves from, and its generated schemas.

Aspects: every kind the platform serves is registered with kubectl's names; each entry
defaults and validates through its own module; the shipped schemas match Knative's
CRDs (skipped where ``../shared`` is absent, as in a user's clone).
"""

from tests.api import crds
from tests.api.manifests import service
from unkai.api.knative import KINDS

EXPECTED = {
    ("serving.knative.dev", "v1", "services"): ("Service", "service", ("kservice", "ksvc")),
    ("serving.knative.dev", "v1", "configurations"): (
        "Configuration",
        "configuration",
        ("config", "cfg"),
    ),
    ("serving.knative.dev", "v1", "revisions"): ("Revision", "revision", ("rev",)),
    ("serving.knative.dev", "v1", "routes"): ("Route", "route", ("rt",)),
    ("serving.knative.dev", "v1beta1", "domainmappings"): (
        "DomainMapping",
        "domainmapping",
        ("dm",),
    ),
    ("eventing.knative.dev", "v1", "brokers"): ("Broker", "broker", ()),
    ("eventing.knative.dev", "v1", "triggers"): ("Trigger", "trigger", ()),
    ("sources.knative.dev", "v1", "pingsources"): ("PingSource", "pingsource", ()),
}


def test_every_kind_is_registered_with_kubectl_names() -> None:
    names = {key: (k.identity.kind, k.identity.singular, k.short_names) for key, k in KINDS.items()}
    assert names == EXPECTED
    assert all(kind.identity.namespaced for kind in KINDS.values())


def test_entries_default_and_validate() -> None:
    kind = KINDS[("serving.knative.dev", "v1", "services")]
    assert kind.identity.api_version == "serving.knative.dev/v1"
    defaulted = kind.default(service())
    assert defaulted["spec"]["traffic"][0]["percent"] == 100
    assert kind.validate(defaulted, None) == []


def test_schemas_describe_spec_and_status() -> None:
    schema = KINDS[("serving.knative.dev", "v1", "services")].schema
    template = schema["properties"]["spec"]["properties"]["template"]
    containers = template["properties"]["spec"]["properties"]["containers"]
    assert containers["type"] == "array"
    assert containers["items"]["x-kubernetes-preserve-unknown-fields"] is True
    assert "traffic" in schema["properties"]["status"]["properties"]
    columns = KINDS[("serving.knative.dev", "v1", "services")].printer_columns
    assert [column["name"] for column in columns] == [
        "URL",
        "LatestCreated",
        "LatestReady",
        "Ready",
        "Reason",
    ]


@crds.needed
def test_shipped_schemas_are_what_the_generator_writes() -> None:
    assert crds.OUTPUT.read_text() == crds.build(), "run: .venv/bin/python scripts/generate-schemas"
