"""The API server over real HTTPS with a plain HTTP client (httpx2).

Aspects: authentication, discovery and OpenAPI documents, create (with
``generateName``), get, list with label and field selectors, update with optimistic
concurrency, generation rules, the status subresource, merge / JSON / strategic-merge
patches, validation hooks, errors as ``Status``, Tables, and metrics. Watch, deletion
and apply have files of their own.
"""

import threading
from datetime import UTC, datetime
from typing import Any

import httpx2

from unkai.api.yamlsource import Problem
from unkai.platform.apiserver import standard_registry

from .conftest import RunningApi, StartApi

SERVICES = "/apis/serving.knative.dev/v1/namespaces/default/services"
CONFIGMAPS = "/api/v1/namespaces/default/configmaps"


def ksvc(name: str, **metadata: Any) -> dict[str, Any]:
    return {
        "apiVersion": "serving.knative.dev/v1",
        "kind": "Service",
        "metadata": {"name": name, **metadata},
        "spec": {"template": {"spec": {"containers": [{"image": "example.com/hello"}]}}},
    }


def created(http: httpx2.Client, body: dict[str, Any], path: str = SERVICES) -> dict[str, Any]:
    response = http.post(path, json=body)
    assert response.status_code == 201, response.text
    result: dict[str, Any] = response.json()
    return result


def test_every_request_needs_the_token_but_health(api: RunningApi) -> None:
    with api.client(token=None) as anonymous, api.client(token="wrong") as wrong:
        for client in (anonymous, wrong):
            response = client.get(SERVICES)
            assert response.status_code == 401
            assert response.json() == {
                "kind": "Status", "apiVersion": "v1", "metadata": {}, "status": "Failure",
                "message": "Unauthorized", "reason": "Unauthorized", "code": 401,
            }  # fmt: skip
            assert client.get("/metrics").status_code == 401
        assert anonymous.get("/healthz").status_code == 200


def test_discovery_names_groups_kinds_and_short_names(http: httpx2.Client) -> None:
    assert http.get("/api").json()["versions"] == ["v1"]
    core = {r["name"]: r for r in http.get("/api/v1").json()["resources"]}
    assert core["namespaces"]["namespaced"] is False
    assert core["configmaps"]["namespaced"] is True
    groups = {g["name"] for g in http.get("/apis").json()["groups"]}
    assert groups == {"serving.knative.dev", "eventing.knative.dev", "sources.knative.dev"}
    serving = http.get("/apis/serving.knative.dev/v1").json()
    resources = {r["name"]: r for r in serving["resources"]}
    assert resources["services"]["shortNames"] == ["kservice", "ksvc"]
    assert resources["services"]["categories"] == ["all", "knative", "serving"]
    assert resources["services"]["kind"] == "Service"
    assert "watch" in resources["services"]["verbs"]
    assert resources["services/status"]["verbs"] == ["get", "patch", "update"]
    assert resources["configurations"]["shortNames"] == ["config", "cfg"]
    assert {"routes", "revisions"} <= set(resources)
    eventing = http.get("/apis/eventing.knative.dev/v1").json()
    assert {r["name"] for r in eventing["resources"]} >= {"brokers", "triggers"}
    assert http.get("/apis/nope.dev/v1").status_code == 404


def test_openapi_documents_tag_every_kind(http: httpx2.Client) -> None:
    v2 = http.get("/openapi/v2").json()
    service = v2["definitions"]["dev.knative.serving.v1.Service"]
    assert service["x-kubernetes-group-version-kind"] == [
        {"group": "serving.knative.dev", "version": "v1", "kind": "Service"}
    ]
    assert {"spec", "status"} <= set(service["properties"])  # Knative's CRD schema
    index = http.get("/openapi/v3").json()["paths"]
    document = http.get(index["apis/serving.knative.dev/v1"]["serverRelativeURL"]).json()
    assert "dev.knative.serving.v1.PingSource" not in document["components"]["schemas"]
    patch = document["paths"]["/apis/serving.knative.dev/v1/namespaces/{namespace}/services/{name}"]
    assert "application/strategic-merge-patch+json" not in patch["patch"]["requestBody"]["content"]


