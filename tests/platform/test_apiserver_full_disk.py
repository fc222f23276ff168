"""A full data disk (issue 13, item 4): writes get a ``507`` Kubernetes ``Status`` saying
why and change nothing, reads go on, and writes work again once there is room.

A real API server whose data dir is on a small tmpfs of the test's own, filled.
"""

from typing import Any

import httpx2
from tests.platform.conftest import run_api
from tests.platform.fulldisk import small_disk

SERVICES = "/apis/serving.knative.dev/v1/namespaces/default/services"


def service(name: str) -> dict[str, Any]:
    return {
        "apiVersion": "serving.knative.dev/v1",
        "kind": "Service",
        "metadata": {"name": name},
        "spec": {"template": {"spec": {"containers": [{"image": "example.com/hello"}]}}},
    }


def names(client: httpx2.Client) -> list[str]:
    listed = client.get(SERVICES)
    assert listed.status_code == 200
    return [item["metadata"]["name"] for item in listed.json()["items"]]


def test_writes_on_a_full_disk_get_507_and_reads_go_on() -> None:
    with small_disk("8m") as disk, run_api(disk.root / "data") as api, api.client() as client:
        assert client.post(SERVICES, json=service("before")).status_code == 201
        disk.fill()
        refused = client.post(SERVICES, json=service("during"))
        assert refused.status_code == 507
        status = refused.json()
        assert status["kind"] == "Status"
        assert status["reason"] == "InsufficientStorage"
        assert "data disk is full" in status["message"]
        assert "database or disk is full" in status["message"]
        assert names(client) == ["before"]  # read, and nothing half-written
        assert client.get(f"{SERVICES}/before").status_code == 200
        disk.free()
        assert client.post(SERVICES, json=service("after")).status_code == 201
        assert names(client) == ["after", "before"]
