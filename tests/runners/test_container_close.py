"""Closing the container runner ends the image pulls still going: their podman clients
are killed, not left running after the platform stops (as they were when a revision's
image was being pulled at ``unkai up``'s stop)."""

import asyncio
import shutil
import socket
import subprocess

import psutil
import pytest

from unkai.platform.runners import ContainerRunner, InstanceSpec, LogFiles

pytestmark = [pytest.mark.anyio, pytest.mark.slow]


def clients() -> list[psutil.Process]:
    """This process's podman children pulling an image (a child of another test in this
    worker that has ended meanwhile, a zombie or gone, is none of them)."""
    found = []
    for child in psutil.Process().children(recursive=True):
        try:
            if "pull" in child.cmdline():
                found.append(child)
        except (psutil.ZombieProcess, psutil.NoSuchProcess, psutil.AccessDenied):
            continue
    return found


def alive(process: psutil.Process) -> bool:
    try:
        return process.is_running() and process.status() != psutil.STATUS_ZOMBIE
    except psutil.NoSuchProcess:
        return False


@pytest.fixture
def podman() -> None:
    found = shutil.which("podman")
    if found is None:
        pytest.skip("podman is not installed (apt-get install podman runc)")
    info = [found, "--runtime", "runc", "--cgroup-manager=cgroupfs", "info"]
    if subprocess.run(info, capture_output=True, timeout=60).returncode != 0:
        pytest.skip("podman is installed but `podman info` fails here")


@pytest.mark.usefixtures("podman")
async def test_close_kills_the_pulls_still_going(logs: LogFiles) -> None:
    with socket.socket() as silent:  # a "registry" that takes connections and never answers
        silent.bind(("127.0.0.1", 0))
        silent.listen(8)
        image = f"127.0.0.1:{silent.getsockname()[1]}/never/answers:1"
        runner = ContainerRunner(logs=logs, binaries=("podman",), ready_timeout=120)
        spec = InstanceSpec(namespace="default", revision="pull-00001", configuration="pull",
                            image=image)  # fmt: skip
        started = asyncio.ensure_future(runner.start(spec))
        deadline = asyncio.get_running_loop().time() + 60
        while not clients():
            assert asyncio.get_running_loop().time() < deadline, "podman pull never started"
            await asyncio.sleep(0.05)
        pulling = clients()
        await runner.close()
        assert not any(alive(process) for process in pulling)
        started.cancel()
        await asyncio.gather(started, return_exceptions=True)