def test_openapi_v2_is_json_only_and_says_so_to_a_protobuf_client(http: httpx2.Client) -> None:
    """kubectl asks for /openapi/v2 as protobuf; JSON in reply made it fail to parse."""
    protobuf = "application/com.github.proto-openapi.spec.v2@v1.0+protobuf"
    refused = http.get("/openapi/v2", headers={"Accept": protobuf})
    assert refused.status_code == 406
    assert (refused.json()["kind"], refused.json()["reason"]) == ("Status", "NotAcceptable")
    assert http.get("/openapi/v2", headers={"Accept": f"{protobuf}, application/json"}).is_success
    assert http.get("/openapi/v2", headers={"Accept": "*/*"}).json()["swagger"] == "2.0"


def test_openapi_documents_list_every_path_with_its_parameters(http: httpx2.Client) -> None:
    """Clients generated from the documents find every operation the server serves."""
    v2 = http.get("/openapi/v2").json()["paths"]
    services = "/apis/serving.knative.dev/v1/namespaces/{namespace}/services"
    assert {m: op["x-kubernetes-action"] for m, op in v2[services].items()} == {
        "get": "list", "post": "post", "delete": "deletecollection",
    }  # fmt: skip
    item = v2[f"{services}/{{name}}"]
    assert set(item) == {"get", "put", "patch", "delete"}
    assert [(p["name"], p["in"]) for p in item["get"]["parameters"]] == [
        ("namespace", "path"), ("name", "path"),
    ]  # fmt: skip
    assert set(v2[f"{services}/{{name}}/status"]) == {"get", "put", "patch"}
    assert set(v2["/api/v1/namespaces/{name}"]) == {"get", "put", "patch", "delete"}
    index = http.get("/openapi/v3").json()["paths"]
    v3 = http.get(index["api/v1"]["serverRelativeURL"]).json()["paths"]
    configmap = v3["/api/v1/namespaces/{namespace}/configmaps/{name}"]["get"]
    assert {"name": "name", "in": "path", "required": True, "schema": {"type": "string"}} in (
        configmap["parameters"]
    )
    for path, operations in v3.items():  # every {parameter} in a path is declared
        for operation in operations.values():
            declared = {p["name"] for p in operation["parameters"] if p["in"] == "path"}
            assert declared == {n for n in ("namespace", "name") if f"{{{n}}}" in path}


def test_create_fills_metadata_from_the_injected_clock(start_api: StartApi) -> None:
    moment = datetime(2030, 1, 2, 3, 4, 5, tzinfo=UTC)
    api = start_api(clock=lambda: moment)
    with api.client() as http:
        obj = created(http, ksvc("hello", labels={"app": "hello"}))
        metadata = obj["metadata"]
        assert metadata["creationTimestamp"] == "2030-01-02T03:04:05Z"
        assert metadata["generation"] == 1
        assert metadata["uid"]
        assert int(metadata["resourceVersion"]) > 0
        assert http.get(f"{SERVICES}/hello").json() == obj


def test_generate_name_picks_distinct_names(http: httpx2.Client) -> None:
    body = ksvc("")
    body["metadata"] = {"generateName": "fn-"}
    names = {created(http, body)["metadata"]["name"] for _ in range(3)}
    assert len(names) == 3
    assert all(name.startswith("fn-") and len(name) == 8 for name in names)


def test_errors_are_kubernetes_status_objects(http: httpx2.Client) -> None:
    created(http, ksvc("twice"))
    again = http.post(SERVICES, json=ksvc("twice"))
    assert again.status_code == 409
    assert again.json()["reason"] == "AlreadyExists"
    assert again.json()["message"] == 'services.serving.knative.dev "twice" already exists'
    assert again.json()["details"] == {
        "name": "twice", "group": "serving.knative.dev", "kind": "services",
    }  # fmt: skip
    missing = http.get(f"{SERVICES}/absent").json()
    assert (missing["code"], missing["reason"]) == (404, "NotFound")
    assert missing["message"] == 'services.serving.knative.dev "absent" not found'
    elsewhere = http.post(SERVICES.replace("default", "nowhere"), json=ksvc("x"))
    assert elsewhere.status_code == 404
    assert elsewhere.json()["message"] == 'namespaces "nowhere" not found'
    garbage = http.post(
        SERVICES, content=b"{not json", headers={"content-type": "application/json"}
    )
    assert garbage.status_code == 400
    assert garbage.json()["reason"] == "BadRequest"
    assert "not valid JSON" in garbage.json()["message"]
    assert "line 1 column 2" in garbage.json()["message"]
    protobuf = http.post(
        SERVICES, content=b"x", headers={"content-type": "application/vnd.kubernetes.protobuf"}
    )
    assert protobuf.status_code == 415
    assert http.put(SERVICES, json=ksvc("x")).json()["reason"] == "MethodNotAllowed"
    bad_name = http.post(SERVICES, json=ksvc("Not_A_Name"))
    assert bad_name.status_code == 422
    assert bad_name.json()["details"]["causes"][0]["field"] == "metadata.name"


