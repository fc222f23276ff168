"""The platform's long-lived tasks, restarted with backoff when they fail.

A background task of ``unkai up`` that ends with an exception used to end silently: a
revision's converge loop that hit an ``OSError`` stopped starting instances while the
revision still said ``Ready``, and a watch that broke left its controller deaf. Every
such task now runs under :func:`supervise`: a failure is logged with its traceback,
told to ``on_failure`` (so that the object concerned can say what is wrong in its
status), and the task is started again after a delay that doubles from one second to
thirty, and falls back to one second once a run lasted a minute. Cancelling the
supervised task stops it for good; a normal return ends it, unless the task is meant to
run ``forever`` (a watch whose stream ended is started again, to list and follow anew).
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Awaitable, Callable
from typing import Final

from unkai.platform.backoff import CrashLoop, restart_delay

log = logging.getLogger("unkai.platform")

FIRST_DELAY: Final = 1.0
MAX_DELAY: Final = 30.0
HEALTHY_RUN: Final = 60.0


def supervise(
    name: str,
    run: Callable[[], Awaitable[None]],
    *,
    on_failure: Callable[[BaseException, float], None] | None = None,
    forever: bool = False,
    clock: Callable[[], float] = time.monotonic,
    sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
) -> asyncio.Task[None]:
    """Run ``run()`` as a task named ``name``, again after each failure.

    ``on_failure(error, delay)`` is called after each failure, before the wait of
    ``delay`` seconds; it must not raise.
    """

    async def supervisor() -> None:
        failures = CrashLoop()
        while True:
            began = clock()
            try:
                await run()
            except Exception as error:
                failures = failures.after_exit(ran_for=clock() - began, healthy_after=HEALTHY_RUN)
                delay = restart_delay(failures.failures, base=FIRST_DELAY, cap=MAX_DELAY)
                log.exception("%s failed (restarting in %.0f s)", name, delay)
                if on_failure is not None:
                    on_failure(error, delay)
                await sleep(delay)
                continue
            if not forever:
                return
            # Ended on its own: start again at once after a long run, with backoff after
            # short ones, so that a stream that keeps closing cannot spin.
            ran_for = clock() - began
            failures = failures.after_exit(ran_for=ran_for, healthy_after=HEALTHY_RUN)
            delay = restart_delay(failures.failures, base=FIRST_DELAY, cap=MAX_DELAY)
            if ran_for >= HEALTHY_RUN:
                delay = 0.0
            log.info("%s ended; starting it again in %.0f s", name, delay)
            await sleep(delay)

    return asyncio.create_task(supervisor(), name=name)
