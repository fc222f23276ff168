"""The thread pool that sync handlers run in (``runtime.sync_workers`` threads at most).

A sync handler blocks its thread, so at most ``size`` run at once and the rest wait in
line. Threads start on first use in the serving process: a prepared runtime that has
not served yet holds none, which is what lets a zygote fork it safely.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Any, TypeVar

T = TypeVar("T")


class Workers:
    """Runs blocking callables off the event loop, ``size`` at a time."""

    def __init__(self, size: int) -> None:
        self.size = size
        self._executor = ThreadPoolExecutor(max_workers=size, thread_name_prefix="unkai-sync")

    async def run(self, function: Callable[..., T], *args: Any) -> T:
        """``function(*args)`` in a worker thread, awaited without blocking the loop."""
        return await asyncio.get_running_loop().run_in_executor(self._executor, function, *args)

    def shutdown(self) -> None:
        """Drop queued calls and let the threads end; running calls finish on their own."""
        self._executor.shutdown(wait=False, cancel_futures=True)
