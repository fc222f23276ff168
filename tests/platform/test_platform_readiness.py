"""After a (re)start, the gateway accepts nothing before its routes are loaded (issue 13,
item 4): a client must never be told 404 for a route that exists.

A real platform (API over HTTPS, controllers, gateway on loopback) with the data plane
replaced by an in-memory readiness, restarted on the same data dir.
"""

import asyncio
import socket
import ssl
import time
from collections.abc import Callable
from pathlib import Path

import httpx2
import pytest
from tests.controllers.readiness import READY, InMemoryReadiness
from tests.support.embedded import embedded

from unkai.platform.embedded import Platform, Settings
from unkai.platform.gateway import Gateway

HOST = "hello.default.localhost"
SERVICE = {
    "apiVersion": "serving.knative.dev/v1",
    "kind": "Service",
    "metadata": {"name": "hello", "namespace": "default"},
    "spec": {"template": {"spec": {"containers": [{"image": "unkai.local/default/hello"}]}}},
}


def api(platform: Platform) -> httpx2.Client:
    """An authenticated HTTPS client for the platform's API, as kubectl would be."""
    assert platform.api.certificate is not None
    context = ssl.create_default_context(cafile=str(platform.api.certificate.ca_file))
    token = platform.files.token()
    return httpx2.Client(
        base_url=platform.api.url,
        headers={"Authorization": f"Bearer {token}"},
        verify=context,
        timeout=10,
    )


def wait_for(condition: Callable[[], bool], timeout: float = 20) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, "condition not met in time"
        time.sleep(0.02)


def route_ready(client: httpx2.Client) -> bool:
    response = client.get("/apis/serving.knative.dev/v1/namespaces/default/routes/hello")
    if response.status_code == 404:
        return False
    conditions = response.json().get("status", {}).get("conditions") or []
    return any(c["type"] == "Ready" and c["status"] == "True" for c in conditions)


@pytest.mark.slow
def test_after_a_restart_the_routes_are_loaded_before_the_platform_says_it_is_up(
    tmp_path: Path,
) -> None:
    settings = Settings(data_dir=tmp_path / "data", api_port=0, gateway_port=0)
    readiness = InMemoryReadiness()
    readiness.set("hello-00001", READY)
    with embedded(settings, readiness=readiness) as platform, api(platform) as client:
        created = client.post(
            "/apis/serving.knative.dev/v1/namespaces/default/services", json=SERVICE
        )
        assert created.status_code == 201, created.text
        wait_for(lambda: route_ready(client))

    async def restart() -> tuple[object, bool]:
        platform = Platform(settings, readiness=readiness)
        await platform.start()
        try:  # start() has returned: what the first connection would see
            return platform.gateway.programmed(HOST), platform.files.running() is not None
        finally:
            await platform.stop()

    programmed, recorded = asyncio.run(restart())
    assert programmed is not None
    assert recorded


def test_a_gateway_started_without_serving_refuses_connections_until_told() -> None:
    async def scenario() -> tuple[bool, bool]:
        gateway = Gateway()
        await gateway.start("127.0.0.1", 0, serve=False)
        before = await _connects(gateway.port)
        await gateway.serve()
        after = await _connects(gateway.port)
        await gateway.stop(grace=0.1)
        return before, after

    assert asyncio.run(scenario()) == (False, True)


async def _connects(port: int) -> bool:
    try:
        _, writer = await asyncio.open_connection("127.0.0.1", port, family=socket.AF_INET)
    except ConnectionRefusedError:
        return False
    writer.close()
    return True
