"""Watch streams and deletion, over real HTTPS.

Aspects: a watch streams ADDED/MODIFIED/DELETED as JSON lines and honours
``timeoutSeconds``; it resumes from a resourceVersion; a version older than the kept
history gets an ERROR event with a 410 ``Status``; selectors filter the stream.
Deletion: finalizers hold an object with a ``deletionTimestamp``; dependents are
collected through ``ownerReferences``, recursively; deleting a namespace empties it.
"""

import json
import time
from collections.abc import Callable
from typing import Any

import httpx2

from .conftest import RunningApi, StartApi
from .test_apiserver_http import CONFIGMAPS, SERVICES, created, ksvc

CONFIGURATIONS = "/apis/serving.knative.dev/v1/namespaces/default/configurations"
REVISIONS = "/apis/serving.knative.dev/v1/namespaces/default/revisions"
MERGE = {"content-type": "application/merge-patch+json"}


def events(http: httpx2.Client, path: str, **params: str) -> list[tuple[str, Any]]:
    """Every event of a watch that ends by its own ``timeoutSeconds``."""
    with http.stream("GET", path, params={"watch": "true", **params}) as response:
        assert response.status_code == 200
        assert response.headers["content-type"] == "application/json"
        lines = [json.loads(line) for line in response.iter_lines() if line]
    return [(line["type"], line["object"]) for line in lines]


def eventually(check: Callable[[], bool], timeout: float = 10) -> None:
    deadline = time.monotonic() + timeout
    while not check():
        assert time.monotonic() < deadline, "condition not met in time"
        time.sleep(0.05)


def owned(kind: str, name: str, owner: dict[str, Any]) -> dict[str, Any]:
    reference = {
        "apiVersion": owner["apiVersion"], "kind": owner["kind"], "name": owner["metadata"]["name"],
        "uid": owner["metadata"]["uid"], "controller": True, "blockOwnerDeletion": True,
    }  # fmt: skip
    return {
        "apiVersion": "serving.knative.dev/v1",
        "kind": kind,
        "metadata": {"name": name, "ownerReferences": [reference]},
        "spec": {},
    }


def test_watch_streams_changes_and_resumes(http: httpx2.Client) -> None:
    start = http.get(SERVICES).json()["metadata"]["resourceVersion"]
    first = created(http, ksvc("w1", labels={"app": "w"}))
    http.patch(f"{SERVICES}/w1", json={"metadata": {"labels": {"x": "1"}}}, headers=MERGE)
    created(http, ksvc("w2"))
    http.delete(f"{SERVICES}/w1")
    seen = events(http, SERVICES, resourceVersion=start, timeoutSeconds="0.4")
    assert [(kind, obj["metadata"]["name"]) for kind, obj in seen] == [
        ("ADDED", "w1"), ("MODIFIED", "w1"), ("ADDED", "w2"), ("DELETED", "w1"),
    ]  # fmt: skip
    versions = [int(obj["metadata"]["resourceVersion"]) for _, obj in seen]
    assert versions == sorted(versions)
    assert versions[0] > int(start)
    resumed = events(http, SERVICES, resourceVersion=str(versions[1]), timeoutSeconds="0.4")
    assert [kind for kind, _ in resumed] == ["ADDED", "DELETED"]
    selected = events(
        http, SERVICES, resourceVersion=start, labelSelector="app=w", timeoutSeconds="0.4"
    )
    assert {obj["metadata"]["name"] for _, obj in selected} == {"w1"}
    current = events(http, SERVICES, timeoutSeconds="0.4")
    assert [(kind, obj["metadata"]["name"]) for kind, obj in current] == [("ADDED", "w2")]
    assert first["metadata"]["uid"] == seen[0][1]["metadata"]["uid"]


def test_a_live_watch_sees_new_objects(api: RunningApi, http: httpx2.Client) -> None:
    with (
        api.client() as watcher,
        watcher.stream(
            "GET", SERVICES, params={"watch": "1", "resourceVersion": "0", "timeoutSeconds": "5"}
        ) as response,
    ):
        lines = response.iter_lines()
        created(http, ksvc("live"))
        event = json.loads(next(line for line in lines if line))
        assert event["type"] == "ADDED"
        assert event["object"]["metadata"]["name"] == "live"


def test_a_selector_watch_sees_objects_leave_and_join_the_selection(
    http: httpx2.Client,
) -> None:
    created(http, ksvc("tracked", labels={"app": "w"}))
    start = http.get(SERVICES).json()["metadata"]["resourceVersion"]
    relabel = {"metadata": {"labels": {"app": "x"}}}
    http.patch(f"{SERVICES}/tracked", json=relabel, headers=MERGE)
    http.patch(f"{SERVICES}/tracked", json={"metadata": {"labels": {"app": "w"}}}, headers=MERGE)
    created(http, ksvc("never", labels={"app": "x"}))
    seen = events(
        http, SERVICES, resourceVersion=start, labelSelector="app=w", timeoutSeconds="0.4"
    )
    assert [(kind, obj["metadata"]["labels"]["app"]) for kind, obj in seen] == [
        ("DELETED", "w"),  # as it last matched, at the version where it stopped
        ("ADDED", "w"),
    ]
    assert int(seen[0][1]["metadata"]["resourceVersion"]) > int(start)


