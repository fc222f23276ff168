"""Background deletion: dependents of deleted owners, and the contents of namespaces
being deleted.

The collector is level-based, like Kubernetes' garbage collector: a sweep deletes every
object whose ``ownerReferences`` all name objects that no longer exist, and everything
in a terminating namespace (removing the namespace once it is empty). It sweeps at
start (finishing any cascade a crash interrupted) and after every deletion or
namespace change, so a cascade proceeds one level per sweep until nothing is left.
"""

from __future__ import annotations

import asyncio
import logging

from unkai.platform.apiserver import errors
from unkai.platform.apiserver.service import ResourceService
from unkai.platform.apiserver.types import Object
from unkai.platform.store import Key, StoreError

log = logging.getLogger("unkai.apiserver.collector")


class Collector:
    """Runs sweeps in a task between :meth:`start` and :meth:`stop`."""

    def __init__(self, service: ResourceService) -> None:
        self._service = service
        self._task: asyncio.Task[None] | None = None

    def start(self) -> None:
        self._task = asyncio.create_task(self._run(), name="unkai-apiserver-collector")

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            await asyncio.gather(self._task, return_exceptions=True)
            self._task = None

    async def _run(self) -> None:
        """Sweep, then sweep again after each relevant change; re-watch if the watch
        ends (a lagging subscriber is dropped) until the store closes."""
        store = self._service.store
        while not store.hub.closed:
            async with await store.watch(None, since=store.revision) as events:
                await self._sweep_logged()
                async for event in events:
                    if event.type == "DELETED" or event.key.resource == "namespaces":
                        await self._sweep_logged()

    async def _sweep_logged(self) -> None:
        try:
            await self.sweep()
        except Exception:
            log.exception("garbage collection sweep failed; retrying on the next change")

    async def sweep(self) -> int:
        """Delete what is garbage now; returns how many deletions were made."""
        items, _ = await self._service.store.select(None)
        uids = {item["metadata"].get("uid") for item in items}
        terminating = {
            item["metadata"]["name"]
            for item in items
            if item["kind"] == "Namespace" and "deletionTimestamp" in item["metadata"]
        }
        deleted = 0
        for item in items:
            metadata = item["metadata"]
            owners = metadata.get("ownerReferences") or []
            orphaned = bool(owners) and not any(ref.get("uid") in uids for ref in owners)
            if orphaned or metadata.get("namespace") in terminating:
                deleted += await self._delete(item)
        populated = {item["metadata"].get("namespace") for item in items}
        for namespace in terminating - populated:
            await self._finish_namespace(namespace)
        return deleted

    async def _delete(self, obj: Object) -> int:
        rt = self._service.registry.for_kind(obj["apiVersion"], obj["kind"])
        if rt is None or "deletionTimestamp" in obj["metadata"]:
            return 0
        metadata = obj["metadata"]
        try:
            await self._service.delete(
                rt, name=metadata["name"], namespace=metadata.get("namespace")
            )
        except errors.ApiError as error:
            log.debug("collector: %s %s: %s", rt.group_resource, metadata["name"], error)
            return 0
        return 1

    async def _finish_namespace(self, name: str) -> None:
        store = self._service.store
        try:
            await store.delete(Key("namespaces", "", name))
        except StoreError as error:
            log.debug("collector: namespace %s: %s", name, error)
