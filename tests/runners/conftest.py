"""Fixtures for the runner tests: bundles of ``tests/runners/functions/<case>`` in a real
store, and process runners (fork and spawn) with their logs in a temporary folder.

Every runner is closed at the end of its test, which stops whatever it started.
"""

import contextlib
from collections.abc import AsyncIterator, Callable
from dataclasses import replace
from pathlib import Path
from typing import Any

import httpx2
import pytest

from unkai.platform.bundles import BundleStore, pack
from unkai.platform.runners import Instance, InstanceSpec, LogFiles, ProcessRunner
from unkai.platform.runners.sandbox import Sandbox

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


@pytest.fixture(scope="module")
def sandbox() -> Sandbox:
    """This machine's sandbox (skips the test, naming the gaps, where it cannot sandbox)."""
    found = Sandbox.detect()
    if not found.enabled:
        pytest.skip("; ".join(found.gaps))
    return found


@pytest.fixture
async def runner(logs: LogFiles, tmp_path: Path) -> AsyncIterator[ProcessRunner]:
    """Not isolated: these tests reach instances directly on their loopback ``PORT``
    (the sandbox's own tests are in ``test_sandbox.py``)."""
    process_runner = ProcessRunner(
        logs=logs, environments=tmp_path / "envs", ready_timeout=20, isolate=False
    )
    yield process_runner
    await process_runner.close()


@contextlib.asynccontextmanager
async def sandboxed_runner(
    logs: LogFiles, environments: Path, *, ready_timeout: float = 20, **options: Any
) -> AsyncIterator[ProcessRunner]:
    """A sandboxed process runner (skips the test, naming the gaps, where this machine
    cannot sandbox), closed at the end."""
    runner = ProcessRunner(
        logs=logs, environments=environments, ready_timeout=ready_timeout, **options
    )
    try:
        if runner.gaps:
            pytest.skip("; ".join(runner.gaps))
        yield runner
    finally:
        await runner.close()


@pytest.fixture
async def sandboxed(logs: LogFiles, tmp_path: Path) -> AsyncIterator[ProcessRunner]:
    async with sandboxed_runner(logs, tmp_path / "envs") as runner:
        yield runner


async def call(instance: Instance, route: str, /, **params: Any) -> Any:
    """A GET through the instance's Unix socket (a sandboxed one's only way in), as JSON."""
    transport = httpx2.AsyncHTTPTransport(uds=str(instance.socket_path))
    async with httpx2.AsyncClient(transport=transport, timeout=30) as client:
        response = await client.get(f"http://instance{route}", params=params)
    assert response.status_code == 200, response.text
    return response.json()


@pytest.fixture
async def spawn_runner(logs: LogFiles, tmp_path: Path) -> AsyncIterator[ProcessRunner]:
    process_runner = ProcessRunner(
        logs=logs, mode="spawn", environments=tmp_path / "envs", ready_timeout=20, isolate=False
    )
    yield process_runner
    await process_runner.close()
