"""Idle zygotes are let go of: after the idle time, least recently used first beyond a
count, all under memory pressure; a revision's next cold start brings its zygote back.

The choice is pure (``retirement.to_retire``); the runner's loop is run for real on
loopback zygotes, with an idle time of zero and a short interval.
"""

import asyncio
import time
from collections.abc import Callable
from pathlib import Path

import httpx2
import pytest
from tests.runners.conftest import MakeSpec

from unkai.platform.runners import LogFiles, ProcessRunner
from unkai.platform.runners.retirement import KeepPolicy, short_of_memory, to_retire

IDLE = {"a": 100.0, "b": 40.0, "c": 70.0}  # idle since, on the runner's clock


@pytest.mark.parametrize(
    ("policy", "pressure", "retired"),
    [
        pytest.param(KeepPolicy(idle_after=50, at_most=0), False, ["b"], id="idle 60 s of 50"),
        pytest.param(KeepPolicy(idle_after=600, at_most=1), False, ["b", "c"], id="keep 1: LRU"),
        pytest.param(KeepPolicy(idle_after=600, at_most=3), False, [], id="all kept"),
        pytest.param(KeepPolicy(idle_after=0, at_most=0), False, ["b", "c", "a"], id="none kept"),
        pytest.param(KeepPolicy(), True, ["b", "c", "a"], id="memory pressure: all"),
    ],
)
def test_which_idle_zygotes_go(policy: KeepPolicy, pressure: bool, retired: list[str]) -> None:
    assert to_retire(IDLE, now=100.0, policy=policy, pressure=pressure) == retired


def test_memory_is_short_under_a_tenth_available() -> None:
    meminfo = "MemTotal:       16000000 kB\nMemFree: 1 kB\nMemAvailable:    {} kB\n"
    assert short_of_memory(meminfo.format(1_500_000))
    assert not short_of_memory(meminfo.format(1_700_000))
    assert not short_of_memory("MemTotal: 16000000 kB\n")  # an old kernel: no verdict


async def until(condition: Callable[[], bool], failure: str) -> None:
    deadline = time.monotonic() + 20
    while not condition():
        assert time.monotonic() < deadline, failure
        await asyncio.sleep(0.02)


@pytest.mark.slow
@pytest.mark.anyio
async def test_an_idle_zygote_is_closed_and_comes_back_for_the_next_start(
    logs: LogFiles, make_spec: MakeSpec, tmp_path: Path
) -> None:
    runner = ProcessRunner(
        logs=logs, environments=tmp_path / "envs", isolate=False,
        keep=KeepPolicy(idle_after=0, at_most=0), retire_interval=0.05,
    )  # fmt: skip
    try:
        spec = make_spec("echo")
        first = await runner.start(spec)
        await asyncio.sleep(0.2)  # several looks by the loop: none may touch a busy zygote
        assert runner.zygotes == 1
        async with httpx2.AsyncClient(timeout=10) as client:
            assert (await client.get(first.url)).status_code == 200
            await first.stop()
            await until(lambda: runner.zygotes == 0, "the idle zygote was kept")
            second = await runner.start(spec)
            assert (await client.get(second.url)).status_code == 200
    finally:
        await runner.close()
