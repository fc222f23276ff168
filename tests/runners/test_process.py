"""The process runner, through real processes on loopback: serving a bundle from the
fork-server, the runtime contract's env, two instances from one zygote, draining and
killing on stop, load errors and crashes (exit code and last log lines), plain spawns,
and per-instance log files."""

import asyncio
import os
import signal
import socket
import stat
import time
from collections.abc import Callable
from pathlib import Path

import httpx2
import psutil
import pytest
from tests.runners.conftest import MakeSpec

from unkai.platform.runners import InstanceExit, InstanceStartError, LogFiles, ProcessRunner, read
from unkai.platform.runners.forkserver import Forked, ForkServer

pytestmark = pytest.mark.anyio


async def get(url: str, **options: object) -> httpx2.Response:
    async with httpx2.AsyncClient(timeout=30) as client:
        return await client.get(url, **options)  # type: ignore[arg-type]


async def in_flight(url: str, seconds: float, flag: Path) -> asyncio.Task[httpx2.Response]:
    """A ``/sleep`` request, once the function has it (it creates ``flag`` then)."""
    request = asyncio.ensure_future(
        get(f"{url}/sleep", params={"seconds": str(seconds), "started": str(flag)})
    )
    await until(flag.exists, "the request never reached the function")
    return request


async def until(condition: Callable[[], bool], failure: str) -> None:
    """Wait for ``condition``, polling; fail with ``failure`` after 10 s."""
    deadline = time.monotonic() + 10
    while not condition():
        assert time.monotonic() < deadline, failure
        await asyncio.sleep(0.01)


def running(pid: int) -> bool:
    """Whether ``pid`` still runs (an orphan's zombie does not: some containers' init
    never reaps it)."""
    try:
        return psutil.Process(pid).status() != psutil.STATUS_ZOMBIE
    except psutil.NoSuchProcess:
        return False


async def test_fork_server_serves_a_bundle(runner: ProcessRunner, make_spec: MakeSpec) -> None:
    instance = await runner.start(make_spec("echo"))

    response = await get(instance.url)
    assert (response.status_code, response.text) == (200, "hello")
    assert instance.exit is None
    assert (await instance.stop()).code == 0


async def test_a_forked_instance_also_serves_on_a_private_unix_socket(
    runner: ProcessRunner, make_spec: MakeSpec
) -> None:
    instance = await runner.start(make_spec("echo"))
    path = instance.socket_path
    assert path is not None
    assert stat.S_IMODE(path.parent.stat().st_mode) == 0o700  # only our user gets in
    transport = httpx2.AsyncHTTPTransport(uds=str(path))
    async with httpx2.AsyncClient(transport=transport) as client:
        response = await client.get("http://instance/")
    assert (response.status_code, response.text) == (200, "hello")

    await instance.stop()
    assert not path.exists()
    await runner.close()
    assert not path.parent.exists()


async def test_env_reaches_the_function(runner: ProcessRunner, make_spec: MakeSpec) -> None:
    spec = make_spec("echo", service="greeter", env={"GREETING": "hi", "PORT": "1"})
    instance = await runner.start(spec)

    env = (await get(f"{instance.url}/env")).json()
    assert env["PORT"] == str(instance.port)
    assert (env["K_SERVICE"], env["K_CONFIGURATION"], env["K_REVISION"]) == (
        "greeter",
        "echo",
        "echo-00001",
    )
    assert (env["GREETING"], env["FROM_YAML"]) == ("hi", "yes")


async def test_two_instances_fork_from_one_zygote(
    runner: ProcessRunner, make_spec: MakeSpec, logs: LogFiles
) -> None:
    spec = make_spec("echo")
    first, second = await asyncio.gather(runner.start(spec), runner.start(spec))

    one, two = [(await get(f"{i.url}/env")).json() for i in (first, second)]
    assert first.port != second.port
    assert one["pid"] != two["pid"]
    assert one["ppid"] == two["ppid"] != os.getpid()  # both children of the zygote
    assert os.getpgid(one["pid"]) == one["pid"]  # each in a process group of its own
    files = logs.find(namespace="default", service="echo", revision="echo-00001")
    assert sorted(path.stem for path in files) == sorted([first.id, second.id, "zygote"])
    lines = list(read(files))
    assert any(line.instance == "zygote" and "function loaded" in line.text for line in lines)
    assert any(line.instance == first.id and "Started server" in line.text for line in lines)


@pytest.mark.slow
async def test_stop_drains_the_request_in_flight(
    runner: ProcessRunner, make_spec: MakeSpec, tmp_path: Path
) -> None:
    instance = await runner.start(make_spec("echo"))
    request = await in_flight(instance.url, 0.5, tmp_path / "started")

    ended = await instance.stop()
    response = await request
    assert (response.status_code, response.text) == (200, "slept")
    assert ended.code == 0
    assert instance.exit == ended


@pytest.mark.slow
async def test_stop_kills_after_the_grace_period(
    runner: ProcessRunner, make_spec: MakeSpec, tmp_path: Path
) -> None:
    instance = await runner.start(make_spec("echo", timeout_seconds=1))
    request = await in_flight(instance.url, 30, tmp_path / "started")

    started = time.monotonic()
    ended = await instance.stop()
    assert 0.9 < time.monotonic() - started < 5
    assert (ended.code, ended.reason) == (-signal.SIGKILL, "ExitCode137")
    assert "killed by SIGKILL" in ended.message
    with pytest.raises(httpx2.TransportError):
        await request


