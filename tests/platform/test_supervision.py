"""Supervised tasks: a failure is logged, reported and followed by a restart with backoff.

Time is injected: the fake sleep records each delay and returns at once, so these tests
wait for nothing.
"""

import asyncio
from collections.abc import Awaitable, Callable

import pytest

from unkai.platform.backoff import restart_delay
from unkai.platform.supervision import FIRST_DELAY, HEALTHY_RUN, MAX_DELAY, supervise


class Script:
    """A task body that fails the first ``failures`` runs, then returns or waits forever;
    ``settled`` is set once ``settle_after`` runs have gone through."""

    def __init__(self, failures: int, *, then_wait: bool = True, settle_after: int = 1) -> None:
        self.failures = failures
        self.then_wait = then_wait
        self.settle_after = settle_after
        self.runs = 0
        self.settled = asyncio.Event()

    async def __call__(self) -> None:
        self.runs += 1
        if self.runs <= self.failures:
            raise OSError(f"run {self.runs} failed")
        if self.runs - self.failures >= self.settle_after:
            self.settled.set()
        if self.then_wait:
            await asyncio.Event().wait()


def recording_sleep(delays: list[float]) -> Callable[[float], Awaitable[None]]:
    async def sleep(seconds: float) -> None:
        delays.append(seconds)
        await asyncio.sleep(0)

    return sleep


def test_a_failing_task_is_restarted_with_growing_delays_and_each_failure_reported() -> None:
    async def main() -> tuple[Script, list[float], list[str]]:
        script, delays, reported = Script(failures=3), [], []
        task = supervise(
            "job", script, sleep=recording_sleep(delays),
            on_failure=lambda error, delay: reported.append(f"{error} ({delay:.0f} s)"),
        )  # fmt: skip
        await asyncio.wait_for(script.settled.wait(), 5)
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task
        return script, delays, reported

    script, delays, reported = asyncio.run(main())
    assert script.runs == 4
    assert delays == [1.0, 2.0, 4.0]
    assert reported == ["run 1 failed (1 s)", "run 2 failed (2 s)", "run 3 failed (4 s)"]


def test_a_long_healthy_run_resets_the_backoff() -> None:
    now = [0.0]

    async def main() -> list[float]:
        delays: list[float] = []
        runs = 0
        fifth = asyncio.Event()

        async def body() -> None:
            nonlocal runs
            runs += 1
            if runs == 3:
                now[0] += HEALTHY_RUN  # this run lasted a minute before it failed
            if runs <= 4:
                raise OSError("boom")
            fifth.set()
            await asyncio.Event().wait()

        task = supervise("job", body, sleep=recording_sleep(delays), clock=lambda: now[0])
        await asyncio.wait_for(fifth.wait(), 5)
        task.cancel()
        return delays

    assert asyncio.run(main()) == [1.0, 2.0, 1.0, 2.0]


def test_a_task_that_returns_ends_unless_it_is_meant_to_run_forever() -> None:
    async def main() -> tuple[int, int]:
        once = Script(failures=0, then_wait=False)
        await supervise("once", once, sleep=recording_sleep([]))
        again = Script(failures=0, then_wait=False, settle_after=3)
        task = supervise("again", again, forever=True, sleep=recording_sleep([]))
        await asyncio.wait_for(again.settled.wait(), 5)
        task.cancel()
        return once.runs, again.runs

    once, again = asyncio.run(main())
    assert once == 1
    assert again >= 3


def test_the_delay_is_capped() -> None:
    assert restart_delay(1, base=FIRST_DELAY, cap=MAX_DELAY) == 1.0
    assert restart_delay(100, base=FIRST_DELAY, cap=MAX_DELAY) == MAX_DELAY
