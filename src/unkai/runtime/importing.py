"""Sync handlers on the thread that imported the function, one call at a time.

Module state made at import belongs to the importing thread more often than it looks: a
``sqlite3`` connection refuses every other thread, and libraries keep per-thread state
(igraph's random generator follows ``random.seed`` only where it was imported), so the
same handler on a worker thread fails, or answers 200 with different results. Plain
Python and Lambda call a handler on the thread that imported it, one event at a time;
so does the runtime by default (``runtime.syncWorkers`` opts into a thread pool).

The event loop then runs on another thread (``server``) and hands each call over through
a queue; the importing thread, blocked in :meth:`ImportingThread.serve`, runs the calls
in order and hands each result back with ``call_soon_threadsafe``: the same hops a
thread pool makes. Nothing runs before :meth:`~ImportingThread.serve`, so a prepared
runtime holds no thread and a zygote may fork it; the child's only thread is the one
that forked, which is the one that imported the function.

Per call, the serving thread only takes and releases one lock (``_busy``, held while a
call runs, which is what :meth:`~ImportingThread.shutdown` waits on): a condition
variable taken twice and notified for every call cost a plain ``def`` hello 8-16 µs of
CPU per request (docs/benchmarks.md, issue 12 item 6).
"""

from __future__ import annotations

import asyncio
import contextlib
import queue
import threading
from collections.abc import Callable
from concurrent.futures import Future
from dataclasses import dataclass
from typing import Any, Final, Generic, TypeVar

T = TypeVar("T")
_WAKE: Final = object()  # no call: look again at whether to stop


class ImportingThread:
    """The calls of a sync handler, run by whichever thread calls :meth:`serve`."""

    def __init__(self) -> None:
        self._calls: queue.SimpleQueue[_Call[Any] | object] = queue.SimpleQueue()
        self._stopped = False
        self._busy = threading.Lock()

    async def run(self, function: Callable[..., T], *args: Any) -> T:
        """``function(*args)`` on the serving thread, after the calls before it."""
        loop = asyncio.get_running_loop()
        future: asyncio.Future[T] = loop.create_future()
        self._calls.put(_Call(function, args, loop, future))
        return await future

    def serve(self, until: Future[Any] | None = None) -> None:
        """Run the calls handed over, here, one at a time, until :meth:`shutdown`.

        With ``until``, return as soon as it is done too: a caller waiting for a response
        from an event loop on another thread (``unkai.testing``) serves meanwhile.
        """
        if until is not None:
            until.add_done_callback(lambda _: self._calls.put(_WAKE))
        busy = self._busy
        while until is None or not until.done():
            call = self._calls.get()
            if not isinstance(call, _Call):
                if self._stopped:
                    return
                continue
            with busy:
                if self._stopped:  # a shutdown came between the get and the lock
                    return
                call()

    def shutdown(self, timeout: float) -> int:
        """Drop the calls in line; wait up to ``timeout`` s for the one running (0 or 1 left)."""
        self._stopped = True
        self._calls.put(_WAKE)
        if not self._busy.acquire(timeout=max(timeout, 0)):
            return 1
        self._busy.release()
        return 0


@dataclass(slots=True)  # not frozen: a frozen dataclass's __init__ is slower, per call
class _Call(Generic[T]):
    function: Callable[..., T]
    args: tuple[Any, ...]
    loop: asyncio.AbstractEventLoop
    future: asyncio.Future[T]

    def __call__(self) -> None:
        if self.future.cancelled():  # its request went away while it waited in line
            return
        try:
            result = self.function(*self.args)
        except BaseException as error:  # as a pool's worker does: the awaiting task raises
            self._settle(_fail, error)
        else:
            self._settle(_succeed, result)

    def _settle(self, settle: Callable[[asyncio.Future[Any], Any], None], value: Any) -> None:
        # After a shutdown the loop may be closed: nobody is waiting any more.
        with contextlib.suppress(RuntimeError):
            self.loop.call_soon_threadsafe(settle, self.future, value)


def _succeed(future: asyncio.Future[Any], result: Any) -> None:
    if not future.done():
        future.set_result(result)


def _fail(future: asyncio.Future[Any], error: BaseException) -> None:
    if not future.done():
        future.set_exception(error)