def test_validation_hooks_reject_with_field_causes(start_api: StartApi) -> None:
    def validate(obj: dict[str, Any], old: dict[str, Any] | None) -> list[Problem]:
        traffic = obj["spec"].get("traffic", [])
        return [
            Problem(
                ("spec", "traffic", i, "percent"), f"Invalid value: {t['percent']}: must be <= 100"
            )
            for i, t in enumerate(traffic)
            if t.get("percent", 0) > 100
        ]

    def default(obj: dict[str, Any]) -> dict[str, Any]:
        obj["spec"].setdefault("traffic", [{"latestRevision": True, "percent": 100}])
        return obj

    registry = standard_registry().with_admission(
        "services.serving.knative.dev", default=default, validate=validate
    )
    api = start_api(registry=registry)
    with api.client() as http:
        assert created(http, ksvc("ok"))["spec"]["traffic"][0]["percent"] == 100
        body = ksvc("bad")
        body["spec"]["traffic"] = [{"percent": 150, "latestRevision": True}]
        response = http.post(SERVICES, json=body)
        assert response.status_code == 422
        status = response.json()
        assert status["reason"] == "Invalid"
        assert status["message"] == (
            'Service.serving.knative.dev "bad" is invalid: '
            "spec.traffic[0].percent: Invalid value: 150: must be <= 100"
        )
        assert status["details"]["kind"] == "Service"
        assert status["details"]["causes"] == [{
            "reason": "FieldValueInvalid", "field": "spec.traffic[0].percent",
            "message": "Invalid value: 150: must be <= 100",
        }]  # fmt: skip


def test_list_filters_by_label_and_field_selectors(http: httpx2.Client) -> None:
    labels = {
        "a": {"app": "a", "tier": "web", "env": "x"},
        "b": {"app": "b", "tier": "db", "env": "y", "legacy": "1"},
        "c": {"app": "c", "tier": "web", "env": "z"},
    }
    for name, values in labels.items():
        created(http, ksvc(name, labels=values))

    def names(**params: str) -> list[str]:
        response = http.get(SERVICES, params=params)
        assert response.status_code == 200, response.text
        body = response.json()
        assert body["kind"] == "ServiceList"
        assert body["apiVersion"] == "serving.knative.dev/v1"
        assert int(body["metadata"]["resourceVersion"]) >= 3
        return [item["metadata"]["name"] for item in body["items"]]

    assert names() == ["a", "b", "c"]
    assert names(labelSelector="tier=web") == ["a", "c"]
    assert names(labelSelector="tier!=web") == ["b"]
    assert names(labelSelector="env in (x,y)") == ["a", "b"]
    assert names(labelSelector="env notin (x, y)") == ["c"]
    assert names(labelSelector="!legacy") == ["a", "c"]
    assert names(labelSelector="legacy") == ["b"]
    assert names(labelSelector="tier=web,env in (z),!legacy,app") == ["c"]
    assert names(fieldSelector="metadata.name=b") == ["b"]
    assert names(fieldSelector="metadata.namespace=default,metadata.name!=b") == ["a", "c"]
    everywhere = http.get("/apis/serving.knative.dev/v1/services").json()
    assert len(everywhere["items"]) == 3
    assert http.get(SERVICES, params={"fieldSelector": "spec.x=1"}).status_code == 400
    assert http.get(SERVICES, params={"labelSelector": "a in b"}).status_code == 400


