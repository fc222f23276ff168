"""The running instances as read-only Pods: kubectl get pods, describe and logs work on
unkai up as on a cluster, and the Pods follow the instances."""

import ssl
import time
from typing import Any

import httpx2

from tests.e2e.conftest import LivePlatform
from unkai.kube import kinds

HOST = "hello.default.localhost"
PODS = "/api/v1/namespaces/default/pods"


def ready(service: dict[str, Any]) -> bool:
    conditions = service.get("status", {}).get("conditions", [])
    return any(c["type"] == "Ready" and c["status"] == "True" for c in conditions)


def pods(live: LivePlatform, http: httpx2.Client) -> list[dict[str, Any]]:
    items: list[dict[str, Any]] = http.get(PODS).json()["items"]
    return items


def api(live: LivePlatform) -> httpx2.Client:
    platform = live.platform
    token = platform.files.token()
    certificate = platform.api.certificate
    assert certificate is not None
    return httpx2.Client(
        base_url=platform.api.url, headers={"Authorization": f"Bearer {token}"},
        verify=ssl.create_default_context(cafile=str(certificate.ca_file)), timeout=10,
    )  # fmt: skip


def eventually_pods(live: LivePlatform, http: httpx2.Client, count: int) -> list[dict[str, Any]]:
    deadline = time.monotonic() + 30
    while len(found := pods(live, http)) != count:
        assert time.monotonic() < deadline, f"{len(found)} pods, not {count}"
        time.sleep(0.1)
    return found


def test_a_ready_instance_shows_as_a_running_pod_with_its_log(live: LivePlatform) -> None:
    live.deploy("hello", target="pods")
    live.wait_for("hello", ready)
    with live.http() as gateway:
        assert gateway.get("/", headers={"Host": HOST}).status_code == 200
    with api(live) as http:
        [pod] = eventually_pods(live, http, 1)
        assert pod["metadata"]["labels"]["serving.knative.dev/revision"] == "hello-00001"
        assert pod["metadata"]["labels"]["serving.knative.dev/service"] == "hello"
        assert pod["metadata"]["ownerReferences"][0]["kind"] == "Revision"
        assert pod["status"]["phase"] == "Running"
        name = pod["metadata"]["name"]
        log = http.get(f"{PODS}/{name}/log")
        assert log.status_code == 200
        assert "function started" in log.text
        refused = http.delete(f"{PODS}/{name}")
        assert refused.status_code == 405  # the view is read-only
        selected = http.get(PODS, params={"labelSelector": "serving.knative.dev/service=hello"})
        assert [p["metadata"]["name"] for p in selected.json()["items"]] == [name]
        live.client().delete(kinds.resource(kinds.SERVICE), "hello", namespace="default")
        eventually_pods(live, http, 0)  # the Pods go with their revision
