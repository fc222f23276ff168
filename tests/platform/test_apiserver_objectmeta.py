"""ObjectMeta validation and a garbage collector that survives what it cannot read.

Aspects: every kind refuses malformed ``ownerReferences``, ``finalizers``, labels,
annotations, names and generateNames with a 422 naming each field (as Kubernetes'
``ValidateObjectMeta``), on create, update and patch; an object stored before these
checks (written straight into the store here) is logged and skipped by the collector,
which goes on collecting dependents and emptying terminating namespaces.
"""

import logging
from typing import Any

import httpx2
import pytest

from unkai.platform.store import Key

from .conftest import RunningApi
from .test_apiserver_http import CONFIGMAPS, SERVICES, created, ksvc
from .test_apiserver_watch_delete import MERGE, eventually

REFERENCE = {"apiVersion": "v1", "kind": "ConfigMap", "name": "owner", "uid": "u-1"}
CONTROLLER = {**REFERENCE, "controller": True}


def causes(response: httpx2.Response) -> list[tuple[str, str]]:
    assert response.status_code == 422, response.text
    status = response.json()
    assert status["reason"] == "Invalid"
    return [(cause["field"], cause["message"]) for cause in status["details"]["causes"]]


def configmap(name: str = "cm", **metadata: Any) -> dict[str, Any]:
    return {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": name, **metadata}}


@pytest.mark.parametrize(
    ("metadata", "field", "message"),
    [
        ({"ownerReferences": "x"}, "metadata.ownerReferences", "must be a list"),
        ({"ownerReferences": ["x"]}, "metadata.ownerReferences[0]", "must be an owner reference"),
        ({"ownerReferences": [{**REFERENCE, "uid": ""}]}, "metadata.ownerReferences[0].uid",
         'Invalid value: "": uid must not be empty'),
        ({"ownerReferences": [{**REFERENCE, "apiVersion": "apps/"}]},
         "metadata.ownerReferences[0].apiVersion", "version must not be empty"),
        ({"ownerReferences": [{**REFERENCE, "name": 7}]}, "metadata.ownerReferences[0].name",
         "Invalid value: 7: must be a string"),
        ({"ownerReferences": [{**REFERENCE, "controller": "yes"}]},
         "metadata.ownerReferences[0].controller", "must be a boolean"),
        ({"ownerReferences": [CONTROLLER, CONTROLLER]},
         "metadata.ownerReferences", "Only one reference can have Controller set to true"),
        ({"finalizers": "abc"}, "metadata.finalizers", "must be a list of finalizer names"),
        ({"finalizers": [1]}, "metadata.finalizers", "Invalid value: 1: must be a string"),
        ({"finalizers": ["not a name"]}, "metadata.finalizers", "name part must consist of"),
        ({"labels": ["a"]}, "metadata.labels", "must be a map of strings to strings"),
        ({"labels": {"a": 1}}, "metadata.labels", 'the value of "a" must be a string'),
        ({"labels": {"a b": "x"}}, "metadata.labels", "name part must consist of"),
        ({"labels": {"a/b/c": "x"}}, "metadata.labels", "prefix part a lowercase RFC 1123"),
        ({"labels": {"a": "x" * 64}}, "metadata.labels", "must be no more than 63 characters"),
        ({"annotations": {"a": {"b": "c"}}}, "metadata.annotations", "must be a string"),
        ({"annotations": {"no spaces": "x"}}, "metadata.annotations", "name part must consist"),
        ({"annotations": {"big": "x" * 262_144}}, "metadata.annotations",
         "Too long: must have at most 262144 bytes"),
        ({"name": ["cm"]}, "metadata.name", 'Invalid value: ["cm"]: must be a string'),
        ({"name": "Not_A_Name"}, "metadata.name", "a lowercase RFC 1123 subdomain must"),
        ({"name": None, "generateName": "Bad_"}, "metadata.generateName",
         "a lowercase RFC 1123 subdomain must"),
        ({"name": None}, "metadata.name", "Required value: name or generateName is required"),
    ],
)  # fmt: skip
def test_malformed_metadata_is_invalid(
    http: httpx2.Client, metadata: dict[str, Any], field: str, message: str
) -> None:
    body = configmap(**metadata)
    body["metadata"] = {k: v for k, v in body["metadata"].items() if v is not None}
    found = causes(http.post(CONFIGMAPS, json=body))
    assert any(got == field and message in text for got, text in found), found
    assert http.get(CONFIGMAPS).json()["items"] == []


def test_well_formed_metadata_is_kept(http: httpx2.Client) -> None:
    metadata = {
        "labels": {"app.kubernetes.io/name": "x", "empty": ""},
        "annotations": {"Example.com/Note": "any text at all: {}"},
        "ownerReferences": [{**REFERENCE, "controller": True, "blockOwnerDeletion": None}],
        "finalizers": ["example.com/cleanup", "kubernetes"],
    }
    obj = created(http, configmap(**metadata), CONFIGMAPS)
    assert {key: obj["metadata"][key] for key in metadata} == metadata
    namespace = created(http, {"metadata": {"generateName": "team-"}}, "/api/v1/namespaces")
    assert namespace["metadata"]["name"].startswith("team-")
    too_long = http.post("/api/v1/namespaces", json={"metadata": {"name": "a" * 64}})
    assert "must be no more than 63 characters" in causes(too_long)[0][1]


def test_updates_and_patches_are_validated_too(http: httpx2.Client) -> None:
    obj = created(http, ksvc("meta"))
    obj["metadata"]["finalizers"] = "abc"
    assert causes(http.put(f"{SERVICES}/meta", json=obj))[0][0] == "metadata.finalizers"
    patch = {"metadata": {"ownerReferences": "x"}}
    refused = http.patch(f"{SERVICES}/meta", json=patch, headers=MERGE)
    assert causes(refused)[0][0] == "metadata.ownerReferences"
    apply = http.patch(
        f"{SERVICES}/meta",
        params={"fieldManager": "me"},
        content=b"metadata: {name: meta, labels: {a: [1]}}",
        headers={"content-type": "application/apply-patch+yaml"},
    )
    assert causes(apply) == [
        ("metadata.labels", 'Invalid value: [1]: the value of "a" must be a string')
    ]
    assert "finalizers" not in http.get(f"{SERVICES}/meta").json()["metadata"]


def store_unchecked(api: RunningApi, namespace: str, name: str, **metadata: Any) -> None:
    """Write a configmap straight into the store, as a server before these checks did."""
    obj = configmap(name, namespace=namespace, uid=f"uid-{name}", **metadata)
    api.call(api.server.service.store.create(Key("configmaps", namespace, name), obj))


def test_the_collector_skips_what_it_cannot_read(
    api: RunningApi, http: httpx2.Client, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.WARNING, logger="unkai.apiserver.collector")
    store_unchecked(api, "default", "own2", ownerReferences="x")
    store_unchecked(api, "default", "own3", ownerReferences=[{"uid": 5}])
    owner = created(http, configmap("owner"), CONFIGMAPS)
    reference = {**REFERENCE, "uid": owner["metadata"]["uid"]}
    created(http, configmap("dependent", ownerReferences=[reference]), CONFIGMAPS)
    http.delete(f"{CONFIGMAPS}/owner")
    eventually(lambda: http.get(f"{CONFIGMAPS}/dependent").status_code == 404)
    names = {item["metadata"]["name"] for item in http.get(CONFIGMAPS).json()["items"]}
    assert names == {"own2", "own3"}, "unreadable owners keep an object"
    warnings = [r.getMessage() for r in caplog.records if r.name == "unkai.apiserver.collector"]
    assert any("ownerReferences unreadable" in message for message in warnings)
    assert len(warnings) == len(set(warnings)), "each unreadable version is logged once"

    created(http, {"metadata": {"name": "team"}}, "/api/v1/namespaces")
    store_unchecked(api, "team", "broken", ownerReferences="x")
    created(http, configmap("fine"), CONFIGMAPS.replace("default", "team"))
    assert http.delete("/api/v1/namespaces/team").status_code == 200
    eventually(lambda: http.get("/api/v1/namespaces/team").status_code == 404)
    assert http.get(CONFIGMAPS.replace("default", "team")).json()["items"] == []