def test_update_needs_the_current_resource_version(http: httpx2.Client) -> None:
    obj = created(http, ksvc("upd"))
    stale = dict(obj)
    obj["metadata"]["labels"] = {"changed": "yes"}
    updated = http.put(f"{SERVICES}/upd", json=obj)
    assert updated.status_code == 200, updated.text
    assert updated.json()["metadata"]["generation"] == 1, "labels are not spec"
    conflict = http.put(f"{SERVICES}/upd", json=stale)
    assert conflict.status_code == 409
    assert conflict.json()["reason"] == "Conflict"
    assert conflict.json()["message"] == (
        'Operation cannot be fulfilled on services.serving.knative.dev "upd": the object has '
        "been modified; please apply your changes to the latest version and try again"
    )
    current = updated.json()
    current["spec"]["template"]["spec"]["containers"][0]["image"] = "example.com/v2"
    bumped = http.put(f"{SERVICES}/upd", json=current).json()
    assert bumped["metadata"]["generation"] == 2
    unchanged = http.put(f"{SERVICES}/upd", json=bumped).json()
    assert unchanged["metadata"]["resourceVersion"] == bumped["metadata"]["resourceVersion"]
    del bumped["metadata"]["resourceVersion"]
    assert http.put(f"{SERVICES}/upd", json=bumped).status_code == 422


def test_two_concurrent_updates_exactly_one_wins(api: RunningApi, http: httpx2.Client) -> None:
    obj = created(http, ksvc("race"))
    codes: list[int] = []
    barrier = threading.Barrier(2)

    def update(image: str) -> None:
        body = {**obj, "spec": {"template": {"spec": {"containers": [{"image": image}]}}}}
        with api.client() as client:
            barrier.wait()
            codes.append(client.put(f"{SERVICES}/race", json=body).status_code)

    threads = [threading.Thread(target=update, args=(f"img{i}",)) for i in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(codes) == [200, 409]
    assert http.get(f"{SERVICES}/race").json()["metadata"]["generation"] == 2


def test_status_changes_only_through_the_status_subresource(http: httpx2.Client) -> None:
    obj = created(http, {**ksvc("st"), "status": {"url": "http://ignored"}})
    assert "status" not in obj
    obj["status"] = {"url": "http://main"}
    assert "status" not in http.put(f"{SERVICES}/st", json=obj).json()
    current = http.get(f"{SERVICES}/st").json()
    current["status"] = {"url": "http://st.default.localhost", "observedGeneration": 1}
    current["spec"]["template"]["spec"]["containers"][0]["image"] = "ignored/by-status"
    updated = http.put(f"{SERVICES}/st/status", json=current)
    assert updated.status_code == 200, updated.text
    assert updated.json()["status"]["url"] == "http://st.default.localhost"
    assert updated.json()["spec"] == obj["spec"]
    assert updated.json()["metadata"]["generation"] == 1
    patched = http.patch(
        f"{SERVICES}/st/status",
        json={"status": {"conditions": [{"type": "Ready", "status": "True"}]}},
        headers={"content-type": "application/merge-patch+json"},
    ).json()
    assert patched["status"]["url"] == "http://st.default.localhost"
    assert patched["status"]["conditions"] == [{"type": "Ready", "status": "True"}]
    assert http.get(f"{SERVICES}/st/status").json()["status"] == patched["status"]
    assert http.get(f"{CONFIGMAPS}/x/status").status_code == 404


def test_merge_json_and_strategic_patches(http: httpx2.Client) -> None:
    created(http, ksvc("p", labels={"keep": "1", "drop": "1"}))
    merge = {"content-type": "application/merge-patch+json"}
    merged = http.patch(
        f"{SERVICES}/p", json={"metadata": {"labels": {"drop": None, "new": "2"}}}, headers=merge
    ).json()
    assert merged["metadata"]["labels"] == {"keep": "1", "new": "2"}
    assert merged["metadata"]["generation"] == 1
    ops = [
        {"op": "test", "path": "/metadata/labels/keep", "value": "1"},
        {"op": "replace", "path": "/spec/template/spec/containers/0/image", "value": "img:2"},
        {"op": "add", "path": "/metadata/annotations", "value": {"a/b": "c"}},
    ]
    json_patch = {"content-type": "application/json-patch+json"}
    patched = http.patch(f"{SERVICES}/p", json=ops, headers=json_patch).json()
    assert patched["spec"]["template"]["spec"]["containers"][0]["image"] == "img:2"
    assert patched["metadata"]["annotations"] == {  # Knative's stay: admission keeps them
        "a/b": "c",
        "serving.knative.dev/creator": "unkai:admin",
        "serving.knative.dev/lastModifier": "unkai:admin",
    }
    assert patched["metadata"]["generation"] == 2
    failing = [{"op": "test", "path": "/metadata/labels/keep", "value": "2"}]
    response = http.patch(f"{SERVICES}/p", json=failing, headers=json_patch)
    assert response.status_code == 422
    assert "test failed" in response.json()["message"]
    strategic = {"content-type": "application/strategic-merge-patch+json"}
    refused = http.patch(f"{SERVICES}/p", json={"metadata": {}}, headers=strategic)
    assert refused.status_code == 415
    assert "application/merge-patch+json" in refused.json()["message"]
    created(http, {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "cm"},
                   "data": {"a": "1"}}, CONFIGMAPS)  # fmt: skip
    cm = http.patch(f"{CONFIGMAPS}/cm", json={"data": {"b": "2"}}, headers=strategic)
    assert cm.json()["data"] == {"a": "1", "b": "2"}
    pinned = {"metadata": {"resourceVersion": "1"}, "data": {"c": "3"}}
    assert http.patch(f"{CONFIGMAPS}/cm", json=pinned, headers=merge).status_code == 409


