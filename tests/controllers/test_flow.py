"""Knative's traffic-splitting tutorial, end to end through the pure reconcilers.

Aspects: a first deploy waits for its Revision (``RevisionMissing``), then serves it;
an update makes ``hello-00002`` while v1 keeps serving until v2 is ready; a 50/50 split
with tags gives tag URLs and a routing table; moving 100% to v2; every step settles
and re-running settled reconcilers changes nothing.
"""

from typing import Any

from tests.api.manifests import at, service
from tests.controllers.cluster import Cluster, condition
from tests.controllers.readiness import READY
from unkai.platform.contracts import RoutingTable

INTERNAL = ("hello.default.svc.cluster.local", "hello.default.svc")


def hello(target: str, **spec: Any) -> dict[str, Any]:
    manifest = service("hello", **spec)
    container = "spec.template.spec.containers[0].env"
    return at(manifest, container, [{"name": "TARGET", "value": target}])


def test_traffic_splitting_tutorial() -> None:
    cluster = Cluster()
    cluster.apply(hello("v1"))
    cluster.settle()

    svc = cluster.get("Service", "hello")
    assert svc["status"]["latestCreatedRevisionName"] == "hello-00001"
    assert "latestReadyRevisionName" not in svc["status"]
    ready = condition(svc, "Ready")
    assert (ready["status"], ready["reason"]) == ("Unknown", "RevisionMissing")
    assert ready["message"] == 'Configuration "hello" is waiting for a Revision to become ready.'
    assert svc["status"]["url"] == "http://hello.default.localhost"
    assert cluster.gateway == {}

    cluster.readiness.set("hello-00001", READY)
    cluster.tick()
    cluster.settle()
    svc = cluster.get("Service", "hello")
    assert condition(svc, "Ready")["status"] == "True"
    assert svc["status"]["latestReadyRevisionName"] == "hello-00001"
    assert svc["status"]["traffic"] == [
        {"revisionName": "hello-00001", "latestRevision": True, "percent": 100}
    ]
    assert svc["status"]["address"] == {"url": "http://hello.default.svc.cluster.local"}
    assert svc["status"]["observedGeneration"] == 1
    assert cluster.gateway["hello"] == RoutingTable(
        "hello.default.localhost", (("hello-00001", 100),), aliases=INTERNAL
    )

    cluster.apply(hello("v2"))
    cluster.tick()
    cluster.settle()
    svc = cluster.get("Service", "hello")
    assert svc["status"]["latestCreatedRevisionName"] == "hello-00002"
    assert svc["status"]["latestReadyRevisionName"] == "hello-00001"
    assert condition(svc, "ConfigurationsReady")["status"] == "Unknown"
    assert cluster.gateway["hello"].split == (("hello-00001", 100),)  # v1 keeps serving

    cluster.readiness.set("hello-00002", READY)
    cluster.tick()
    cluster.settle()
    svc = cluster.get("Service", "hello")
    assert condition(svc, "Ready")["status"] == "True"
    assert svc["status"]["traffic"] == [
        {"revisionName": "hello-00002", "latestRevision": True, "percent": 100}
    ]

    split = [
        {"tag": "v1", "revisionName": "hello-00001", "percent": 50},
        {"tag": "v2", "revisionName": "hello-00002", "percent": 50},
    ]
    cluster.apply(hello("v2", traffic=split))
    cluster.tick()
    cluster.settle()
    svc = cluster.get("Service", "hello")
    assert condition(svc, "Ready")["status"] == "True"
    assert len(cluster.of_kind("Revision")) == 2  # traffic changes make no revision
    assert svc["status"]["traffic"] == [
        {
            "tag": "v1",
            "revisionName": "hello-00001",
            "latestRevision": False,
            "percent": 50,
            "url": "http://v1-hello.default.localhost",
        },
        {
            "tag": "v2",
            "revisionName": "hello-00002",
            "latestRevision": False,
            "percent": 50,
            "url": "http://v2-hello.default.localhost",
        },
    ]
    assert cluster.gateway["hello"] == RoutingTable(
        "hello.default.localhost",
        (("hello-00001", 50), ("hello-00002", 50)),
        {"v1-hello.default.localhost": "hello-00001", "v2-hello.default.localhost": "hello-00002"},
        aliases=INTERNAL,
        tag_aliases={  # each tag's Kubernetes Service, as Knative makes one: {tag}-{name}
            "v1-hello.default.svc.cluster.local": "hello-00001",
            "v1-hello.default.svc": "hello-00001",
            "v2-hello.default.svc.cluster.local": "hello-00002",
            "v2-hello.default.svc": "hello-00002",
        },
    )

    cluster.apply(hello("v2", traffic=[{"revisionName": "hello-00002", "percent": 100}]))
    cluster.tick()
    cluster.settle()
    svc = cluster.get("Service", "hello")
    assert svc["status"]["traffic"] == [
        {"revisionName": "hello-00002", "latestRevision": False, "percent": 100}
    ]
    assert cluster.gateway["hello"].split == (("hello-00002", 100),)
    assert condition(svc, "Ready")["status"] == "True"


def test_settled_world_is_a_fixpoint() -> None:
    cluster = Cluster()
    cluster.apply(hello("v1"))
    cluster.readiness.set("hello-00001", READY)
    cluster.settle()
    cluster.tick(60)
    assert cluster.settle() == 1  # a later round, at a later time, changes nothing


def test_condition_times_move_only_when_status_changes() -> None:
    cluster = Cluster()
    cluster.apply(hello("v1"))
    cluster.settle()
    created = condition(cluster.get("Service", "hello"), "Ready")["lastTransitionTime"]
    cluster.tick(30)
    cluster.apply(at(hello("v1"), "metadata.labels", {"team": "a"}))
    cluster.settle()
    assert condition(cluster.get("Service", "hello"), "Ready")["lastTransitionTime"] == created
    cluster.readiness.set("hello-00001", READY)
    cluster.settle()
    ready = condition(cluster.get("Service", "hello"), "Ready")
    assert (ready["status"], ready["lastTransitionTime"]) == ("True", "2026-01-01T00:00:30Z")
