"""Where sync handlers run: the :class:`Executor` shape, and the opt-in thread pool.

A sync handler blocks the thread it runs on, so it never runs on the event loop's
thread. By default it runs on the thread that imported the function, one call at a time
(``importing.ImportingThread``): module state made at import (a SQLite connection, a
library's per-thread random generator) is then used on the thread that made it, as in
plain Python and on Lambda. ``runtime.syncWorkers: N`` opts into :class:`Workers`, N
threads at once, for handlers whose module state is safe to share between threads.

A thread cannot be stopped from outside, so both count the calls running: on shutdown,
the server can tell whether they ended within the grace period, and end the process
without them if not.
"""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Any, Protocol, TypeVar

T = TypeVar("T")


class Executor(Protocol):
    """Runs a sync handler's calls off the event loop."""

    async def run(self, function: Callable[..., T], *args: Any) -> T:
        """``function(*args)`` on the executor's thread(s), awaited without blocking the loop."""
        ...

    def shutdown(self, timeout: float) -> int:
        """Drop queued calls, wait up to ``timeout`` s for the running ones; how many still run."""
        ...


class Workers:
    """``size`` threads (``runtime.syncWorkers``); threads start on first use.

    A prepared runtime that has not served yet holds none, which is what lets a zygote
    fork it safely.
    """

    def __init__(self, size: int) -> None:
        self.size = size
        self._executor = ThreadPoolExecutor(max_workers=size, thread_name_prefix="unkai-sync")
        self._running = 0
        self._changed = threading.Condition()

    async def run(self, function: Callable[..., T], *args: Any) -> T:
        loop = asyncio.get_running_loop()
        return await loop.run_in_executor(self._executor, self._counted, function, args)

    def shutdown(self, timeout: float) -> int:
        self._executor.shutdown(wait=False, cancel_futures=True)
        with self._changed:
            self._changed.wait_for(lambda: not self._running, timeout)
            return self._running

    def _counted(self, function: Callable[..., T], args: tuple[Any, ...]) -> T:
        with self._changed:
            self._running += 1
        try:
            return function(*args)
        finally:
            with self._changed:
                self._running -= 1
                self._changed.notify_all()
