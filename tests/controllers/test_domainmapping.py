"""DomainMapping status and routing table, decided from the mapping and its Service's Route.

Aspects: the host is served with the Route's split (merged per revision); the URL
carries the gateway's port; a missing Service is ``ReferenceResolved=False``; a host
claimed first by another namespace is ``DomainClaimed=False`` and gets no table;
``IngressReady`` follows what the gateway applies.
"""

from datetime import UTC, datetime
from typing import Any

from unkai.platform.contracts import RoutingTable
from unkai.platform.controllers import conditions
from unkai.platform.controllers.domainmapping import host_owner, reconcile_domain_mapping
from unkai.platform.controllers.route import Network

NOW = datetime(2026, 1, 1, tzinfo=UTC)
NETWORK = Network(port=8080)


def mapping(namespace: str = "default", created: str = "2026-01-01T00:00:00Z") -> dict[str, Any]:
    return {
        "metadata": {"name": "www.example.com", "namespace": namespace, "generation": 1,
                     "creationTimestamp": created},
        "spec": {"ref": {"kind": "Service", "apiVersion": "serving.knative.dev/v1",
                         "name": "hello", "namespace": namespace}},
    }  # fmt: skip


ROUTE = {
    "metadata": {"name": "hello", "namespace": "default"},
    "status": {
        "traffic": [
            {"revisionName": "hello-00001", "percent": 60},
            {"revisionName": "hello-00002", "percent": 40, "tag": "new"},
            {"revisionName": "hello-00001", "percent": 0, "tag": "old"},
        ]
    },
}
TABLE = RoutingTable("www.example.com", (("hello-00001", 60), ("hello-00002", 40)))


def condition(status: dict[str, Any], type_: str) -> tuple[str, str]:
    found = conditions.find(status, type_)  # type: ignore[arg-type]
    assert found is not None
    return found.status, found.reason


def test_the_host_gets_the_services_split_and_is_ready_once_applied() -> None:
    decision = reconcile_domain_mapping(
        mapping(), owned=True, route=ROUTE, network=NETWORK, programmed=None, now=NOW
    )
    assert decision.table == TABLE
    assert decision.status["url"] == "http://www.example.com:8080"
    assert decision.status["address"] == {"url": "http://www.example.com:8080"}
    assert condition(decision.status, "IngressReady") == ("Unknown", "IngressNotConfigured")
    applied = reconcile_domain_mapping(
        mapping(), owned=True, route=ROUTE, network=NETWORK, programmed=TABLE, now=NOW
    )
    assert condition(applied.status, "Ready") == ("True", "")
    assert condition(applied.status, "DomainClaimed") == ("True", "")


def test_a_missing_service_does_not_resolve() -> None:
    decision = reconcile_domain_mapping(
        mapping(), owned=True, route=None, network=NETWORK, programmed=None, now=NOW
    )
    assert decision.table is None
    assert condition(decision.status, "ReferenceResolved") == ("False", "ResolveFailed")
    found = conditions.find(decision.status, "Ready")  # type: ignore[arg-type]
    assert found is not None
    assert found.message == 'services.serving.knative.dev "hello" not found'


def test_the_first_namespace_to_map_a_host_owns_it() -> None:
    first = mapping("team-a", created="2026-01-01T00:00:00Z")
    second = mapping("team-b", created="2026-01-02T00:00:00Z")
    assert host_owner([second, first]) == "team-a"
    decision = reconcile_domain_mapping(
        second, owned=False, route=ROUTE, network=NETWORK, programmed=None, now=NOW
    )
    assert decision.table is None
    assert "url" not in decision.status
    assert condition(decision.status, "Ready") == ("False", "DomainClaimNotOwned")
