"""Route status and routing table.

Aspects: targets resolve to latest ready or pinned Revisions; missing, waiting and
failed targets give ``AllTrafficAssigned`` Knative's ``RevisionMissing`` reasons and
keep the last good traffic; URLs with domain and port; ``IngressReady`` follows what
the gateway applies; re-running on the output changes nothing.
"""

from datetime import UTC, datetime
from typing import Any

import pytest

from unkai.api.knative import clusterconfig
from unkai.platform.contracts import RoutingTable
from unkai.platform.controllers import conditions
from unkai.platform.controllers.route import Network, reconcile_route

NOW = datetime(2026, 1, 1, tzinfo=UTC)
NETWORK = Network()


def with_ready(status: str) -> dict[str, Any]:
    return {"conditions": [{"type": "Ready", "status": status}]}


def revision(name: str, ready: str = "True") -> dict[str, Any]:
    return {"metadata": {"name": name}, "status": with_ready(ready)}


def config(latest_ready: str = "", ready: str = "Unknown") -> dict[str, Any]:
    status = with_ready(ready)
    if latest_ready:
        status["latestReadyRevisionName"] = latest_ready
    return {"metadata": {"name": "hello"}, "status": status}


def route(*traffic: dict[str, Any]) -> dict[str, Any]:
    return {
        "metadata": {"name": "hello", "namespace": "default", "generation": 2},
        "spec": {"traffic": list(traffic)},
    }


def decide(
    obj: dict[str, Any],
    *,
    configurations: dict[str, Any] | None = None,
    revisions: tuple[dict[str, Any], ...] = (),
    network: Network = NETWORK,
    programmed: RoutingTable | None = None,
) -> Any:
    return reconcile_route(
        obj,
        configurations=configurations or {},
        revisions={r["metadata"]["name"]: r for r in revisions},
        network=network,
        programmed=programmed,
        now=NOW,
    )


LATEST = {"configurationName": "hello", "latestRevision": True, "percent": 100}


def test_latest_revision_target_resolves_to_latest_ready() -> None:
    decision = decide(
        route(LATEST),
        configurations={"hello": config("hello-00002", "True")},
        revisions=(revision("hello-00002"),),
    )
    assert decision.status["traffic"] == [
        {"revisionName": "hello-00002", "latestRevision": True, "percent": 100}
    ]
    assert decision.status["url"] == "http://hello.default.localhost"
    assert decision.status["observedGeneration"] == 2
    assert decision.table == RoutingTable(
        "hello.default.localhost",
        (("hello-00002", 100),),
        aliases=("hello.default.svc.cluster.local", "hello.default.svc"),
    )
    assigned = conditions.find(decision.status, "AllTrafficAssigned")
    assert assigned is not None
    assert assigned.status == "True"
    ingress = conditions.find(decision.status, "IngressReady")
    assert ingress is not None
    assert ingress.reason == "IngressNotConfigured"


def test_ingress_ready_once_the_gateway_applies_the_table() -> None:
    first = decide(
        route(LATEST),
        configurations={"hello": config("hello-00001", "True")},
        revisions=(revision("hello-00001"),),
    )
    obj = {**route(LATEST), "status": first.status}
    second = decide(
        obj,
        configurations={"hello": config("hello-00001", "True")},
        revisions=(revision("hello-00001"),),
        programmed=first.table,
    )
    ready = conditions.find(second.status, "Ready")
    assert ready is not None
    assert ready.status == "True"
    again = decide(
        {**obj, "status": second.status},
        configurations={"hello": config("hello-00001", "True")},
        revisions=(revision("hello-00001"),),
        programmed=second.table,
    )
    assert again.status == second.status


@pytest.mark.parametrize(
    ("target", "configurations", "revisions", "status", "message"),
    [
        (
            {"revisionName": "hello-00009", "percent": 100},
            {},
            (),
            "False",
            'Revision "hello-00009" referenced in traffic not found.',
        ),
        (LATEST, {}, (), "False", 'Configuration "hello" referenced in traffic not found.'),
        (
            LATEST,
            {"hello": config()},
            (),
            "Unknown",
            'Configuration "hello" is waiting for a Revision to become ready.',
        ),
        (
            LATEST,
            {"hello": config(ready="False")},
            (),
            "False",
            'Configuration "hello" does not have any ready Revision.',
        ),
        (
            {"revisionName": "hello-00001", "percent": 100},
            {},
            (revision("hello-00001", "Unknown"),),
            "Unknown",
            'Revision "hello-00001" is not yet ready.',
        ),
        (
            {"revisionName": "hello-00001", "percent": 100},
            {},
            (revision("hello-00001", "False"),),
            "False",
            'Revision "hello-00001" failed to become ready.',
        ),
    ],
)
def test_unassignable_traffic(
    target: dict[str, Any],
    configurations: dict[str, Any],
    revisions: tuple[dict[str, Any], ...],
    status: str,
    message: str,
) -> None:
    decision = decide(route(target), configurations=configurations, revisions=revisions)
    assert decision.table is None
    assigned = conditions.find(decision.status, "AllTrafficAssigned")
    ready = conditions.find(decision.status, "Ready")
    expected = (status, "RevisionMissing", message)
    assert assigned is not None
    assert (assigned.status, assigned.reason, assigned.message) == expected
    assert ready is not None
    assert (ready.status, ready.reason, ready.message) == expected


