"""The thread pool that sync handlers run in (``runtime.sync_workers`` threads at most).

A sync handler blocks its thread, so at most ``size`` run at once and the rest wait in
line. Threads start on first use in the serving process: a prepared runtime that has
not served yet holds none, which is what lets a zygote fork it safely.

A thread cannot be stopped from outside, and Python waits for the pool's threads when
it exits, so the pool counts the calls running: on shutdown, the server can tell
whether they ended within the grace period, and end the process without them if not.
"""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Any, TypeVar

T = TypeVar("T")


class Workers:
    """Runs blocking callables off the event loop, ``size`` at a time."""

    def __init__(self, size: int) -> None:
        self.size = size
        self._executor = ThreadPoolExecutor(max_workers=size, thread_name_prefix="unkai-sync")
        self._running = 0
        self._changed = threading.Condition()

    async def run(self, function: Callable[..., T], *args: Any) -> T:
        """``function(*args)`` in a worker thread, awaited without blocking the loop."""
        loop = asyncio.get_running_loop()
        return await loop.run_in_executor(self._executor, self._counted, function, args)

    def shutdown(self, timeout: float) -> int:
        """Drop queued calls, wait up to ``timeout`` s for the running ones; how many still run."""
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
