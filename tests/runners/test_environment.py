"""Instances do not inherit the platform's environment (issue 13): a function sees the
runtime contract's variables, its container's ``env``, its ``func.yaml`` env and a sane
base (``PATH``, ``HOME``, ``LANG``), and nothing else of whoever started the platform:
not ``UNKAI_DATA_DIR``, not tokens, not the operator's ``HOME``. Fork and spawn mode
alike, since each builds the environment on its own path."""

import os

import httpx2
import pytest
from tests.runners.conftest import MakeSpec

from unkai.platform.runners import ProcessRunner
from unkai.platform.runners.spec import BASE_ENVIRONMENT

pytestmark = pytest.mark.anyio


@pytest.fixture(params=["runner", "spawn_runner"])
def any_runner(request: pytest.FixtureRequest) -> ProcessRunner:
    runner: ProcessRunner = request.getfixturevalue(request.param)
    return runner


async def test_a_function_sees_the_contract_and_its_env_only(
    any_runner: ProcessRunner, make_spec: MakeSpec
) -> None:
    # pytest names the running test in our environment: a variable of the platform's own
    assert "PYTEST_CURRENT_TEST" in os.environ
    spec = make_spec("spy", env={"GREETING": "hi", "HOME": "/srv/greeter"})
    instance = await any_runner.start(spec)

    async with httpx2.AsyncClient(timeout=30) as client:
        env = (await client.get(f"{instance.url}/env")).json()

    expected = {
        **BASE_ENVIRONMENT,
        "HOME": "/srv/greeter",  # the container's env wins over the base
        "GREETING": "hi",
        "PORT": str(instance.port),
        "K_SERVICE": "spy",
        "K_CONFIGURATION": "spy",
        "K_REVISION": "spy-00001",
        "PYTHONUNBUFFERED": "1",
    }
    env.pop("PYTHONPATH", None)  # the requirements' site, then the platform's own
    assert env == expected