def test_a_missing_target_keeps_the_last_good_traffic() -> None:
    good = [{"revisionName": "hello-00001", "latestRevision": False, "percent": 100}]
    obj = {**route({"revisionName": "gone", "percent": 100}), "status": {"traffic": good}}
    assert decide(obj).status["traffic"] == good


def test_urls_use_domain_and_port() -> None:
    network = Network(domain="example.test", port=8080)
    tagged = {"tag": "canary", "revisionName": "hello-00001", "percent": 0}
    decision = decide(
        route(LATEST, tagged),
        configurations={"hello": config("hello-00002", "True")},
        revisions=(revision("hello-00001"), revision("hello-00002")),
        network=network,
    )
    assert decision.status["url"] == "http://hello.default.example.test:8080"
    assert decision.status["traffic"][1]["url"] == "http://canary-hello.default.example.test:8080"
    assert decision.table.split == (("hello-00002", 100),)  # 0% targets get no share
    assert decision.table.tags == {"canary-hello.default.example.test": "hello-00001"}


def test_a_public_route_s_address_and_tags_have_cluster_local_names() -> None:
    """As Knative: ``status.address`` is the route's Kubernetes Service, and each tag
    has one too, named by the tag template; callers inside reach them by those names."""
    templates, problems = clusterconfig.network({"tag-template": "{{.Name}}--{{.Tag}}"})
    assert problems == []
    tagged = {"tag": "canary", "revisionName": "hello-00001", "percent": 0}
    decision = decide(
        route(LATEST, tagged),
        configurations={"hello": config("hello-00002", "True")},
        revisions=(revision("hello-00001"), revision("hello-00002")),
        network=Network(domain="example.test", port=8080, config=templates),
    )
    assert decision.status["url"] == "http://hello.default.example.test:8080"
    assert decision.status["address"] == {"url": "http://hello.default.svc.cluster.local"}
    assert decision.status["traffic"][1]["url"] == "http://hello--canary.default.example.test:8080"
    assert decision.table.aliases == ("hello.default.svc.cluster.local", "hello.default.svc")
    assert decision.table.tag_aliases == {
        "hello--canary.default.svc.cluster.local": "hello-00001",
        "hello--canary.default.svc": "hello-00001",
    }
    assert decision.table.public


def test_shares_of_one_revision_are_merged_in_the_table() -> None:
    decision = decide(
        route(
            {**LATEST, "percent": 40}, {"revisionName": "hello-00002", "percent": 60, "tag": "b"}
        ),
        configurations={"hello": config("hello-00002", "True")},
        revisions=(revision("hello-00002"),),
    )
    assert decision.table.split == (("hello-00002", 100),)
    assert [t["percent"] for t in decision.status["traffic"]] == [40, 60]


def test_cluster_local_visibility_publishes_the_internal_name_only() -> None:
    obj = route(LATEST)
    obj["metadata"]["labels"] = {"networking.knative.dev/visibility": "cluster-local"}
    obj["spec"]["traffic"].append({"tag": "v1", "revisionName": "hello-00001", "percent": 0})
    decision = decide(
        obj,
        configurations={"hello": config("hello-00001", "True")},
        revisions=(revision("hello-00001"),),
        network=Network(domain="example.test", port=8080),
    )
    assert decision.status["url"] == "http://hello.default.svc.cluster.local"
    assert decision.status["address"] == {"url": "http://hello.default.svc.cluster.local"}
    assert decision.status["traffic"][1]["url"] == "http://v1-hello.default.svc.cluster.local"
    assert decision.table == RoutingTable(
        "hello.default.svc.cluster.local",
        (("hello-00001", 100),),
        {"v1-hello.default.svc.cluster.local": "hello-00001"},
        aliases=("hello.default.svc",),
        tag_aliases={"v1-hello.default.svc": "hello-00001"},
        public=False,
    )
