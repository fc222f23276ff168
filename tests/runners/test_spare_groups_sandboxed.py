"""The group made ahead for a revision's next instance, with real cgroups: an instance
started in it is held to its revision's limits like the first, and nothing of it
outlives the revision (``test_spare_groups.py`` has the rules of taking one).

Needs root, bubblewrap and writable cgroups, as ``test_sandbox.py``; elsewhere it skips
and says which is missing.
"""

from pathlib import Path

import httpx2
import pytest
from tests.runners.conftest import MakeSpec, call

from unkai.platform.runners import ProcessRunner

pytestmark = [pytest.mark.anyio, pytest.mark.slow]


def groups(runner: ProcessRunner) -> set[Path]:
    assert runner.cgroups is not None
    roots = runner.cgroups.roots.values()
    return {path for root in roots for path in root.iterdir() if path.is_dir()}


async def test_the_next_instance_runs_in_a_group_made_ahead_and_under_the_same_limits(
    sandboxed: ProcessRunner, make_spec: MakeSpec
) -> None:
    spec = make_spec("spy", resources={"limits": {"memory": "96Mi"}})
    await (await sandboxed.start(spec)).stop()
    ahead = groups(sandboxed)
    assert ahead  # made when the instance ended, one per hierarchy

    second = await sandboxed.start(spec)
    assert groups(sandboxed) == ahead  # taken, not a new one
    assert (await call(second, "/hog", mb=16)) == {"held_mb": 16}
    with pytest.raises(httpx2.TransportError):
        await call(second, "/hog", mb=400)
    assert (await second.wait()).reason == "OOMKilled"

    await sandboxed.retire(spec.key)
    assert groups(sandboxed) == set()
