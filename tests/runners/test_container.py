"""The container runner: a clear error where no container runtime works, and a real
container where podman (or docker) does."""

import asyncio
import shutil
import subprocess
from collections.abc import AsyncIterator
from pathlib import Path

import httpx2
import pytest

from unkai.platform.runners import ContainerRunner, InstanceSpec, LogFiles, RunnerError
from unkai.platform.runners.limits import DEFAULT_PIDS
from unkai.platform.runners.probing import Probe

pytestmark = pytest.mark.anyio


async def test_no_container_runtime_is_a_clear_error(logs: LogFiles) -> None:
    runner = ContainerRunner(logs=logs, binaries=("unkai-no-such-podman",))
    spec = InstanceSpec(
        namespace="default", revision="web-00001", configuration="web", image="nginx"
    )

    with pytest.raises(RunnerError) as failure:
        await runner.start(spec)
    assert failure.value.reason == "ContainerRuntimeUnavailable"
    assert "unkai-no-such-podman: not installed" in failure.value.message
    assert "apt-get install podman runc" in failure.value.message
    with pytest.raises(RunnerError, match="no container runtime works here"):
        await runner.prepare(spec)  # found out once, answered the same way after


@pytest.fixture(scope="module")
def busybox_image(tmp_path_factory: pytest.TempPathFactory) -> str:
    """A tiny image made here (no registry needed): static busybox serving ``/www`` on 8080.

    Skips where no container runtime works or no static busybox (Debian
    ``busybox-static``) is there to build it from."""
    podman = shutil.which("podman")
    busybox = shutil.which("busybox")
    if podman is None:
        pytest.skip("podman is not installed (apt-get install podman runc)")
    engine = [podman, "--runtime", "runc", "--cgroup-manager=cgroupfs"]
    if subprocess.run([*engine, "info"], capture_output=True, timeout=60).returncode != 0:
        pytest.skip("podman is installed but `podman info` fails here")
    if busybox is None or not _static(Path(busybox)):
        pytest.skip("no static busybox to build a test image from (apt-get install busybox-static)")
    root = tmp_path_factory.mktemp("busybox-root")
    (root / "bin").mkdir()
    (root / "www").mkdir()
    shutil.copy(busybox, root / "bin" / "busybox")
    (root / "www" / "index.html").write_text("hello from a container\n")
    archive = shutil.make_archive(str(root.parent / "rootfs"), "tar", root)
    image = "localhost/unkai-test/busybox-httpd:1"
    serve = "echo serving on $PORT; exec /bin/busybox httpd -f -p $PORT -h /www"
    command = f'["/bin/busybox", "sh", "-c", "{serve}"]'
    subprocess.run(
        [*engine, "import", "--change", f"CMD {command}", archive, image],
        check=True,
        capture_output=True,
        timeout=120,
    )
    return image


def _static(path: Path) -> bool:
    """Whether ``path`` is a statically linked executable (it has no ELF interpreter)."""
    data = path.read_bytes()
    return data[:4] == b"\x7fELF" and b"/ld-linux" not in data[:8192]


@pytest.fixture
async def container_runner(logs: LogFiles) -> AsyncIterator[ContainerRunner]:
    runner = ContainerRunner(logs=logs, binaries=("podman",), ready_timeout=60)
    yield runner
    await runner.close()


@pytest.mark.slow
async def test_podman_runs_an_image(container_runner: ContainerRunner, busybox_image: str) -> None:
    spec = InstanceSpec(
        namespace="default",
        revision="web-00001",
        configuration="web",
        image=busybox_image,
        readiness=Probe("httpGet", path="/index.html", aggressive=True),
        timeout_seconds=1,
    )
    instance = await container_runner.start(spec)

    async with httpx2.AsyncClient() as client:
        response = await client.get(f"{instance.url}/index.html")
    assert (response.status_code, response.text) == (200, "hello from a container\n")
    ended = await instance.stop()  # PID 1 of a container ignores SIGTERM: killed after 1 s
    assert (ended.code, ended.reason) == (137, "ExitCode137")
    assert "serving on 8080" in instance.log_path.read_text()


@pytest.mark.slow
async def test_an_image_that_cannot_be_pulled_is_container_missing(
    container_runner: ContainerRunner, busybox_image: str
) -> None:
    image = "127.0.0.1:9/unkai-test/nowhere:1"  # nothing listens on the discard port
    spec = InstanceSpec(
        namespace="default", revision="gone-00001", configuration="gone", image=image
    )

    with pytest.raises(RunnerError) as failure:
        await container_runner.start(spec)
    assert failure.value.reason == "ContainerMissing"
    assert failure.value.message.startswith(f'Unable to fetch image "{image}": ')
    assert container_runner.instances.of() == []


@pytest.mark.slow
async def test_a_containers_resources_limits_are_its_cgroups(
    container_runner: ContainerRunner, busybox_image: str
) -> None:
    spec = InstanceSpec(
        namespace="default", revision="web-00001", configuration="web", image=busybox_image,
        readiness=Probe("httpGet", path="/index.html", aggressive=True), timeout_seconds=1,
        resources={"limits": {"memory": "64Mi", "cpu": "500m"}},
    )  # fmt: skip
    instance = await container_runner.start(spec)
    engine = await container_runner.engine()

    async def read(*candidates: str) -> str:  # cgroup v2's file, or v1's
        script = " || ".join(f"cat {path} 2>/dev/null" for path in candidates)
        shown = await asyncio.create_subprocess_exec(
            *engine, "exec", f"unkai-default-{instance.id}", "/bin/busybox", "sh", "-c", script,
            stdout=asyncio.subprocess.PIPE,
        )  # fmt: skip
        out, _ = await shown.communicate()
        return out.decode().strip()

    memory = await read("/sys/fs/cgroup/memory.max", "/sys/fs/cgroup/memory/memory.limit_in_bytes")
    pids = await read("/sys/fs/cgroup/pids.max", "/sys/fs/cgroup/pids/pids.max")
    await instance.stop()
    assert memory == str(64 * 2**20)
    assert pids == str(DEFAULT_PIDS)
