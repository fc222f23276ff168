"""The machinery every controller loop shares: watch, queue, reconcile, write — level-based.

A loop lists and watches its kinds into an :class:`~.cache.ObjectCache`; every change
queues the keys of the objects whose desired state depends on it (``affected``); workers
take keys off the queue and run the reconciler of the key's kind. Because a reconcile
starts from what is stored, running one twice, after a crash, or after a missed event
is harmless, and a restart simply queues everything once. A reconcile that fails is
queued again after a growing delay (:mod:`.retry`), and every object is queued again
every :data:`~.retry.RESYNC_SECONDS`.

The serving loop (:mod:`.loop`) and the eventing loop (:mod:`.eventing_loop`) are both
a :class:`ReconcileLoop` with their own kinds, dependencies and reconcilers, as
Knative's controllers all stand on one ``controller.Impl`` work queue.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable, Iterable, Mapping
from datetime import UTC, datetime
from typing import Any

from unkai.api.objects import Object
from unkai.errors import UnkaiError
from unkai.platform.apiserver import errors
from unkai.platform.apiserver.service import ResourceService
from unkai.platform.controllers.cache import ObjectCache, where
from unkai.platform.controllers.retry import RESYNC_SECONDS, retry_delay
from unkai.platform.supervision import supervise

log = logging.getLogger("unkai.controllers")

MANAGER = "unkai-controller"
Key = tuple[str, str, str]  # (group resource, namespace, name)
Reconciler = Callable[[str, str], Awaitable[None]]


def utc_now() -> datetime:
    return datetime.now(UTC)


class ReconcileLoop:
    """Watches ``kinds`` and runs ``reconcilers`` (by kind) on the keys they affect.

    Subclasses say which keys a change affects (:meth:`_affected`) and may watch kinds
    they have no reconciler for (they only feed the cache and queue dependents).
    """

    def __init__(
        self,
        api: ResourceService,
        *,
        kinds: tuple[str, ...],
        clock: Callable[[], datetime] = utc_now,
        workers: int = 4,
        resync_seconds: float = RESYNC_SECONDS,
    ) -> None:
        self.api = api
        self.kinds = kinds
        self.clock = clock
        self.cache = ObjectCache()
        self._workers = workers
        self._resync_seconds = resync_seconds
        self._queue: asyncio.Queue[Key] = asyncio.Queue()
        self._queued: set[Key] = set()
        self._failures: dict[Key, int] = {}
        self._retries: dict[Key, asyncio.TimerHandle] = {}
        self._tasks: list[asyncio.Task[None]] = []
        self._reconcilers: Mapping[str, Reconciler] = {}

    async def start(self) -> None:
        """Fill the cache and queue every object once, then follow changes.

        Every task is supervised: a watch that fails or ends is listed and followed
        anew (level-based, so what it missed is reconciled then)."""
        for kind in self.kinds:
            version = await self._list(kind)
            self._tasks.append(
                supervise(f"watch {kind}", self._follower(kind, version), forever=True)
            )
        for number in range(self._workers):
            self._tasks.append(supervise(f"{type(self).__name__}-{number}", self._work))
        self._tasks.append(supervise("resync", self._resync))

    async def stop(self) -> None:
        for handle in self._retries.values():
            handle.cancel()
        self._retries.clear()
        for task in self._tasks:
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)
        self._tasks.clear()

    def _affected(self, kind: str, obj: dict[str, Any]) -> Iterable[Key]:
        """The objects whose desired state depends on ``obj``; by default itself."""
        yield (kind, *where(obj))

    def _enqueue(self, key: Key) -> None:
        if key not in self._queued:
            self._queued.add(key)
            self._queue.put_nowait(key)

    async def _list(self, kind: str) -> str:
        """Put every object of ``kind`` in the cache (dropping those gone), queue each,
        and return the resourceVersion to watch from."""
        listed = await self.api.list(self.api.registry.get(kind))
        present = {where(obj) for obj in listed["items"]}
        for namespace, name in set(self.cache.keys(kind)) - present:
            gone = self.cache.get(kind, namespace, name)
            if gone is not None:
                self.cache.drop(kind, gone)
                for key in self._affected(kind, gone):
                    self._enqueue(key)
        for obj in listed["items"]:
            self.cache.store(kind, obj)
            self._enqueue((kind, *where(obj)))
        return str(listed["metadata"]["resourceVersion"])

    def _follower(self, kind: str, version: str) -> Callable[[], Awaitable[None]]:
        """The watch of ``kind``: from ``version`` the first time, then from a new list."""
        first: list[str] = [version]

        async def follow() -> None:
            since = first.pop() if first else await self._list(kind)
            rt = self.api.registry.get(kind)
            async with await self.api.watch(rt, resource_version=since) as watch:
                async for event, obj in watch:
                    if event == "DELETED":
                        self.cache.drop(kind, obj)
                    else:
                        self.cache.store(kind, obj)
                    for key in self._affected(kind, obj):
                        self._enqueue(key)

        return follow

    async def _work(self) -> None:
        while True:
            key = await self._queue.get()
            self._queued.discard(key)
            reconciler = self._reconcilers.get(key[0])
            try:
                if reconciler is not None:
                    await reconciler(key[1], key[2])
            except errors.ApiError as error:
                if error.reason in ("Conflict", "AlreadyExists"):
                    self._enqueue(key)  # someone wrote first: read again and retry
                else:
                    self._retry_later(key, f"failed: {error}")
            except UnkaiError as error:  # said in words (a registry that refused…)
                self._retry_later(key, f"failed: {error}")
            except Exception as error:
                self._retry_later(key, f"crashed: {error!r}", traceback=True)
            else:
                self._failures.pop(key, None)
            finally:
                self._queue.task_done()

    def _retry_later(self, key: Key, what: str, *, traceback: bool = False) -> None:
        """Queue ``key`` again after its backoff; a newer event may queue it sooner."""
        failures = self._failures[key] = self._failures.get(key, 0) + 1
        delay = retry_delay(failures)
        log.warning(
            "reconcile %s %s (attempt %d; again in %.2f s)", key, what, failures, delay,
            exc_info=traceback,
        )  # fmt: skip
        if (previous := self._retries.pop(key, None)) is not None:
            previous.cancel()
        self._retries[key] = asyncio.get_running_loop().call_later(delay, self._retried, key)

    def _retried(self, key: Key) -> None:
        self._retries.pop(key, None)
        self._enqueue(key)

    async def _resync(self) -> None:
        """Queue every known object again, now and then: what no event announces (a
        data plane that healed without saying so) is picked up within the period."""
        while True:
            await asyncio.sleep(self._resync_seconds)
            for kind in self.kinds:
                for namespace, name in self.cache.keys(kind):
                    self._enqueue((kind, namespace, name))

    def _get(self, kind: str, namespace: str, name: str) -> Any:
        return self.cache.get(kind, namespace, name)

    async def _write(self, kind: str, desired: Object) -> None:
        """Create ``desired``, or replace the spec and metadata of what exists."""
        rt = self.api.registry.get(kind)
        metadata = desired["metadata"]
        current = self._get(kind, metadata["namespace"], metadata["name"])
        if current is None:
            await self.api.create(rt, desired, namespace=metadata["namespace"],
                                  field_manager=MANAGER)  # fmt: skip
            return
        body: dict[str, Any] = {**desired, "metadata": {**current["metadata"], **metadata}}
        body["metadata"]["resourceVersion"] = current["metadata"]["resourceVersion"]
        await self.api.update(rt, body, name=metadata["name"], namespace=metadata["namespace"],
                              field_manager=MANAGER)  # fmt: skip

    async def _write_status(self, kind: str, obj: Object, status: Mapping[str, Any]) -> None:
        if obj.get("status") == status:
            return
        metadata = obj["metadata"]
        body = {**obj, "status": status}
        await self.api.update(
            self.api.registry.get(kind), body, name=metadata["name"],
            namespace=metadata["namespace"], subresource="status", field_manager=MANAGER,
        )  # fmt: skip
