"""A forked instance tells the platform when its function has started: no start probe.

Aspects: the runner hands out an instance only once its function's ``start`` is done;
one whose ``ready()`` says no as it starts is probed as before, and handed out when
the probe passes; one whose ``start`` fails is reported with the function's error,
never handed out. Real zygotes and forks on loopback (``conftest.runner``).
"""

import asyncio
import time
from collections.abc import Callable
from pathlib import Path

import httpx2
import pytest
from tests.runners.conftest import MakeSpec

from unkai.platform.runners import InstanceStartError, ProcessRunner

pytestmark = [pytest.mark.anyio, pytest.mark.slow]


async def until(condition: Callable[[], bool], failure: str) -> None:
    """Wait for ``condition``, polling; fail with ``failure`` after 20 s."""
    deadline = time.monotonic() + 20
    while not condition():
        assert time.monotonic() < deadline, failure
        await asyncio.sleep(0.01)


async def test_an_instance_is_handed_out_once_its_function_has_started(
    runner: ProcessRunner, make_spec: MakeSpec, tmp_path: Path
) -> None:
    starting, gate = tmp_path / "starting", tmp_path / "gate"
    spec = make_spec("gated", env={"STARTING": str(starting), "START_GATE": str(gate)})
    start = asyncio.ensure_future(runner.start(spec))
    await until(starting.exists, "the function's start() never began")
    assert not start.done()  # forked and listening, but its function has not started
    gate.touch()
    instance = await start
    async with httpx2.AsyncClient(timeout=10) as client:
        assert (await client.get(instance.url)).text == "open"


async def test_an_instance_not_ready_as_it_starts_is_probed_until_ready(
    runner: ProcessRunner, make_spec: MakeSpec, tmp_path: Path
) -> None:
    gate, calls = tmp_path / "gate", tmp_path / "calls"
    spec = make_spec("gated", env={"READY_GATE": str(gate), "READY_CALLS": str(calls)})
    start = asyncio.ensure_future(runner.start(spec))
    # Asked once as it starts (no), then by the platform's readiness probe (no again).
    await until(lambda: calls.exists() and len(calls.read_text().split()) >= 2, "not probed")
    assert not start.done()
    gate.touch()
    instance = await start
    assert instance.serving


async def test_an_instance_whose_start_fails_is_reported_not_handed_out(
    runner: ProcessRunner, make_spec: MakeSpec
) -> None:
    with pytest.raises(InstanceStartError) as failed:
        await runner.start(make_spec("gated", env={"FAIL_START": "1"}))
    assert "cannot start: FAIL_START is set" in failed.value.message
