"""The in-process API that controllers use: the same semantics, no HTTP.

Aspects: create/get/patch through :class:`ResourceService` on the server's loop, an
``ObjectWatch`` seeing changes made over HTTP, errors raised as ``ApiError`` with
their ``Status``, and stopping the server ending open watch streams.
"""

import asyncio
import threading
import time
from pathlib import Path
from typing import Any

import pytest

from unkai.platform.apiserver import MERGE_PATCH, ApiError, standard_registry
from unkai.platform.apiserver.service import ResourceService
from unkai.platform.store import Key, Store
from unkai.platform.store.sqlite import Object

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


class _StatusLandsFirst(Store):
    """A store where a controller's write lands between a client's read and its delete,
    once: what a busy platform does to ``kubectl delete``."""

    raced = False

    async def delete(self, key: Key, *, expect: int | None = None) -> Object:
        if not self.raced:
            self.raced = True
            current = await self.get(key)
            assert current is not None
            await self.update(key, {**current, "status": {"observedGeneration": 1}})
        return await super().delete(key, expect=expect)


async def _delete_while_status_lands(path: Path, preconditions: dict[str, Any] | None) -> Any:
    store = await _StatusLandsFirst.open(path)
    try:
        service = ResourceService(store, standard_registry())
        namespaces = service.registry.get("namespaces")
        default = {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "default"}}
        await service.create(namespaces, default)
        rt = service.registry.get("services.serving.knative.dev")
        created = await service.create(rt, ksvc("racy"), namespace="default")
        pinned = None
        if preconditions is not None:
            pinned = {"resourceVersion": created["metadata"]["resourceVersion"]}
        await service.delete(rt, name="racy", namespace="default", preconditions=pinned)
        return store.raced
    finally:
        await store.close()


def test_a_delete_goes_through_when_a_status_write_lands_first(tmp_path: Path) -> None:
    assert asyncio.run(_delete_while_status_lands(tmp_path / "db", None)) is True


def test_a_delete_pinned_to_a_version_is_refused_when_the_object_moved_on(
    tmp_path: Path,
) -> None:
    with pytest.raises(ApiError) as refused:
        asyncio.run(_delete_while_status_lands(tmp_path / "db", {}))
    assert refused.value.status["reason"] == "Conflict"
