"""Probes of a running instance, on the process runner with a real function.

Aspects: a failing readiness probe turns ``serving`` off (and tells ``on_serving``
listeners) and a passing one turns it back on; a failing liveness probe stops the
instance, whose exit then carries reason ``LivenessProbeFailed`` and the probe's answer;
an ``exec`` probe runs with the instance's environment (its ``PORT``).
"""

import asyncio
import sys
from dataclasses import replace
from pathlib import Path

import httpx2
import pytest

from unkai.platform.bundles import BundleStore, pack
from unkai.platform.runners import InstanceSpec, ProcessRunner
from unkai.platform.runners.probing import Probe

pytestmark = [pytest.mark.anyio, pytest.mark.slow]
RUNTIME = Path(__file__).parents[1] / "conformance" / "functions" / "runtime"


def spec_for(tmp_path: Path, **fields: object) -> InstanceSpec:
    store = BundleStore(tmp_path / "bundles")
    digest = store.put(pack(RUNTIME))
    spec = InstanceSpec(
        namespace="default", revision="probed-00001", configuration="probed",
        bundle=store.path(digest), timeout_seconds=5,
    )  # fmt: skip
    return replace(spec, **fields)  # type: ignore[arg-type]


async def test_readiness_takes_an_instance_out_and_back(
    runner: ProcessRunner, tmp_path: Path
) -> None:
    readiness = Probe("httpGet", path="/healthz", period=0.2, failure_threshold=2)
    instance = await runner.start(spec_for(tmp_path, readiness=readiness))
    changes: asyncio.Queue[bool] = asyncio.Queue()
    instance.on_serving(lambda: changes.put_nowait(instance.serving))
    assert instance.serving
    async with httpx2.AsyncClient(base_url=instance.url) as http, asyncio.timeout(15):
        await http.get("/start-failing")
        assert await changes.get() is False
        await http.get("/start-passing")
        assert await changes.get() is True
    assert instance.exit is None  # readiness never stops an instance


async def test_liveness_failure_stops_the_instance_with_the_reason(
    runner: ProcessRunner, tmp_path: Path
) -> None:
    liveness = Probe("httpGet", path="/livez", period=0.2, failure_threshold=2)
    instance = await runner.start(spec_for(tmp_path, liveness=liveness))
    async with httpx2.AsyncClient(base_url=instance.url) as http:
        await asyncio.sleep(1)  # five periods of passing probes do nothing
        assert instance.exit is None
        await http.get("/die")
    async with asyncio.timeout(15):
        ended = await instance.wait()
    assert ended.reason == "LivenessProbeFailed"
    assert ended.message.startswith(
        "Liveness probe failed: HTTP probe failed with statuscode: 500; the instance was restarted"
    )


async def test_exec_probe_runs_with_the_instance_environment(
    runner: ProcessRunner, tmp_path: Path
) -> None:
    check = "import os, sys; sys.exit(0 if os.environ['K_REVISION'] == 'probed-00001' else 1)"
    readiness = Probe("exec", command=(sys.executable, "-c", check), aggressive=True)
    instance = await runner.start(spec_for(tmp_path, readiness=readiness))
    assert instance.serving
