"""The sandbox's seccomp filter (issue 13): a function cannot make a user namespace
(the step that gives back capabilities over much of the kernel) even though this
machine lets unprivileged users make them, while threads and forks go on working.

Needs root, bubblewrap, libseccomp and writable cgroups; elsewhere it skips and says
which is missing.
"""

import subprocess

import pytest
from tests.runners.conftest import MakeSpec, call

from unkai.platform.runners import ProcessRunner

pytestmark = [pytest.mark.anyio, pytest.mark.slow]


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

    tried = await call(instance, "/unshare")
    forked = await call(instance, "/forks", n=3)

    assert tried == {"unshare": "EPERM", "thread": "done"}
    assert forked == {"started": 3}
