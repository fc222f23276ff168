"""Revisions' tags resolved to digests in the background, off the reconcile workers.

Resolving a tag asks a registry, which may be slow or never answer: waiting for it
inside a reconcile held that controller worker for up to ``config-deployment``'s
``digest-resolution-timeout`` (10 s) per revision, and a few such revisions starved
every other Service, Route and Revision of the loop. Knative's revision reconciler
resolves through a ``backgroundResolver`` (``pkg/reconciler/revision/background.go``)
and so does this one: the reconcile asks :meth:`DigestResolver.result`, which starts
a resolution the first time (one per revision and image, never two at once) and
answers ``None`` until it has finished; when it finishes, the revision is queued again
(``done``) and the next reconcile reads the digest, or the error the registry gave.

Resolutions run on a pool of :data:`WORKERS` threads of their own: the registry
client blocks, and a bounded pool means a flood of unresolvable tags holds a few
threads, not the loop's default executor that image unpacking and the data plane
share. A failed resolution is reported once, then tried again when asked, after the
revision's backoff, as the rate limiter of Knative's resolver queue delays it (there
1 s doubling to 1000 s; here the controllers' :func:`~.retry.retry_delay`, 50 ms
doubling to a minute, so a tag pushed after its revision was created runs within a
minute); a deleted revision's resolution is dropped (:meth:`DigestResolver.forget`).
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Final

from unkai.platform.controllers.retry import retry_delay

WORKERS: Final = 4
"""Resolutions at once. Knative's pool is 100 goroutines (``digestResolutionWorkers``),
which cost little; here each is a thread blocked on a registry. A HEAD of a manifest is
one small request, so four keep up with revisions created by hand or by CI on one
machine, while registries that hang hold at most four threads."""

Resolve = Callable[[str], str]
"""An image's tag to ``registry/repository@sha256:…`` (``""``: not resolved, the tag
runs), blocking; raises :class:`~unkai.errors.UnkaiError` saying why it cannot."""
RevisionName = tuple[str, str]  # (namespace, name)


@dataclass
class _Job:
    image: str
    task: asyncio.Task[str]


class DigestResolver:
    """Resolves tags in the background and tells ``done(namespace, name)`` when one of a
    revision's has a result to read."""

    def __init__(
        self, resolve: Resolve, *, done: Callable[[str, str], None], workers: int = WORKERS
    ) -> None:
        self._resolve = resolve
        self._done = done
        self._pool = ThreadPoolExecutor(workers, thread_name_prefix="digest")
        self._jobs: dict[RevisionName, _Job] = {}
        self._failures: dict[RevisionName, int] = {}

    def result(self, namespace: str, name: str, image: str) -> str | None:
        """The digest ``image`` resolved to for this revision (``""``: a tag left as it
        is), or ``None`` while it is being resolved (started now if it was not).

        Raises the error of a failed resolution, once: the next call starts another,
        after the revision's backoff."""
        key = (namespace, name)
        job = self._jobs.get(key)
        if job is not None and job.image != image:
            self.forget(namespace, name)
            job = None
        if job is None:
            delay = retry_delay(self._failures[key]) if key in self._failures else 0.0
            task = asyncio.create_task(self._run(image, delay), name=f"digest {namespace}/{name}")
            task.add_done_callback(lambda finished: self._finished(key, finished))
            self._jobs[key] = _Job(image, task)
            return None
        if not job.task.done():
            return None
        if job.task.exception() is not None:
            del self._jobs[key]
            self._failures[key] = self._failures.get(key, 0) + 1
        else:
            self._failures.pop(key, None)
        return job.task.result()

    def forget(self, namespace: str, name: str) -> None:
        """Drop what is known of the revision (deleted, or its digest written): a
        resolution in flight is cancelled (one a thread has begun ends unread)."""
        key = (namespace, name)
        self._failures.pop(key, None)
        if (job := self._jobs.pop(key, None)) is not None:
            job.task.cancel()

    async def close(self) -> None:
        """Cancel every resolution and let the pool's threads end."""
        jobs = list(self._jobs.values())
        self._jobs.clear()
        for job in jobs:
            job.task.cancel()
        await asyncio.gather(*(job.task for job in jobs), return_exceptions=True)
        self._pool.shutdown(wait=False, cancel_futures=True)

    async def _run(self, image: str, delay: float) -> str:
        if delay:
            await asyncio.sleep(delay)  # the backoff of a revision whose tag failed
        return await asyncio.get_running_loop().run_in_executor(self._pool, self._resolve, image)

    def _finished(self, key: RevisionName, task: asyncio.Task[str]) -> None:
        """Queue the revision, unless its job was dropped meanwhile."""
        if not task.cancelled():
            task.exception()  # retrieved: read by the next reconcile, or never (deleted)
        job = self._jobs.get(key)
        if job is not None and job.task is task:
            self._done(*key)
