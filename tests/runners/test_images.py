"""One image ref runs in both places: where no container runtime works, an image made by
``unkai build`` runs with the process runner from its unpacked code and dependency
layers (pulled from a real registry on loopback), and pip is never asked."""

import shutil
from collections.abc import AsyncIterator
from pathlib import Path

import httpx2
import pytest
from tests.build.registries import LocalRegistry, push_base_image
from tests.support.wheels import make_wheel

from unkai.build import image, push, references
from unkai.platform.runners import (
    ContainerRunner,
    InstanceSpec,
    LogFiles,
    ProcessRunner,
    RunnerError,
)
from unkai.platform.runners.images import ImageRunner

pytestmark = [pytest.mark.anyio, pytest.mark.slow]


class Quiet:
    def step(self, activity: str) -> None: ...

    def transfer(self, what: str, done: int, total: int) -> None: ...


@pytest.fixture
def pushed(registry: LocalRegistry, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> str:
    """An Unkai-built image of a function needing the wheel ``greeting``, pushed; the
    wheel is gone afterwards, so a pip install at run time would fail."""
    house = tmp_path / "wheels"
    house.mkdir()
    make_wheel(house, name="greeting", version="1.0", module_source="WORD = 'hello'\n")
    monkeypatch.setenv("PIP_NO_INDEX", "1")
    monkeypatch.setenv("PIP_FIND_LINKS", str(house))
    function = tmp_path / "hello"
    function.mkdir()
    (function / "func.yaml").write_text("name: hello\nrequirements: [greeting==1.0]\n")
    (function / "func.py").write_text(
        "from greeting import WORD\n\n\ndef handle(request):\n    return WORD\n"
    )
    base = push_base_image(registry, tmp_path / "base")
    built = image.build(function, image.Options(base, cache=tmp_path / "cache"), Quiet())
    target = references.parse(f"{registry.host}/fn/hello:1")
    with registry.client() as client:
        pinned, _ = push.push(built, target, client, Quiet())
    shutil.rmtree(house)
    shutil.rmtree(function)
    return pinned


@pytest.fixture
async def images(tmp_path: Path) -> AsyncIterator[tuple[ImageRunner, ProcessRunner]]:
    logs = LogFiles(tmp_path / "logs")
    processes = ProcessRunner(  # unsandboxed: the test calls the instance on its TCP port
        logs=logs, environments=tmp_path / "envs", ready_timeout=20, isolate=False
    )
    containers = ContainerRunner(logs=logs, binaries=("unkai-test-no-such-engine",))
    runner = ImageRunner(containers, processes, root=tmp_path / "images",
                         environments=tmp_path / "envs")  # fmt: skip
    yield runner, processes
    await runner.close()
    await processes.close()


def _spec(image_ref: str) -> InstanceSpec:
    return InstanceSpec(namespace="default", revision="hello-00001", configuration="hello",
                        service="hello", image=image_ref, timeout_seconds=10)  # fmt: skip


async def test_an_unkai_image_runs_as_a_process_without_a_container_runtime(
    pushed: str, images: tuple[ImageRunner, ProcessRunner]
) -> None:
    runner, _ = images
    instance = await runner.start(_spec(pushed))
    async with httpx2.AsyncClient(timeout=30) as client:
        response = await client.get(instance.url)
    assert response.status_code == 200
    assert response.text == "hello"


async def test_another_image_keeps_the_no_container_runtime_reason_and_says_why(
    registry: LocalRegistry, tmp_path: Path, images: tuple[ImageRunner, ProcessRunner]
) -> None:
    base = push_base_image(registry, tmp_path / "base")  # an image, but not Unkai's
    runner, _ = images
    with pytest.raises(RunnerError) as raised:
        await runner.start(_spec(base))
    assert raised.value.reason == "ContainerRuntimeUnavailable"
    assert raised.value.message.endswith(
        f"It cannot run as a process: {references.parse(base)} was not built by `unkai build`"
    )
