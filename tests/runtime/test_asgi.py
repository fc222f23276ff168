"""The ``asgi`` signature: Knative-func instances and plain ASGI apps.

Aspects: an instance from ``new()`` gets the environment as ``cfg`` in ``start``
(func.yaml's ``env`` included); ``ready()`` saying no turns readiness to 503 with its
message, and ``alive()`` saying no turns liveness to 503, both back when they say yes;
a probe hook that raises is a 503 with an error id, logged with its traceback;
a Starlette app is served unchanged with its lifespan state reaching requests; a
module-level ``handle(scope, receive, send)`` is detected as ASGI.
"""

import re

import httpx2
import pytest
from tests.support.servers import RunningFunction, Serve


@pytest.fixture(scope="module")
def instance(serve_shared: Serve) -> RunningFunction:
    return serve_shared("asgi_instance")


def test_start_gets_the_environment_as_cfg(instance: RunningFunction) -> None:
    reply = httpx2.get(instance.url + "/anything").json()
    assert reply["greeting"] == "hello from start"


def test_readiness_follows_ready(instance: RunningFunction) -> None:
    assert httpx2.get(instance.url + "/health/readiness").status_code == 200
    httpx2.post(instance.url + "/toggle-ready")
    unready = httpx2.get(instance.url + "/health/readiness")
    assert (unready.status_code, unready.text) == (503, "warming caches\n")
    assert httpx2.get(instance.url + "/health/liveness").status_code == 200
    httpx2.post(instance.url + "/toggle-ready")
    assert httpx2.get(instance.url + "/health/readiness").status_code == 200


def test_liveness_follows_alive(instance: RunningFunction) -> None:
    assert httpx2.get(instance.url + "/health/liveness").status_code == 200
    httpx2.post(instance.url + "/toggle-alive")
    assert httpx2.get(instance.url + "/health/liveness").status_code == 503
    httpx2.post(instance.url + "/toggle-alive")
    assert httpx2.get(instance.url + "/health/liveness").status_code == 200


@pytest.mark.parametrize(("path", "hook"), [("liveness", "alive"), ("readiness", "ready")])
def test_a_probe_hook_that_raises_is_503_with_an_error_id(
    instance: RunningFunction, path: str, hook: str
) -> None:
    httpx2.post(instance.url + "/toggle-probes-raise")
    try:
        response = httpx2.get(f"{instance.url}/health/{path}")
    finally:
        httpx2.post(instance.url + "/toggle-probes-raise")
    assert response.status_code == 503
    error_id = re.search(r"error id ([0-9a-f]{16})", response.text).group(1)  # type: ignore[union-attr]
    line = instance.wait_for_log(lambda line: line.get("error_id") == error_id)
    assert line["path"] == f"/health/{path}"
    assert f"RuntimeError: {hook}() is broken" in line["exception"]
    assert httpx2.get(f"{instance.url}/health/{path}").status_code == 200


def test_a_starlette_app_runs_unchanged_with_its_lifespan(serve: Serve) -> None:
    app = serve("asgi_app")
    assert httpx2.get(app.url + "/").text == "set by the app's lifespan"
    assert httpx2.get(app.url + "/missing").status_code == 404  # the app's own routing


def test_a_module_level_asgi_handle_is_served_as_asgi(serve: Serve) -> None:
    knative = serve("knative_handle")
    assert httpx2.get(knative.url + "/").text == "raw asgi"