@pytest.mark.slow
async def test_a_function_that_cannot_load_fails_clearly(
    runner: ProcessRunner, make_spec: MakeSpec
) -> None:
    with pytest.raises(InstanceStartError) as failure:
        await runner.start(make_spec("broken"))
    assert failure.value.reason == "ExitCode2"
    assert "RuntimeError('no database configured')" in failure.value.message
    assert "importing func failed (func.py, line 3)" in failure.value.message
    assert "sha256" not in failure.value.message  # the user's file, not the bundle's copy
    assert failure.value.exit == InstanceExit(2, failure.value.exit.log_tail)

    with pytest.raises(InstanceStartError) as again:  # the retry reports its own lines
        await runner.start(make_spec("broken"))
    assert again.value.message == failure.value.message


async def test_a_crash_leaves_its_exit_code_and_last_lines(
    runner: ProcessRunner, make_spec: MakeSpec
) -> None:
    instance = await runner.start(make_spec("echo"))
    with pytest.raises(httpx2.TransportError):
        await get(f"{instance.url}/crash")

    ended = await asyncio.wait_for(instance.wait(), 10)
    assert (ended.code, ended.reason) == (3, "ExitCode3")
    assert ended.log_tail[-1] == "about to crash: the disk is on fire"
    assert ended.message.startswith("Container failed with exit code 3; last log lines:")
    assert "the disk is on fire" in ended.message
    assert runner.instances.of() == []


async def test_the_next_instance_after_a_crash_comes_from_the_same_zygote(
    runner: ProcessRunner, make_spec: MakeSpec
) -> None:
    spec = make_spec("echo")
    crashed = await runner.start(spec)
    before = (await get(f"{crashed.url}/env")).json()["ppid"]
    with pytest.raises(httpx2.TransportError):
        await get(f"{crashed.url}/crash")
    await crashed.wait()

    replacement = await runner.start(spec)
    assert (await get(f"{replacement.url}/env")).json()["ppid"] == before


async def test_retire_stops_instances_and_the_zygote(
    runner: ProcessRunner, make_spec: MakeSpec
) -> None:
    spec = make_spec("echo")
    instance = await runner.start(spec)
    zygote = (await get(f"{instance.url}/env")).json()["ppid"]

    await runner.retire(spec.key)
    assert (await instance.wait()).code == 0
    assert not running(zygote)


async def test_spawn_mode_runs_a_fresh_process(
    spawn_runner: ProcessRunner, make_spec: MakeSpec, logs: LogFiles
) -> None:
    instance = await spawn_runner.start(make_spec("echo", env={"GREETING": "hi"}))

    env = (await get(f"{instance.url}/env")).json()
    assert (env["PORT"], env["GREETING"], env["K_REVISION"]) == (
        str(instance.port),
        "hi",
        "echo-00001",
    )
    assert env["ppid"] == os.getpid()
    assert (await instance.stop()).code == 0
    assert [path.stem for path in logs.find(namespace="default", service="echo")] == [instance.id]


async def test_spawn_mode_reports_a_load_error(
    spawn_runner: ProcessRunner, make_spec: MakeSpec
) -> None:
    with pytest.raises(InstanceStartError, match="no database configured") as failure:
        await spawn_runner.start(make_spec("broken"))
    assert failure.value.reason == "ExitCode2"


@pytest.mark.slow
async def test_when_the_zygote_dies_its_instances_go_too(
    runner: ProcessRunner, make_spec: MakeSpec
) -> None:
    spec = make_spec("echo")
    instance = await runner.start(spec)
    env = (await get(f"{instance.url}/env")).json()

    os.kill(env["ppid"], signal.SIGKILL)
    assert (await asyncio.wait_for(instance.wait(), 10)).code == -signal.SIGKILL
    await until(lambda: not running(env["pid"]), "the instance outlived its zygote")
    replacement = await runner.start(spec)  # a new zygote
    assert (await get(f"{replacement.url}/env")).json()["ppid"] != env["ppid"]


@pytest.mark.slow
async def test_a_closed_zygote_stops_its_instances_within_the_grace_period(
    make_spec: MakeSpec, logs: LogFiles, tmp_path: Path
) -> None:
    spec = make_spec("echo")
    env = {**os.environ, **spec.contract_env()}
    zygote = await ForkServer.start(spec.bundle, env=env, log_path=logs.zygote(spec), grace=1)

    async def fork(name: str) -> Forked:
        with logs.instance(spec, name).open("ab") as log, socket.socket(socket.AF_UNIX) as unix:
            unix.bind(str(tmp_path / f"{name}.sock"))
            unix.listen()
            return await zygote.fork(name, log=log.fileno(), listener=unix.fileno())

    calm = await fork("calm")
    stuck = await fork("stuck")
    base = f"http://127.0.0.1:{stuck.port}"
    request = await in_flight(base, 30, tmp_path / "started")

    started = time.monotonic()
    await zygote.close()  # as when the platform goes away
    assert time.monotonic() - started < 5
    assert (calm.returncode.result(), stuck.returncode.result()) == (0, -signal.SIGKILL)
    assert zygote.process.returncode == 0
    with pytest.raises(httpx2.TransportError):
        await request
