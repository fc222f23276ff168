"""A revision whose requirements hang blocks no other revision, and retiring it stops
its install. The hang is real: pip waits on a package index that never answers."""

import asyncio
import shutil
import socket
from collections.abc import Iterator
from pathlib import Path

import pytest
from tests.runners.conftest import FUNCTIONS

from unkai.platform.bundles import BundleStore, pack
from unkai.platform.runners import InstanceSpec, LogFiles, ProcessRunner, RunnerError

pytestmark = pytest.mark.anyio


@pytest.fixture
def silent_index() -> Iterator[str]:
    with socket.socket() as listener:
        listener.bind(("127.0.0.1", 0))
        listener.listen(16)
        yield f"http://127.0.0.1:{listener.getsockname()[1]}/simple"


def spec_of(store: BundleStore, directory: Path, name: str) -> InstanceSpec:
    digest = store.put(pack(directory))
    return InstanceSpec(
        namespace="default", revision=f"{name}-00001", configuration=name,
        image=f"unkai.local/default/{name}@{digest}", bundle=store.path(digest),
    )  # fmt: skip


async def test_a_hanging_install_blocks_no_other_revision_and_stops_when_retired(
    tmp_path: Path, silent_index: str
) -> None:
    stuck = tmp_path / "stuck"
    shutil.copytree(FUNCTIONS / "echo", stuck)
    (stuck / "requirements.txt").write_text(f"--index-url {silent_index}\ngreeting==1.0\n")
    store = BundleStore(tmp_path / "bundles")
    runner = ProcessRunner(logs=LogFiles(tmp_path / "logs"), environments=tmp_path / "envs")
    try:
        stuck_spec = spec_of(store, stuck, "stuck")
        installing = asyncio.ensure_future(runner.start(stuck_spec))
        fine = await runner.start(spec_of(store, FUNCTIONS / "echo", "echo"))
        assert fine.exit is None
        await runner.retire(stuck_spec.key)  # pip alone would wait for over a minute
        with pytest.raises(RunnerError, match="cancelled"):
            await asyncio.wait_for(installing, 30)
    finally:
        await runner.close()
