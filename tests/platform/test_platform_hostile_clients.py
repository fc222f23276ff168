"""Idle connections flooding the gateway port do not stop an authenticated API call or a
function call (issue 13, item 2: 20,000 of them took the process's file limit and
everything stopped answering).

A real ``unkai up --detach`` started under a file limit of 2,048 (so its gateway's cap
is (2,048 − 1,024) / 2 = 512), the echo function deployed as a bundle, then more idle
connections than the whole limit, each sending the start of a head and no more.
"""

import base64
import hashlib
import json
import os
import resource
import socket
import ssl
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import ExitStack
from pathlib import Path
from typing import Any

import httpx2
import pytest
import yaml

from unkai.platform import bundles
from unkai.platform.bundles import endpoint

ECHO = Path(__file__).parent.parent / "e2e" / "functions" / "echo"
FD_LIMIT = 2048
HOST = "hello.default.localhost"
SERVICES = "/apis/serving.knative.dev/v1/namespaces/default/services"


def limited() -> None:
    """In the child, before exec: the file limit the platform gets (soft and hard)."""
    resource.setrlimit(resource.RLIMIT_NOFILE, (FD_LIMIT, FD_LIMIT))


@pytest.fixture
def platform(tmp_path: Path) -> Iterator[tuple[httpx2.Client, int]]:
    """``unkai up --detach`` under the small file limit: an API client and the gateway port."""
    env = {**os.environ, "UNKAI_DATA_DIR": str(tmp_path / "data")}
    unkai = [sys.executable, "-m", "unkai.cli"]
    subprocess.run(
        [*unkai, "up", "--detach", "--api-port", "0", "--port", "0"],
        env=env, check=True, capture_output=True, timeout=120, preexec_fn=limited,
    )  # fmt: skip
    try:
        files = tmp_path / "data" / "platform"
        running = json.loads((files / "running.json").read_text())
        config = yaml.safe_load((files / "kubeconfig").read_text())
        cluster, user = config["clusters"][0]["cluster"], config["users"][0]["user"]
        ca = base64.b64decode(cluster["certificate-authority-data"]).decode()
        with httpx2.Client(
            base_url=cluster["server"],
            headers={"Authorization": f"Bearer {user['token']}"},
            verify=ssl.create_default_context(cadata=ca),
            timeout=10,
        ) as api:
            yield api, int(running["gateway_url"].rsplit(":", 1)[1])
    finally:
        subprocess.run([*unkai, "down"], env=env, check=False, capture_output=True, timeout=120)


def deploy_echo(api: httpx2.Client) -> None:
    data = bundles.pack(ECHO)
    digest = "sha256:" + hashlib.sha256(data).hexdigest()
    api.put(endpoint.path("default", digest), content=data).raise_for_status()
    image = bundles.format_reference(namespace="default", name="hello", digest=digest)
    service: dict[str, Any] = {
        "apiVersion": "serving.knative.dev/v1",
        "kind": "Service",
        "metadata": {"name": "hello"},
        "spec": {"template": {"spec": {"containers": [{"image": image}]}}},
    }
    api.post(SERVICES, json=service).raise_for_status()
    deadline = time.monotonic() + 60
    while not ready(api.get(f"{SERVICES}/hello").json()):
        assert time.monotonic() < deadline, "hello did not become ready"
        time.sleep(0.1)


def ready(service: dict[str, Any]) -> bool:
    conditions = service.get("status", {}).get("conditions", [])
    return any(c["type"] == "Ready" and c["status"] == "True" for c in conditions)


def metric(api: httpx2.Client, name: str) -> float:
    for line in api.get("/metrics").text.splitlines():
        if line.startswith(name + " "):
            return float(line.rsplit(" ", 1)[1])
    raise AssertionError(f"no {name} on /metrics")


@pytest.mark.slow
def test_idle_connections_on_the_gateway_do_not_stop_the_api_or_a_function(
    platform: tuple[httpx2.Client, int],
) -> None:
    api, port = platform
    deploy_echo(api)
    assert metric(api, "unkai_gateway_connections_limit") == 512
    with ExitStack() as stack:
        for _ in range(FD_LIMIT + 500):  # more than the platform's whole file limit
            attacker = socket.create_connection(("127.0.0.1", port), timeout=10)
            stack.callback(attacker.close)
            attacker.sendall(f"GET / HTTP/1.1\r\nHost: {HOST}\r\nX-Wait: ".encode())
        with httpx2.Client(base_url=f"http://127.0.0.1:{port}", timeout=10) as http:
            assert http.get("/", headers={"Host": HOST}).status_code == 200
        assert api.get(f"{SERVICES}/hello").status_code == 200
        assert api.get("/healthz").status_code == 200
        shed = metric(api, 'unkai_gateway_connections_refused_total{reason="shed_idle"}')
        assert shed >= FD_LIMIT + 500 - 512
        assert metric(api, "unkai_gateway_connections_open") <= 512