def test_watch_from_a_compacted_version_is_gone(start_api: StartApi) -> None:
    api = start_api(history=5)
    with api.client() as http:
        for index in range(12):
            created(http, ksvc(f"c{index}"))
        [(kind, status)] = events(http, SERVICES, resourceVersion="2", timeoutSeconds="0.4")
        assert kind == "ERROR"
        assert (status["kind"], status["code"], status["reason"]) == ("Status", 410, "Expired")
        assert status["message"].startswith("too old resource version: 2 (")
        recent = http.get(SERVICES).json()["metadata"]["resourceVersion"]
        assert events(http, SERVICES, resourceVersion=recent, timeoutSeconds="0.2") == []


def test_finalizers_hold_deletion_until_removed(http: httpx2.Client) -> None:
    created(http, ksvc("fin", finalizers=["example.com/cleanup"]))
    deleting = http.delete(f"{SERVICES}/fin")
    assert deleting.status_code == 200
    assert "deletionTimestamp" in deleting.json()["metadata"]
    assert deleting.json()["metadata"]["generation"] == 2
    assert "deletionTimestamp" in http.get(f"{SERVICES}/fin").json()["metadata"]
    http.patch(f"{SERVICES}/fin", json={"metadata": {"finalizers": None}}, headers=MERGE)
    assert http.get(f"{SERVICES}/fin").status_code == 404


def test_delete_cascades_through_owner_references(http: httpx2.Client) -> None:
    service = created(http, ksvc("owner"))
    configuration = created(http, owned("Configuration", "owner", service), CONFIGURATIONS)
    revision = created(http, owned("Revision", "owner-00001", configuration), REVISIONS)
    bystander = created(http, ksvc("bystander"))
    http.delete(f"{SERVICES}/owner")
    eventually(lambda: http.get(f"{REVISIONS}/owner-00001").status_code == 404)
    assert http.get(f"{CONFIGURATIONS}/owner").status_code == 404
    assert http.get(f"{SERVICES}/bystander").json() == bystander
    assert revision["metadata"]["ownerReferences"][0]["uid"] == configuration["metadata"]["uid"]


def test_orphan_propagation_keeps_the_dependents_and_drops_their_reference(
    http: httpx2.Client,
) -> None:
    service = created(http, ksvc("owner"))
    created(http, owned("Configuration", "owner", service), CONFIGURATIONS)
    deleted = http.delete(f"{SERVICES}/owner", params={"propagationPolicy": "Orphan"})
    assert deleted.status_code == 200
    assert http.get(f"{SERVICES}/owner").status_code == 404
    kept = http.get(f"{CONFIGURATIONS}/owner")
    assert kept.status_code == 200
    assert "ownerReferences" not in kept.json()["metadata"]  # no collector will take it


def test_foreground_propagation_keeps_the_owner_until_its_dependents_are_gone(
    http: httpx2.Client,
) -> None:
    service = created(http, ksvc("owner"))
    held = owned("Configuration", "owner", service)
    held["metadata"]["finalizers"] = ["example.com/hold"]  # a dependent slow to go
    created(http, held, CONFIGURATIONS)
    body = {"kind": "DeleteOptions", "apiVersion": "v1", "propagationPolicy": "Foreground"}
    deleting = http.request("DELETE", f"{SERVICES}/owner", json=body).json()
    assert deleting["metadata"]["finalizers"] == ["foregroundDeletion"]
    eventually(
        lambda: "deletionTimestamp" in http.get(f"{CONFIGURATIONS}/owner").json()["metadata"]
    )
    assert "deletionTimestamp" in http.get(f"{SERVICES}/owner").json()["metadata"]  # waits
    http.patch(f"{CONFIGURATIONS}/owner", json={"metadata": {"finalizers": None}}, headers=MERGE)
    eventually(lambda: http.get(f"{SERVICES}/owner").status_code == 404)


def test_deleting_a_namespace_deletes_what_is_in_it(http: httpx2.Client) -> None:
    created(http, {"metadata": {"name": "team"}}, "/api/v1/namespaces")
    created(http, ksvc("inside"), SERVICES.replace("default", "team"))
    created(http, {"metadata": {"name": "cm"}, "data": {}}, CONFIGMAPS.replace("default", "team"))
    terminating = http.delete("/api/v1/namespaces/team").json()
    assert terminating["status"]["phase"] == "Terminating"
    eventually(lambda: http.get("/api/v1/namespaces/team").status_code == 404)
    assert http.get("/apis/serving.knative.dev/v1/services").json()["items"] == []
    refused = http.delete("/api/v1/namespaces/default")
    assert refused.status_code == 403
    assert refused.json()["message"] == (
        'namespaces "default" is forbidden: this namespace may not be deleted'
    )
