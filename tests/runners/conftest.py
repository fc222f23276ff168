"""Fixtures for the runner tests: bundles of ``tests/runners/functions/<case>`` in a real
store, and process runners (fork and spawn) with their logs in a temporary folder.

Every runner is closed at the end of its test, which stops whatever it started.
"""

from collections.abc import AsyncIterator, Callable
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest

from unkai.platform.bundles import BundleStore, pack
from unkai.platform.runners import InstanceSpec, LogFiles, ProcessRunner

FUNCTIONS = Path(__file__).parent / "functions"
MakeSpec = Callable[..., InstanceSpec]


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


@pytest.fixture
def logs(tmp_path: Path) -> LogFiles:
    return LogFiles(tmp_path / "logs")


@pytest.fixture
def make_spec(tmp_path: Path) -> MakeSpec:
    """``make_spec(case, **fields)``: a spec running the bundle of ``functions/<case>``."""
    store = BundleStore(tmp_path / "bundles")

    def make(case: str, **fields: Any) -> InstanceSpec:
        digest = store.put(pack(FUNCTIONS / case))
        spec = InstanceSpec(
            namespace="default",
            revision=f"{case}-00001",
            configuration=case,
            service=case,
            image=f"unkai.local/default/{case}@{digest}",
            bundle=store.path(digest),
            timeout_seconds=10,
        )
        return replace(spec, **fields)

    return make


@pytest.fixture
async def runner(logs: LogFiles, tmp_path: Path) -> AsyncIterator[ProcessRunner]:
    """Not isolated: these tests reach instances directly on their loopback ``PORT``
    (the sandbox's own tests are in ``test_sandbox.py``)."""
    process_runner = ProcessRunner(
        logs=logs, environments=tmp_path / "envs", ready_timeout=20, isolate=False
    )
    yield process_runner
    await process_runner.close()


@pytest.fixture
async def spawn_runner(logs: LogFiles, tmp_path: Path) -> AsyncIterator[ProcessRunner]:
    process_runner = ProcessRunner(
        logs=logs, mode="spawn", environments=tmp_path / "envs", ready_timeout=20, isolate=False
    )
    yield process_runner
    await process_runner.close()
