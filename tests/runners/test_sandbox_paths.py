"""A sandboxed instance starts wherever the platform keeps its files and whatever its
``PYTHONPATH`` says: a data dir made with ``tempfile.mkdtemp()`` under ``/tmp`` or
``/var/tmp`` (outside the platform's working directory), with a relative ``PYTHONPATH``
entry (``PYTHONPATH=. unkai up``, as the benchmarks are run), used to fail with
``bwrap: Can't mkdir parents … Read-only file system``."""

import os
import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest
from tests.runners.conftest import FUNCTIONS, call, sandboxed_runner

from unkai.platform.bundles import BundleStore, pack
from unkai.platform.runners import InstanceSpec, LogFiles
from unkai.platform.runners.spec import base_environment

ROOT = Path(__file__).parents[2]


def test_relative_python_path_entries_become_the_platforms_absolute_ones() -> None:
    relative = os.path.relpath(ROOT / "src")
    env = base_environment({"PYTHONPATH": os.pathsep.join([relative, "", "/opt/lib"])})
    assert env["PYTHONPATH"].split(os.pathsep) == [str(ROOT / "src"), "/opt/lib"]


@pytest.fixture(params=["/tmp", "/var/tmp"])
def data_dir(request: pytest.FixtureRequest) -> Iterator[Path]:
    if not Path(request.param).is_dir():
        pytest.skip(f"no {request.param} here")
    directory = Path(tempfile.mkdtemp(dir=request.param))
    yield directory
    shutil.rmtree(directory, ignore_errors=True)


@pytest.mark.slow
@pytest.mark.anyio
async def test_a_sandboxed_instance_starts_with_a_mkdtemp_data_dir(data_dir: Path) -> None:
    store = BundleStore(data_dir / "bundles")
    digest = store.put(pack(FUNCTIONS / "echo"))
    spec = InstanceSpec(
        namespace="default", revision="echo-00001", configuration="echo", service="echo",
        image=f"unkai.local/default/echo@{digest}", bundle=store.path(digest),
    )  # fmt: skip
    inherited = base_environment({"PYTHONPATH": "."})  # PYTHONPATH=. unkai up
    async with sandboxed_runner(
        LogFiles(data_dir / "logs"), data_dir / "envs", ready_timeout=30, inherited=inherited
    ) as runner:
        env = await call(await runner.start(spec), "/env")
    assert env["K_REVISION"] == "echo-00001"
