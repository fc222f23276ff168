"""The in-process API that controllers use: the same semantics, no HTTP.

Aspects: create/get/patch through :class:`ResourceService` on the server's loop, an
``ObjectWatch`` seeing changes made over HTTP, errors raised as ``ApiError`` with
their ``Status``, and stopping the server ending open watch streams.
"""

import threading
import time
from typing import Any

import pytest

from unkai.platform.apiserver import MERGE_PATCH, ApiError

from .conftest import RunningApi
from .test_apiserver_http import SERVICES, created, ksvc


def test_controllers_call_the_service_and_watch(api: RunningApi) -> None:
    service = api.server.service
    rt = service.registry.get("services.serving.knative.dev")

    async def scenario() -> list[tuple[str, Any]]:
        async with await service.watch(rt, namespace="default", resource_version="0") as watch:
            await service.create(rt, ksvc("inproc"), namespace="default")
            await service.patch(
                rt,
                {"status": {"url": "http://inproc.default.localhost"}},
                patch_type=MERGE_PATCH,
                name="inproc",
                namespace="default",
                subresource="status",
                field_manager="serving-controller",
            )
            return [await anext(watch) for _ in range(2)]

    events = api.call(scenario())
    assert [kind for kind, _ in events] == ["ADDED", "MODIFIED"]
    assert events[1][1]["status"]["url"] == "http://inproc.default.localhost"
    managers = {entry["manager"] for entry in events[1][1]["metadata"]["managedFields"]}
    assert "serving-controller" in managers
    with pytest.raises(ApiError) as missing:
        api.call(service.get(rt, name="absent", namespace="default"))
    assert missing.value.status["reason"] == "NotFound"


def test_stopping_the_server_ends_open_watches(api: RunningApi) -> None:
    started = time.monotonic()
    with api.client() as http:
        created(http, ksvc("w"))
        with http.stream("GET", SERVICES, params={"watch": "1"}) as response:
            lines = response.iter_lines()
            assert '"ADDED"' in next(lines)
            stopper = threading.Thread(target=api.call, args=(api.server.stop(),))
            stopper.start()
            assert list(lines) == [], "the stream ends without more events"
    stopper.join()
    assert time.monotonic() - started < 3
