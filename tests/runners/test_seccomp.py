"""The sandbox's seccomp filter (issue 13): a function cannot make a user namespace
(the step that gives back capabilities over much of the kernel) even though this
machine lets unprivileged users make them, while threads and forks go on working.

Needs root, bubblewrap, libseccomp and writable cgroups; elsewhere it skips and says
which is missing.
"""

import subprocess
from collections.abc import AsyncIterator
from pathlib import Path

import httpx2
import pytest
from tests.runners.conftest import MakeSpec

from unkai.platform.runners import LogFiles, ProcessRunner

pytestmark = [pytest.mark.anyio, pytest.mark.slow]


@pytest.fixture
async def sandboxed(logs: LogFiles, tmp_path: Path) -> AsyncIterator[ProcessRunner]:
    runner = ProcessRunner(logs=logs, environments=tmp_path / "envs", ready_timeout=20)
    if runner.gaps:
        await runner.close()
        pytest.skip("; ".join(runner.gaps))
    yield runner
    await runner.close()


@pytest.fixture
def userns_allowed() -> None:
    """Skip where the machine refuses user namespaces to unprivileged users anyway."""
    unprivileged = subprocess.run(
        ["setpriv", "--reuid=nobody", "--regid=nogroup", "--clear-groups",
         "unshare", "--user", "true"],
        check=False, capture_output=True,
    )  # fmt: skip
    if unprivileged.returncode != 0:
        pytest.skip("this machine refuses user namespaces to unprivileged users anyway")


@pytest.mark.usefixtures("userns_allowed")
async def test_a_function_cannot_make_a_user_namespace_but_threads_and_forks_work(
    sandboxed: ProcessRunner, make_spec: MakeSpec
) -> None:
    instance = await sandboxed.start(make_spec("spy"))

    transport = httpx2.AsyncHTTPTransport(uds=str(instance.socket_path))
    async with httpx2.AsyncClient(transport=transport, timeout=30) as client:
        tried = (await client.get("http://instance/unshare")).json()
        forked = (await client.get("http://instance/forks", params={"n": 3})).json()

    assert tried == {"unshare": "EPERM", "thread": "done"}
    assert forked == {"started": 3}
