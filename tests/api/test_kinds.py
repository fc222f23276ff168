"""How kinds are named on the wire, said once for the server, the CLI and the controllers.

Aspects: a kind's ``apiVersion`` and group-resource (core kinds have no group); the
Knative registry defines exactly the Knative kinds; the API server serves and the CLI
accepts the very same values.
"""

import pytest

from unkai.api import kinds
from unkai.api.knative import KINDS
from unkai.kube import kinds as kube_kinds
from unkai.platform.apiserver import knative_registry


@pytest.mark.parametrize(
    ("kind", "api_version", "group_resource", "list_kind"),
    [
        (kinds.SERVICE, "serving.knative.dev/v1", "services.serving.knative.dev", "ServiceList"),
        (kinds.PING_SOURCE, "sources.knative.dev/v1", "pingsources.sources.knative.dev",
         "PingSourceList"),
        (kinds.NAMESPACE, "v1", "namespaces", "NamespaceList"),
        (kinds.CONFIG_MAP, "v1", "configmaps", "ConfigMapList"),
    ],
    ids=["knative-service", "pingsource", "namespace", "configmap"],
)  # fmt: skip
def test_names_on_the_wire(
    kind: kinds.Kind, api_version: str, group_resource: str, list_kind: str
) -> None:
    assert kind.api_version == api_version
    assert kind.group_resource == group_resource
    assert kind.list_kind == list_kind


def test_the_knative_registry_defines_each_knative_kind_once() -> None:
    assert [definition.identity for definition in KINDS.values()] == list(kinds.KNATIVE)


def test_server_and_client_use_the_same_kinds() -> None:
    served = {rt.identity for rt in knative_registry()}
    assert served == {*kinds.KNATIVE, *kinds.CORE}
    assert set(kube_kinds.KNOWN) <= served
    assert kube_kinds.find("serving.knative.dev/v1", "Service") is kinds.SERVICE
    assert kube_kinds.find("v1", "Event") is None  # the CLI does not apply Events
