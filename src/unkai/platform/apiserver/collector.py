"""Background deletion: dependents of deleted owners, and the contents of namespaces
being deleted.

The collector is level-based, like Kubernetes' garbage collector: a sweep deletes every
object whose ``ownerReferences`` all name objects that no longer exist, and everything
in a terminating namespace (removing the namespace once it is empty). It sweeps at
start (finishing any cascade a crash interrupted) and after every deletion or
namespace change, so a cascade proceeds one level per sweep until nothing is left.
An object the collector cannot read, or fails to delete, is logged and skipped: it
never stops the sweep for everything else.
"""

from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass

from unkai.platform.apiserver import cascade, errors
from unkai.platform.apiserver.service import ResourceService
from unkai.platform.apiserver.types import Object
from unkai.platform.store import Key, StoreError
from unkai.platform.supervision import supervise

log = logging.getLogger("unkai.apiserver.collector")


class Collector:
    """Runs sweeps in a task between :meth:`start` and :meth:`stop`."""

    def __init__(self, service: ResourceService) -> None:
        self._service = service
        self._task: asyncio.Task[None] | None = None
        self._reported: set[str] = set()
        """The resourceVersions of unreadable objects already logged."""

    def start(self) -> None:
        self._task = supervise("garbage collector", self._run)

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
                    deleting = "deletionTimestamp" in event.object["metadata"]
                    if event.type == "DELETED" or event.key.resource == "namespaces" or deleting:
                        await self._sweep_logged()

    async def _sweep_logged(self) -> None:
        try:
            await self.sweep()
        except Exception:
            log.exception("garbage collection sweep failed; retrying on the next change")

    async def sweep(self) -> int:
        """Delete what is garbage now; returns how many deletions were made."""
        items, _ = await self._service.store.select(None)
        nodes = [node for item in items if (node := self._understand(item)) is not None]
        uids = {node.uid for node in nodes}
        terminating = {node.name for node in nodes if node.kind == "Namespace" and node.deleting}
        waiting = {  # owners deleted in the foreground: their dependents go first
            str(item["metadata"].get("uid")): item
            for item in items
            if "deletionTimestamp" in item["metadata"]
            and cascade.FOREGROUND_FINALIZER in (item["metadata"].get("finalizers") or [])
        }
        deleted = 0
        for node in nodes:
            orphaned = bool(node.owners) and not any(uid in uids for uid in node.owners)
            if orphaned or node.namespace in terminating or waiting.keys() & set(node.owners):
                deleted += await self._delete(node)
        owning = {uid for node in nodes for uid in node.owners}
        for uid in waiting.keys() - owning:
            deleted += await self._release(waiting[uid])
        populated = {node.namespace for node in nodes}
        for namespace in terminating - populated:
            await self._finish_namespace(namespace)
        return deleted

    def _understand(self, item: Object) -> _Node | None:
        """What the sweep needs of a stored object. What it cannot read (an object
        stored before metadata was validated, say) is logged once per version and
        leaves the object alone: unreadable owners keep it, an unreadable name skips it."""
        node, trouble = _read(item)
        version = str(item["metadata"].get("resourceVersion"))
        if trouble and version not in self._reported:
            self._reported.add(version)
            log.warning(
                "collector: %s at resourceVersion %s: %s", item.get("kind"), version, trouble
            )
        return node

    async def _delete(self, node: _Node) -> int:
        rt = self._service.registry.for_kind(node.api_version, node.kind)
        if rt is None or node.deleting:
            return 0
        try:
            await self._service.delete(rt, name=node.name, namespace=node.namespace)
        except errors.ApiError as error:
            log.debug("collector: %s %s: %s", rt.group_resource, node.name, error)
            return 0
        except Exception:
            log.exception("collector: deleting %s %s failed", rt.group_resource, node.name)
            return 0
        return 1

    async def _release(self, owner: Object) -> int:
        rt = self._service.registry.for_kind(str(owner.get("apiVersion")), str(owner.get("kind")))
        if rt is None:
            return 0
        try:
            await self._service.release(rt, owner)
        except errors.ApiError as error:  # changed meanwhile: the next sweep sees it
            log.debug("collector: releasing %s: %s", owner["metadata"].get("name"), error)
            return 0
        return 1

    async def _finish_namespace(self, name: str) -> None:
        store = self._service.store
        try:
            await store.delete(Key("namespaces", "", name))
        except StoreError as error:
            log.debug("collector: namespace %s: %s", name, error)


@dataclass(frozen=True)
class _Node:
    """A stored object as the collector sees it: who it is and whom it belongs to."""

    api_version: str
    kind: str
    name: str
    namespace: str | None
    uid: str
    owners: tuple[str, ...]
    deleting: bool


def _read(obj: Object) -> tuple[_Node | None, str]:
    """The node (None if the object cannot even be named), and what could not be read."""
    metadata = obj["metadata"]  # the store keeps no object without it
    api_version, kind = obj.get("apiVersion"), obj.get("kind")
    name, namespace = metadata.get("name"), metadata.get("namespace")
    if not (_strings(api_version, kind, name) and isinstance(namespace, str | None)):
        return None, "apiVersion, kind, name or namespace is not a string: not collected"
    references = metadata.get("ownerReferences") or []
    owners = [ref.get("uid") for ref in references if isinstance(ref, dict)]
    readable = isinstance(references, list) and len(owners) == len(references)
    readable = readable and _strings(*owners)
    node = _Node(
        str(api_version), str(kind), str(name), namespace, str(metadata.get("uid", "")),
        tuple(map(str, owners)) if readable else (), "deletionTimestamp" in metadata,
    )  # fmt: skip
    return node, "" if readable else "ownerReferences unreadable: not collected as owned"


def _strings(*values: object) -> bool:
    return all(isinstance(value, str) for value in values)
