"""The API server through lightkube, the client the CLI uses: every verb, typed errors,
and server-side apply with field managers.

Aspects: create/get/list (selectors)/replace (409 on a stale version)/patch (merge,
JSON)/delete for a Knative kind and a core kind; the status subresource; watch;
server-side apply creating, updating, conflicting between two managers, and forcing.
"""

from typing import Any

import pytest
from lightkube import ApiError, Client
from lightkube.generic_resource import create_namespaced_resource
from lightkube.models.meta_v1 import ObjectMeta
from lightkube.resources.core_v1 import ConfigMap, Namespace
from lightkube.types import PatchType

from .conftest import RunningApi

KService = create_namespaced_resource("serving.knative.dev", "v1", "Service", "services")


def ksvc(name: str, image: str = "example.com/hello", **metadata: Any) -> Any:
    return KService(
        metadata=ObjectMeta(name=name, **metadata),
        spec={"template": {"spec": {"containers": [{"image": image}]}}},
    )


@pytest.fixture(name="client")
def client_fixture(api: RunningApi) -> Client:
    return api.lightkube()


def test_every_verb_on_a_knative_kind(client: Client) -> None:
    made = client.create(ksvc("hello", labels={"app": "hello"}))
    assert made.metadata.generation == 1
    client.create(ksvc("other", labels={"app": "other"}))
    got = client.get(KService, "hello")
    assert got.metadata.uid == made.metadata.uid
    assert [o.metadata.name for o in client.list(KService, labels={"app": "hello"})] == ["hello"]
    assert [o.metadata.name for o in client.list(KService, fields={"metadata.name": "other"})] == [
        "other"
    ]
    got.spec["template"]["spec"]["containers"][0]["image"] = "example.com/v2"
    replaced = client.replace(got)
    assert replaced.metadata.generation == 2
    with pytest.raises(ApiError) as stale:
        client.replace(got)
    assert stale.value.status.code == 409
    assert stale.value.status.reason == "Conflict"
    merged = client.patch(
        KService, "hello", {"metadata": {"labels": {"x": "y"}}}, patch_type=PatchType.MERGE
    )
    assert merged.metadata.labels == {"app": "hello", "x": "y"}
    ops = [{"op": "remove", "path": "/metadata/labels/x"}]
    assert client.patch(KService, "hello", ops, patch_type=PatchType.JSON).metadata.labels == {
        "app": "hello"
    }
    client.delete(KService, "hello")
    with pytest.raises(ApiError) as missing:
        client.get(KService, "hello")
    assert missing.value.status.code == 404


def test_status_subresource(client: Client) -> None:
    client.create(ksvc("st"))
    status = {"status": {"url": "http://st.default.localhost", "observedGeneration": 1}}
    client.patch(KService.Status, "st", status, patch_type=PatchType.MERGE)
    got = client.get(KService, "st")
    assert got.status["url"] == "http://st.default.localhost"
    got.status["url"] = "http://other"
    assert client.replace(got).status["url"] == "http://st.default.localhost"


def test_core_kinds(client: Client) -> None:
    client.create(Namespace(metadata=ObjectMeta(name="team")))
    assert client.get(Namespace, "team").status.phase == "Active"
    client.create(ConfigMap(metadata=ObjectMeta(name="cfg"), data={"a": "1"}), namespace="team")
    patched = client.patch(ConfigMap, "cfg", {"data": {"b": "2"}}, namespace="team")
    assert patched.data == {"a": "1", "b": "2"}
    with pytest.raises(ApiError) as nowhere:
        client.create(ConfigMap(metadata=ObjectMeta(name="cfg")), namespace="nowhere")
    assert nowhere.value.status.message == 'namespaces "nowhere" not found'


def test_watch_yields_typed_events(client: Client) -> None:
    client.create(ksvc("a"))
    version = client.get(KService, "a").metadata.resourceVersion
    client.create(ksvc("b"))
    client.delete(KService, "a")
    seen = []
    for kind, obj in client.watch(KService, resource_version=version, server_timeout=1):
        seen.append((kind, obj.metadata.name))
        if len(seen) == 2:
            break
    assert seen == [("ADDED", "b"), ("DELETED", "a")]


def test_server_side_apply_owns_conflicts_and_forces(api: RunningApi) -> None:
    alice, bob = api.lightkube(field_manager="alice"), api.lightkube(field_manager="bob")
    first = alice.apply(ksvc("ssa", labels={"team": "a"}))
    assert first.metadata.generation == 1
    [entry] = first.metadata.managedFields
    assert (entry.manager, entry.operation) == ("alice", "Apply")
    assert entry.fieldsV1["f:spec"] == {"f:template": {"f:spec": {"f:containers": {}}}}
    updated = alice.apply(ksvc("ssa", image="example.com/v2"))
    assert updated.metadata.generation == 2
    assert updated.metadata.labels is None, "a field alice stopped applying is removed"
    shared = bob.apply(ksvc("ssa", image="example.com/v2"))
    assert shared.metadata.generation == 2, "same values: no spec change, shared ownership"
    assert {e.manager for e in shared.metadata.managedFields} == {"alice", "bob"}
    with pytest.raises(ApiError) as conflict:
        bob.apply(ksvc("ssa", image="example.com/v3"))
    status = conflict.value.status
    assert status.code == 409
    assert status.message == (
        'Apply failed with 1 conflict: conflict with "alice" using serving.knative.dev/v1: '
        ".spec.template.spec.containers"
    )
    assert status.details.causes[0].reason == "FieldManagerConflict"
    forced = bob.apply(ksvc("ssa", image="example.com/v3"), force=True)
    assert forced.spec["template"]["spec"]["containers"][0]["image"] == "example.com/v3"
    managers = {e.manager: e.fieldsV1 for e in forced.metadata.managedFields}
    assert "f:spec" not in managers.get("alice", {})
    assert "f:spec" in managers["bob"]