def test_tables_print_knative_columns(http: httpx2.Client) -> None:
    created(http, ksvc("t"))
    http.patch(
        f"{SERVICES}/t/status",
        json={"status": {"url": "http://t.default.localhost", "conditions": [
            {"type": "Ready", "status": "False", "reason": "RevisionMissing"}]}},
        headers={"content-type": "application/merge-patch+json"},
    )  # fmt: skip
    accept = {"accept": "application/json;as=Table;v=v1;g=meta.k8s.io,application/json"}
    table = http.get(SERVICES, headers=accept).json()
    assert table["kind"] == "Table"
    headers = [column["name"] for column in table["columnDefinitions"]]
    assert headers == ["Name", "URL", "LatestCreated", "LatestReady", "Ready", "Reason"]
    cells = table["rows"][0]["cells"]
    assert cells == ["t", "http://t.default.localhost", None, None, "False", "RevisionMissing"]
    assert table["rows"][0]["object"]["kind"] == "PartialObjectMetadata"
    namespaces = http.get("/api/v1/namespaces/default", headers=accept).json()
    assert [c["name"] for c in namespaces["columnDefinitions"]] == ["Name", "Status", "Age"]
    assert namespaces["rows"][0]["cells"][:2] == ["default", "Active"]
    assert http.get(SERVICES).json()["kind"] == "ServiceList"


def test_metrics_count_requests_by_verb_and_resource(http: httpx2.Client) -> None:
    created(http, ksvc("m"))
    http.get(f"{SERVICES}/m")
    text = http.get("/metrics").text
    assert (
        'unkai_apiserver_requests_total{code="201",resource="services.serving.knative.dev",'
        'verb="create"} 1.0' in text
    )
    assert 'verb="get"' in text
    assert "unkai_apiserver_request_duration_seconds_bucket" in text


def test_services_in_the_core_group_are_kubernetes_services_and_none_can_be_made(
    http: httpx2.Client,
) -> None:
    """``kubectl get services`` means core Services, as on a cluster, not Knative's."""
    created(http, ksvc("hello"))
    core = "/api/v1/namespaces/default/services"
    assert http.get(core).json()["items"] == []
    discovery = {r["name"]: r for r in http.get("/api/v1").json()["resources"]}
    assert discovery["services"]["kind"] == "Service"
    body = {"apiVersion": "v1", "kind": "Service", "metadata": {"name": "hello"}, "spec": {}}
    refused = http.post(core, json=body)
    assert refused.status_code == 422
    assert (
        "deploy a Knative Service (apiVersion: serving.knative.dev/v1)"
        in (refused.json()["message"])
    )
